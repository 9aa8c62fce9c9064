//! The manager seen from outside: its state, the snapshot the service page shows and the
//! Prometheus rendering, all computed from the shared state on demand.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::audit::AuditEvent;
use super::error::AcquireError;
use super::inner::{lock, unix_ms, unix_secs_of, Inner, Stats};
use super::metrics::Gauges;
use super::TokenManager;

/// What the manager is doing, for the service page and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagerState {
    /// No token yet, and no failure yet.
    Starting,
    /// A valid token; the last attempt worked.
    Healthy,
    /// A valid token, but refreshing it fails: it is served until it truly expires.
    Degraded,
    /// No valid token, and the last attempt failed: calls fail until it comes back.
    Unavailable,
    /// Needs attention: the client was refused (`invalid_client`, `invalid_scope`) or its
    /// tokens lack a required scope. Retrying does not help; a still-valid token is served.
    Failed,
    /// [`TokenManager::shutdown`] was called.
    Stopped,
}

impl ManagerState {
    /// Every state, in declaration order.
    pub const ALL: [ManagerState; 6] = [
        ManagerState::Starting,
        ManagerState::Healthy,
        ManagerState::Degraded,
        ManagerState::Unavailable,
        ManagerState::Failed,
        ManagerState::Stopped,
    ];

    /// The state's name (`healthy`).
    pub fn as_str(self) -> &'static str {
        match self {
            ManagerState::Starting => "starting",
            ManagerState::Healthy => "healthy",
            ManagerState::Degraded => "degraded",
            ManagerState::Unavailable => "unavailable",
            ManagerState::Failed => "failed",
            ManagerState::Stopped => "stopped",
        }
    }
}

/// A rotated-out token still held by requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainingToken {
    /// The old token's generation.
    pub generation: u64,
    /// Requests still holding it.
    pub guards: usize,
}

/// Everything the service page shows. Holds no token or secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenManagerStatus {
    /// The OAuth client.
    pub client_id: String,
    /// The state.
    pub state: ManagerState,
    /// Whether a valid token can be served now (see [`TokenManager::healthy`]).
    pub healthy: bool,
    /// The current token's generation (1 for the first).
    pub generation: Option<u64>,
    /// Seconds until the current token expires (`None` without a valid one).
    pub expires_in_secs: Option<u64>,
    /// When the last token was obtained (Unix seconds).
    pub last_refresh: Option<u64>,
    /// When the next token request is planned (Unix seconds): the scheduled refresh, or the
    /// next retry after a failure.
    pub next_refresh: Option<u64>,
    /// Failed attempts in a row.
    pub consecutive_failures: u32,
    /// The last failure, while it is not resolved.
    pub last_error: Option<String>,
    /// The last failure's reason (`invalid_client`, ...).
    pub last_error_reason: Option<String>,
    /// Share of recent attempts that failed (0 to 1).
    pub error_rate: f64,
    /// Requests holding a token through a guard.
    pub in_flight_guards: usize,
    /// Rotated-out tokens still held by requests.
    pub draining: Vec<DrainingToken>,
    /// The last audit events, oldest first.
    pub recent_events: Vec<AuditEvent>,
}

impl TokenManager {
    /// Whether a token can be served now: one exists, has not expired, and the manager runs
    /// (for `/readyz`). A `Failed` manager still serves a valid token; see
    /// [`TokenManager::needs_attention`].
    pub fn healthy(&self) -> bool {
        !self.inner.stopped.load(Ordering::SeqCst)
            && self
                .inner
                .current
                .load()
                .as_deref()
                .is_some_and(|issued| Instant::now() < issued.expires_at)
    }

    /// Whether retrying stopped on a failure that needs someone to act (`Failed`).
    pub fn needs_attention(&self) -> bool {
        self.state() == ManagerState::Failed
    }

    /// The current state.
    pub fn state(&self) -> ManagerState {
        let stats = lock(&self.inner.stats);
        self.inner.state_with(&stats, Instant::now())
    }

