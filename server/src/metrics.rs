//! `/metrics` through `prometheus-client` (OpenMetrics text): one registry per server, with
//! what operators look at first — HTTP requests by route, method and status with a latency
//! histogram, upstream calls to Genesys by endpoint and outcome (429s included) with theirs,
//! signed-in sessions, exports running, the process' own gauges, and the service token
//! manager's families. Every family is listed in the README.

use std::{
    sync::{atomic::Ordering, Arc, OnceLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use genesys::{escape_metric_label, CallObserver, CallOutcome, CallRecord};
use prometheus_client::{
    collector::Collector,
    encoding::{text::encode, DescriptorEncoder, EncodeMetric},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::Gauge,
        histogram::Histogram,
    },
    registry::Registry,
};

/// Latency buckets (seconds) of both histograms.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0,
];

type Labels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The server's metrics. Cheap to clone (the families are shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    service: Arc<OnceLock<genesys::MetricsCollector>>,
    http_requests: Family<Labels, Counter>,
    http_duration: Family<Labels, Histogram, fn() -> Histogram>,
    upstream_calls: Family<Labels, Counter>,
    upstream_duration: Family<Labels, Histogram, fn() -> Histogram>,
    upstream_rate_limited: Family<Labels, Counter>,
    up: Gauge,
    store_up: Gauge,
    sessions_active: Gauge,
    exports_running: Gauge,
    requests_in_flight: Gauge,
    render_tasks_in_flight: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A registry with every family; the token manager's join once it exists
    /// ([`Metrics::add_service`]).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            registry: Arc::default(),
            service: Arc::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            upstream_calls: Family::default(),
            upstream_duration: Family::new_with_constructor(latency_histogram),
            upstream_rate_limited: Family::default(),
            up: Gauge::default(),
            store_up: Gauge::default(),
            sessions_active: Gauge::default(),
            exports_running: Gauge::default(),
            requests_in_flight: Gauge::default(),
            render_tasks_in_flight: Gauge::default(),
        };
        registry.register(
            "portal_http_requests",
            "HTTP requests answered, by route (the matched route template), method and status",
            m.http_requests.clone(),
        );
        registry.register(
            "portal_http_request_duration_seconds",
            "Time to answer an HTTP request (to the response head), by route and method",
            m.http_duration.clone(),
        );
        registry.register(
            "portal_upstream_requests",
            "Attempts at Genesys Cloud (retries included), by method, endpoint, status and outcome",
            m.upstream_calls.clone(),
        );
        registry.register(
            "portal_upstream_request_duration_seconds",
            "Time of one attempt at Genesys Cloud, by method and endpoint",
            m.upstream_duration.clone(),
        );
        registry.register(
            "portal_upstream_rate_limited",
            "429 answers from Genesys Cloud, by endpoint",
            m.upstream_rate_limited.clone(),
        );
        registry.register("portal_up", "The portal process is up", m.up.clone());
        registry.register(
            "portal_session_store_up",
            "Whether the session store answers (checked at most every 5 s)",
            m.store_up.clone(),
        );
        registry.register(
            "portal_sessions_active",
            "Signed-in sessions (grants whose session may still be alive)",
            m.sessions_active.clone(),
        );
        registry.register(
            "portal_exports_running",
            "Directory exports running",
            m.exports_running.clone(),
        );
        registry.register_collector(Box::new(Panics));
        registry.register(
            "portal_requests_in_flight",
            "Requests being answered",
            m.requests_in_flight.clone(),
        );
        registry.register(
            "portal_render_tasks_in_flight",
            "Rendering tasks (resources, suspended views) running",
            m.render_tasks_in_flight.clone(),
        );
        registry.register_collector(Box::new(Service(m.service.clone())));
        m.up.set(1);
        Metrics {
            registry: Arc::new(registry),
            ..m
        }
    }

    /// The service token manager's families, from now on.
    pub fn add_service(&self, manager: &genesys::TokenManager) {
        let _ = self.service.set(manager.prometheus_collector());
    }

    /// One answered request.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let route = escape_metric_label(route);
        let method = escape_metric_label(method);
        self.http_requests
            .get_or_create(&vec![
                ("route", route.clone()),
                ("method", method.clone()),
                ("status", status.to_string()),
            ])
            .inc();
        self.http_duration
            .get_or_create(&vec![("route", route), ("method", method)])
            .observe(seconds);
    }

    /// The gauges read at scrape time, then the whole registry as OpenMetrics text.
    pub fn render(&self, now: Snapshot) -> String {
        self.store_up.set(i64::from(now.store_up));
        self.sessions_active.set(now.sessions_active);
        self.exports_running.set(now.exports_running);
        self.requests_in_flight
            .set(crate::scope::REQUESTS_IN_FLIGHT.load(Ordering::Relaxed));
        self.render_tasks_in_flight
            .set(crate::scope::TASKS_IN_FLIGHT.load(Ordering::Relaxed));
        let mut text = String::with_capacity(8192);
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// What the portal's Genesys client tells about each attempt.
    pub fn upstream_observer(&self) -> Arc<dyn CallObserver> {
        Arc::new(Upstream(self.clone()))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `portal_panics_total`, read from the panic hook's counter.
#[derive(Debug)]
struct Panics;

impl Collector for Panics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let counter = ConstCounter::new(crate::scope::PANICS.load(Ordering::Relaxed));
        let metric = encoder.encode_descriptor(
            "portal_panics",
            "Panics caught since start",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)
    }
}

