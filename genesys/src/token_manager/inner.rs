//! The state the manager shares with its guards and its tasks, and the small helpers every
//! path uses: locking, clocks, jitter, and recording an audit event.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use rand::Rng;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use super::audit::{self, AuditEvent, AuditKind};
use super::config::TokenManagerConfig;
use super::error::AcquireError;
use super::guard::IssuedToken;
use super::metrics::Metrics;
use super::refresh::Flight;
use super::source::TokenSource;
use super::status::error_rate;
use super::LOG_TARGET;

pub(super) struct Stats {
    pub(super) consecutive_failures: u32,
    /// No new request before this (after a failure); `None` with an error: none until asked.
    pub(super) retry_not_before: Option<Instant>,
    /// The unresolved failure, if any.
    pub(super) last_error: Option<AcquireError>,
    pub(super) last_refresh: Option<SystemTime>,
    /// Recent outcomes, `true` for a failure.
    pub(super) outcomes: VecDeque<bool>,
    pub(super) events: audit::EventRing,
    pub(super) draining: Vec<Arc<IssuedToken>>,
}

#[derive(Default)]
pub(super) struct Tasks {
    pub(super) background: Option<JoinHandle<()>>,
    pub(super) webhook: Option<JoinHandle<()>>,
    pub(super) drains: Vec<JoinHandle<()>>,
}

pub(super) struct Inner {
    pub(super) source: Arc<dyn TokenSource>,
    pub(super) config: TokenManagerConfig,
    pub(super) client_id: String,
    pub(super) current: ArcSwapOption<IssuedToken>,
    pub(super) flight: Mutex<Option<Flight>>,
    pub(super) stats: Mutex<Stats>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) generations: AtomicU64,
    pub(super) flight_ids: AtomicU64,
    /// Tells the background task to look at its schedule again.
    pub(super) wake: Notify,
    /// Tells the background task to stop.
    pub(super) stop: Notify,
    pub(super) stopped: AtomicBool,
    pub(super) webhook: Mutex<Option<mpsc::Sender<AuditEvent>>>,
    pub(super) tasks: Mutex<Tasks>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The wall-clock time (Unix seconds) of monotonic instant `at`.
pub(super) fn unix_secs_of(at: Instant, now: Instant, wall_now: SystemTime) -> u64 {
    let wall = if at >= now {
        wall_now + (at - now)
    } else {
        wall_now - (now - at)
    };
    unix_ms(wall) / 1000
}

pub(super) fn random_up_to(max: Duration) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rand::thread_rng().gen_range(0..=nanos))
}

pub(super) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Inner {
    /// The state of a manager that has no token yet.
    pub(super) fn new(
        source: Arc<dyn TokenSource>,
        config: TokenManagerConfig,
        metrics: Arc<Metrics>,
        webhook: Option<mpsc::Sender<AuditEvent>>,
    ) -> Inner {
        Inner {
            client_id: source.client_id().as_str().to_owned(),
            source,
            stats: Mutex::new(Stats {
                consecutive_failures: 0,
                retry_not_before: None,
                last_error: None,
                last_refresh: None,
                outcomes: VecDeque::with_capacity(config.error_window.min(1024)),
                events: audit::EventRing::new(config.recent_events),
                draining: Vec::new(),
            }),
            config,
            current: ArcSwapOption::empty(),
            flight: Mutex::new(None),
            metrics,
            generations: AtomicU64::new(0),
            flight_ids: AtomicU64::new(0),
            wake: Notify::new(),
            stop: Notify::new(),
            stopped: AtomicBool::new(false),
            webhook: Mutex::new(webhook),
            tasks: Mutex::new(Tasks::default()),
        }
    }

    pub(super) fn signal_stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop.notify_one();
        // Dropping the sender lets the webhook task finish what is queued and end.
        lock(&self.webhook).take();
    }

    /// The current token if unexpired (margin or not).
    pub(super) fn unexpired(&self, now: Instant) -> Option<Arc<IssuedToken>> {
        self.current
            .load_full()
            .filter(|issued| now < issued.expires_at)
    }

    /// An event with the common fields filled in.
    pub(super) fn event(&self, stats: &Stats, kind: AuditKind, now: Instant) -> AuditEvent {
        AuditEvent {
            id: Uuid::new_v4(),
            kind,
            at_unix_ms: unix_ms(SystemTime::now()),
            client_id: self.client_id.clone(),
            state: self.state_with(stats, now),
            trigger: None,
            generation: None,
            latency_ms: 0,
            attempt: 0,
            error_rate: error_rate(stats),
            reason: None,
            detail: None,
            missing_scopes: Vec::new(),
            expires_in_secs: None,
            guards: None,
        }
    }

    /// Records an event: the `tracing` record, the webhook queue (never waiting), the ring.
    pub(super) fn emit(&self, stats: &mut Stats, event: AuditEvent) {
        audit::record(&event);
        if let Some(sender) = lock(&self.webhook).as_ref() {
            if sender.try_send(event.clone()).is_err() {
                self.metrics.webhook_dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: LOG_TARGET, event_id = %event.id, "webhook queue full; event dropped");
            }
        }
        stats.events.push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_conversion_follows_the_monotonic_offset() {
        let now = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            unix_secs_of(now + Duration::from_secs(30), now, wall),
            1_030
        );
        assert_eq!(unix_secs_of(now, now, wall), 1_000);
    }

    #[test]
    fn random_up_to_stays_in_bounds() {
        assert_eq!(random_up_to(Duration::ZERO), Duration::ZERO);
        for _ in 0..100 {
            assert!(random_up_to(Duration::from_millis(5)) <= Duration::from_millis(5));
        }
    }
}