    /// Everything the service page shows.
    pub fn snapshot(&self) -> TokenManagerStatus {
        let inner = &self.inner;
        let now = Instant::now();
        let wall_now = SystemTime::now();
        let current = inner
            .current
            .load_full()
            .filter(|issued| now < issued.expires_at);
        let stats = lock(&inner.stats);
        let next_refresh = if inner.stopped.load(Ordering::SeqCst) {
            None
        } else if stats.last_error.is_some() {
            stats.retry_not_before
        } else if inner.config.background_refresh {
            current.as_ref().map(|issued| issued.refresh_at.max(now))
        } else {
            None
        };
        TokenManagerStatus {
            client_id: inner.client_id.clone(),
            state: inner.state_with(&stats, now),
            healthy: current.is_some() && !inner.stopped.load(Ordering::SeqCst),
            generation: current.as_ref().map(|issued| issued.generation),
            expires_in_secs: current
                .as_ref()
                .map(|issued| issued.expires_at.saturating_duration_since(now).as_secs()),
            last_refresh: stats.last_refresh.map(|at| unix_ms(at) / 1000),
            next_refresh: next_refresh.map(|at| unix_secs_of(at, now, wall_now)),
            consecutive_failures: stats.consecutive_failures,
            last_error: stats.last_error.as_ref().map(ToString::to_string),
            last_error_reason: stats.last_error.as_ref().map(|e| e.reason().to_owned()),
            error_rate: error_rate(&stats),
            in_flight_guards: inner.metrics.guards.load(Ordering::Relaxed),
            draining: stats
                .draining
                .iter()
                .map(|issued| DrainingToken {
                    generation: issued.generation,
                    guards: issued.pins.load(Ordering::SeqCst),
                })
                .collect(),
            recent_events: stats.events.to_vec(),
        }
    }

    /// The manager's metrics in the OpenMetrics text format, on their own.
    pub fn render_prometheus(&self) -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(self.prometheus_collector()));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }

    /// A collector for a `prometheus-client` registry: the manager's families, read on each
    /// scrape.
    pub fn prometheus_collector(&self) -> MetricsCollector {
        MetricsCollector {
            inner: self.inner.clone(),
        }
    }
}

/// The token manager's metrics as a `prometheus-client` collector
/// ([`TokenManager::prometheus_collector`]).
pub struct MetricsCollector {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MetricsCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsCollector")
            .field("client_id", &self.inner.client_id)
            .finish()
    }
}

impl prometheus_client::collector::Collector for MetricsCollector {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        let inner = &self.inner;
        let now = Instant::now();
        let seconds_until_expiry = inner
            .current
            .load()
            .as_deref()
            .map(|issued| {
                issued
                    .expires_at
                    .saturating_duration_since(now)
                    .as_secs_f64()
            })
            .unwrap_or(0.0);
        let (state, error_rate, draining_tokens) = {
            let stats = lock(&inner.stats);
            (
                inner.state_with(&stats, now),
                error_rate(&stats),
                stats.draining.len(),
            )
        };
        let all_states = ManagerState::ALL.map(ManagerState::as_str);
        inner.metrics.encode(
            &Gauges {
                client_id: &inner.client_id,
                state: state.as_str(),
                all_states: &all_states,
                seconds_until_expiry,
                error_rate,
                draining_tokens,
            },
            &mut encoder,
        )
    }
}

impl Inner {
    pub(super) fn state_with(&self, stats: &Stats, now: Instant) -> ManagerState {
        if self.stopped.load(Ordering::SeqCst) {
            return ManagerState::Stopped;
        }
        if stats
            .last_error
            .as_ref()
            .is_some_and(AcquireError::needs_attention)
        {
            return ManagerState::Failed;
        }
        let failing = stats.consecutive_failures > 0;
        match self.current.load().as_deref() {
            Some(issued) if now < issued.expires_at => {
                if failing {
                    ManagerState::Degraded
                } else {
                    ManagerState::Healthy
                }
            }
            Some(_) => ManagerState::Unavailable,
            None if failing => ManagerState::Unavailable,
            None => ManagerState::Starting,
        }
    }
}

pub(super) fn error_rate(stats: &Stats) -> f64 {
    if stats.outcomes.is_empty() {
        return 0.0;
    }
    let failures = stats.outcomes.iter().filter(|failed| **failed).count();
    failures as f64 / stats.outcomes.len() as f64
}