/// The token manager's collector, once there is a manager.
#[derive(Debug)]
struct Service(Arc<OnceLock<genesys::MetricsCollector>>);

impl Collector for Service {
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        match self.0.get() {
            Some(collector) => collector.encode(encoder),
            None => Ok(()),
        }
    }
}

/// The values `/metrics` reads when it is asked.
pub struct Snapshot {
    pub store_up: bool,
    pub sessions_active: i64,
    pub exports_running: i64,
}

#[derive(Debug)]
struct Upstream(Metrics);

impl CallObserver for Upstream {
    fn observe(&self, call: &CallRecord<'_>) {
        let endpoint = escape_metric_label(call.endpoint);
        let method = escape_metric_label(call.method);
        let status = call
            .status
            .map_or_else(|| "none".to_owned(), |s| s.to_string());
        self.0
            .upstream_calls
            .get_or_create(&vec![
                ("method", method.clone()),
                ("endpoint", endpoint.clone()),
                ("status", status),
                ("outcome", call.outcome.as_str().to_owned()),
            ])
            .inc();
        self.0
            .upstream_duration
            .get_or_create(&vec![("method", method), ("endpoint", endpoint.clone())])
            .observe(call.elapsed.as_secs_f64());
        if call.outcome == CallOutcome::RateLimited {
            self.0
                .upstream_rate_limited
                .get_or_create(&vec![("endpoint", endpoint)])
                .inc();
        }
    }
}

/// The middleware that counts every request by its route template (`/users/{id}`), never the
/// raw path: ids and query strings would make a label per user. Unmatched paths (static files,
/// 404s) count as `(fallback)`.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(fallback)".to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    metrics.observe_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_with_their_labels() {
        let m = Metrics::new();
        m.observe_request("/users/{id}", "GET", 200, 0.004);
        m.observe_request("/users/{id}", "GET", 200, 0.2);
        let upstream = m.upstream_observer();
        upstream.observe(&CallRecord {
            method: "GET",
            endpoint: "/api/v2/users",
            status: Some(429),
            outcome: CallOutcome::RateLimited,
            elapsed: std::time::Duration::from_millis(30),
        });
        let text = m.render(Snapshot {
            store_up: true,
            sessions_active: 7,
            exports_running: 1,
        });
        for line in [
            "portal_http_requests_total{route=\"/users/{id}\",method=\"GET\",status=\"200\"} 2",
            "portal_http_request_duration_seconds_bucket{le=\"0.005\",route=\"/users/{id}\",method=\"GET\"} 1",
            "portal_http_request_duration_seconds_count{route=\"/users/{id}\",method=\"GET\"} 2",
            "portal_upstream_requests_total{method=\"GET\",endpoint=\"/api/v2/users\",status=\"429\",outcome=\"rate_limited\"} 1",
            "portal_upstream_rate_limited_total{endpoint=\"/api/v2/users\"} 1",
            "portal_sessions_active 7",
            "portal_exports_running 1",
            "portal_session_store_up 1",
            "portal_up 1",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(
            text.lines().any(|l| l.starts_with("portal_panics_total ")),
            "{text}"
        );
        assert!(text.contains("# TYPE portal_panics counter"), "{text}");
    }
}
