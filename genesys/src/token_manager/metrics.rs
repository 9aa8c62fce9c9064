//! The token manager's metrics, kept in atomics per manager (no global recorder) and encoded by
//! `prometheus-client` on each scrape, through the collector the manager hands out
//! ([`TokenManager::prometheus_collector`](super::TokenManager::prometheus_collector)).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// Upper bounds (seconds) of the acquisition latency histogram.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) acquisitions: AtomicU64,
    pub(crate) rotations: AtomicU64,
    pub(crate) failures: Mutex<BTreeMap<&'static str, u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    /// Guards alive, whatever token they pin.
    pub(crate) guards: AtomicUsize,
    pub(crate) webhook_delivered: AtomicU64,
    pub(crate) webhook_failed: AtomicU64,
    pub(crate) webhook_dropped: AtomicU64,
}

/// The values computed when rendering.
pub(crate) struct Gauges<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) state: &'a str,
    pub(crate) all_states: &'a [&'a str],
    pub(crate) seconds_until_expiry: f64,
    pub(crate) error_rate: f64,
    pub(crate) draining_tokens: usize,
}

impl Metrics {
    pub(crate) fn observe_acquisition(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub(crate) fn count_failure(&self, reason: &'static str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        *failures.entry(reason).or_default() += 1;
    }

    /// Encodes the manager's families (OpenMetrics text through `prometheus-client`).
    pub(crate) fn encode(
        &self,
        gauges: &Gauges<'_>,
        encoder: &mut DescriptorEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        // prometheus-client writes label values as given: escape them (OpenMetrics' rules).
        let client = ("client_id", escape_label(gauges.client_id));
        let only_client = [client.clone()];
        let counter = |encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64| {
            encoder
                .encode_descriptor(&format!("{PREFIX}{name}"), help, None, MetricType::Counter)?
                .encode_family(&only_client)?
                .encode_counter::<NoLabelSet, _, u64>(&value, None)
        };
        let gauge = |encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: f64| {
            encoder
                .encode_descriptor(&format!("{PREFIX}{name}"), help, None, MetricType::Gauge)?
                .encode_family(&only_client)?
                .encode_gauge(&value)
        };
        counter(
            encoder,
            "acquisitions",
            "Tokens obtained and accepted (first, refreshed, rotated).",
            self.acquisitions.load(Ordering::Relaxed),
        )?;
        {
            let failures = self
                .failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let mut family = encoder.encode_descriptor(
                "genesys_token_manager_failures",
                "Failed token requests and refused tokens, by reason.",
                None,
                MetricType::Counter,
            )?;
            for (reason, count) in failures {
                family
                    .encode_family(&[client.clone(), ("reason", reason.to_owned())])?
                    .encode_counter::<NoLabelSet, _, u64>(&count, None)?;
            }
        }
        {
            // Kept cumulative per bound; the encoder wants each bucket's own count.
            let count = self.latency_count.load(Ordering::Relaxed);
            let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
            let mut below = 0;
            for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
                let cumulative = bucket.load(Ordering::Relaxed);
                buckets.push((bound, cumulative.saturating_sub(below)));
                below = cumulative;
            }
            buckets.push((f64::MAX, count.saturating_sub(below)));
            encoder
                .encode_descriptor(
                    "genesys_token_manager_acquisition_duration_seconds",
                    "Time to obtain and validate an accepted token.",
                    None,
                    MetricType::Histogram,
                )?
                .encode_family(&only_client)?
                .encode_histogram::<NoLabelSet>(
                    self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
                    count,
                    &buckets,
                    None,
                )?;
        }
        counter(
            encoder,
            "rotations",
            "Forced rotations (admin or a 401).",
            self.rotations.load(Ordering::Relaxed),
        )?;
        gauge(
            encoder,
            "token_expiry_seconds",
            "Seconds until the current token expires (0 when there is none).",
            gauges.seconds_until_expiry,
        )?;
        gauge(
            encoder,
            "in_flight_guards",
            "Requests holding a token through a guard.",
            self.guards.load(Ordering::Relaxed) as f64,
        )?;
        gauge(
            encoder,
            "draining_tokens",
            "Rotated-out tokens still held by requests.",
            gauges.draining_tokens as f64,
        )?;
        gauge(
            encoder,
            "error_rate",
            "Share of recent token attempts that failed.",
            gauges.error_rate,
        )?;
        {
            let mut family = encoder.encode_descriptor(
                "genesys_token_manager_state",
                "1 for the manager's current state.",
                None,
                MetricType::Gauge,
            )?;
            for state in gauges.all_states {
                family
                    .encode_family(&[client.clone(), ("state", (*state).to_owned())])?
                    .encode_gauge(&i64::from(*state == gauges.state))?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "genesys_token_manager_webhook_deliveries",
            "Webhook events by outcome (dropped: the queue was full).",
            None,
            MetricType::Counter,
        )?;
        for (outcome, counter) in [
            ("delivered", &self.webhook_delivered),
            ("failed", &self.webhook_failed),
            ("dropped", &self.webhook_dropped),
        ] {
            family
                .encode_family(&[client.clone(), ("outcome", outcome.to_owned())])?
                .encode_counter::<NoLabelSet, _, u64>(&counter.load(Ordering::Relaxed), None)?;
        }
        Ok(())
    }
}

const PREFIX: &str = "genesys_token_manager_";

/// A label value as the text format must carry it: `\\`, `\"` and `\n` escaped.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(Metrics);

    impl prometheus_client::collector::Collector for Fixed {
        fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
            self.0.encode(
                &Gauges {
                    client_id: "portal\"service",
                    state: "healthy",
                    all_states: &["starting", "healthy"],
                    seconds_until_expiry: 12.5,
                    error_rate: 0.25,
                    draining_tokens: 1,
                },
                &mut encoder,
            )
        }
    }

    #[test]
    fn encodes_openmetrics_text() {
        let metrics = Metrics::default();
        metrics.acquisitions.fetch_add(2, Ordering::Relaxed);
        metrics.observe_acquisition(Duration::from_millis(20));
        metrics.observe_acquisition(Duration::from_secs(3));
        metrics.count_failure("invalid_client");
        metrics.count_failure("invalid_client");
        metrics.guards.fetch_add(3, Ordering::Relaxed);
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(Fixed(metrics)));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let client = "client_id=\"portal\\\"service\"";
        for line in [
            format!("genesys_token_manager_acquisitions_total{{{client}}} 2"),
            format!("genesys_token_manager_failures_total{{{client},reason=\"invalid_client\"}} 2"),
            format!("genesys_token_manager_acquisition_duration_seconds_bucket{{le=\"0.025\",{client}}} 1"),
            format!("genesys_token_manager_acquisition_duration_seconds_bucket{{le=\"5.0\",{client}}} 2"),
            format!("genesys_token_manager_acquisition_duration_seconds_bucket{{le=\"+Inf\",{client}}} 2"),
            format!("genesys_token_manager_acquisition_duration_seconds_count{{{client}}} 2"),
            format!("genesys_token_manager_acquisition_duration_seconds_sum{{{client}}} 3.02"),
            format!("genesys_token_manager_token_expiry_seconds{{{client}}} 12.5"),
            format!("genesys_token_manager_in_flight_guards{{{client}}} 3.0"),
            format!("genesys_token_manager_state{{{client},state=\"healthy\"}} 1"),
            format!("genesys_token_manager_state{{{client},state=\"starting\"}} 0"),
            "# TYPE genesys_token_manager_acquisition_duration_seconds histogram".to_owned(),
            "# EOF".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }
}
