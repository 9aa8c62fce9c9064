//! The token manager's metrics, kept in atomics per manager (no global recorder) and rendered in
//! the Prometheus text format, ready to be appended to whatever `/metrics` already serves.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

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

    pub(crate) fn render(&self, gauges: &Gauges<'_>) -> String {
        let client = format!("client_id=\"{}\"", escape_label(gauges.client_id));
        let mut out = String::with_capacity(4096);
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP genesys_token_manager_{name} {help}");
            let _ = writeln!(out, "# TYPE genesys_token_manager_{name} {kind}");
        };
        family(
            &mut out,
            "acquisitions_total",
            "counter",
            "Tokens obtained and accepted (first, refreshed, rotated).",
        );
        let _ = writeln!(
            out,
            "genesys_token_manager_acquisitions_total{{{client}}} {}",
            self.acquisitions.load(Ordering::Relaxed)
        );

        family(
            &mut out,
            "failures_total",
            "counter",
            "Failed token requests and refused tokens, by reason.",
        );
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (reason, count) in failures {
            let _ = writeln!(
                out,
                "genesys_token_manager_failures_total{{{client},reason=\"{reason}\"}} {count}"
            );
        }

        family(
            &mut out,
            "acquisition_duration_seconds",
            "histogram",
            "Time to obtain and validate an accepted token.",
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "genesys_token_manager_acquisition_duration_seconds_bucket{{{client},le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "genesys_token_manager_acquisition_duration_seconds_bucket{{{client},le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "genesys_token_manager_acquisition_duration_seconds_sum{{{client}}} {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "genesys_token_manager_acquisition_duration_seconds_count{{{client}}} {count}"
        );

        family(
            &mut out,
            "rotations_total",
            "counter",
            "Forced rotations (admin or a 401).",
        );
        let _ = writeln!(
            out,
            "genesys_token_manager_rotations_total{{{client}}} {}",
            self.rotations.load(Ordering::Relaxed)
        );

        family(
            &mut out,
            "token_expiry_seconds",
            "gauge",
            "Seconds until the current token expires (0 when there is none).",
        );
        let _ = writeln!(
            out,
            "genesys_token_manager_token_expiry_seconds{{{client}}} {:.3}",
            gauges.seconds_until_expiry
        );

        family(
            &mut out,
            "in_flight_guards",
            "gauge",
            "Requests holding a token through a guard.",
        );
        let _ = writeln!(
            out,
            "genesys_token_manager_in_flight_guards{{{client}}} {}",
            self.guards.load(Ordering::Relaxed)
        );

        family(
            &mut out,
            "draining_tokens",
            "gauge",
            "Rotated-out tokens still held by requests.",
        );
        let _ = writeln!(
            out,
            "genesys_token_manager_draining_tokens{{{client}}} {}",
            gauges.draining_tokens
        );

        family(
            &mut out,
            "error_rate",
            "gauge",
            "Share of recent token attempts that failed.",
        );
        let _ = writeln!(
            out,
            "genesys_token_manager_error_rate{{{client}}} {:.4}",
            gauges.error_rate
        );

        family(
            &mut out,
            "state",
            "gauge",
            "1 for the manager's current state.",
        );
        for state in gauges.all_states {
            let _ = writeln!(
                out,
                "genesys_token_manager_state{{{client},state=\"{state}\"}} {}",
                u8::from(*state == gauges.state)
            );
        }

        family(
            &mut out,
            "webhook_deliveries_total",
            "counter",
            "Webhook events by outcome (dropped: the queue was full).",
        );
        for (outcome, counter) in [
            ("delivered", &self.webhook_delivered),
            ("failed", &self.webhook_failed),
            ("dropped", &self.webhook_dropped),
        ] {
            let _ = writeln!(
                out,
                "genesys_token_manager_webhook_deliveries_total{{{client},outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        out
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.acquisitions.fetch_add(2, Ordering::Relaxed);
        metrics.observe_acquisition(Duration::from_millis(20));
        metrics.observe_acquisition(Duration::from_secs(3));
        metrics.count_failure("invalid_client");
        metrics.count_failure("invalid_client");
        metrics.guards.fetch_add(3, Ordering::Relaxed);
        let text = metrics.render(&Gauges {
            client_id: "portal\"service",
            state: "healthy",
            all_states: &["starting", "healthy"],
            seconds_until_expiry: 12.5,
            error_rate: 0.25,
            draining_tokens: 1,
        });
        let client = "client_id=\"portal\\\"service\"";
        for line in [
            format!("genesys_token_manager_acquisitions_total{{{client}}} 2"),
            format!("genesys_token_manager_failures_total{{{client},reason=\"invalid_client\"}} 2"),
            format!("genesys_token_manager_acquisition_duration_seconds_bucket{{{client},le=\"0.025\"}} 1"),
            format!("genesys_token_manager_acquisition_duration_seconds_bucket{{{client},le=\"5\"}} 2"),
            format!("genesys_token_manager_acquisition_duration_seconds_bucket{{{client},le=\"+Inf\"}} 2"),
            format!("genesys_token_manager_acquisition_duration_seconds_count{{{client}}} 2"),
            format!("genesys_token_manager_token_expiry_seconds{{{client}}} 12.500"),
            format!("genesys_token_manager_in_flight_guards{{{client}}} 3"),
            format!("genesys_token_manager_state{{{client},state=\"healthy\"}} 1"),
            format!("genesys_token_manager_state{{{client},state=\"starting\"}} 0"),
            "# TYPE genesys_token_manager_acquisition_duration_seconds histogram".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }
}
