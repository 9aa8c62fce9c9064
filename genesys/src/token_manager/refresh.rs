//! Getting a new token: the one request in flight that every caller joins, the check and
//! installation of its token (or the failure and its backoff), and the background refresh task.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The longest the manager waits before asking the token endpoint again, whatever its
/// `Retry-After` said: five minutes (the backoff itself tops out at `retry_max_delay`).
pub(super) const MAX_TOKEN_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

use futures::future::{BoxFuture, FutureExt, Shared};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::audit::{AuditEvent, AuditKind};
use super::error::AcquireError;
use super::guard::IssuedToken;
use super::inner::{duration_ms, lock, random_up_to, Inner, Stats};
use super::source::check_token_info;
use crate::oauth::OAuthError;
use crate::secret::AccessToken;

/// What started a token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The background task (first token, scheduled refresh, retry).
    Schedule,
    /// A caller found no usable token.
    OnDemand,
    /// An admin asked for a rotation.
    Admin,
    /// A request was refused with 401 while using the current token.
    Unauthorized,
}

impl Trigger {
    /// The trigger's name (`on_demand`).
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::OnDemand => "on_demand",
            Trigger::Admin => "admin",
            Trigger::Unauthorized => "unauthorized",
        }
    }

    pub(super) fn is_rotation(self) -> bool {
        matches!(self, Trigger::Admin | Trigger::Unauthorized)
    }
}

pub(super) type FlightResult = Result<Arc<IssuedToken>, AcquireError>;
pub(super) type SharedFlight = Shared<BoxFuture<'static, FlightResult>>;

/// The one token request in flight.
pub(super) struct Flight {
    id: u64,
    pub(super) result: SharedFlight,
    /// Whether a rotation already owns this request's outcome (its audit record and drain).
    pub(super) rotation_claimed: bool,
}

/// Clears the flight slot when the request's task ends, even by a panic, so that a broken
/// request never blocks the next one.
struct ClearFlight<'a> {
    inner: &'a Inner,
    id: u64,
}

impl Drop for ClearFlight<'_> {
    fn drop(&mut self) {
        let mut slot = lock(&self.inner.flight);
        if slot.as_ref().is_some_and(|flight| flight.id == self.id) {
            *slot = None;
        }
        drop(slot);
        self.inner.wake.notify_one();
    }
}

impl Inner {
    /// The path taken when the current token is missing or inside its margin: join the
    /// request in flight, or start one unless a failure asked to wait.
    pub(super) async fn slow_path(self: &Arc<Self>) -> FlightResult {
        let flight = {
            let mut slot = lock(&self.flight);
            let now = Instant::now();
            if let Some(issued) = self.current.load_full() {
                // A request may have just finished.
                if now < issued.usable_until {
                    return Ok(issued);
                }
            }
            match slot.as_ref() {
                Some(flight) => flight.result.clone(),
                None => {
                    if self.stopped.load(Ordering::SeqCst) {
                        return self.unexpired(now).ok_or(AcquireError::Stopped);
                    }
                    if let Some(error) = self.blocked_until_retry(now) {
                        return self.unexpired(now).ok_or(error);
                    }
                    self.start_flight(&mut slot, Trigger::OnDemand)
                }
            }
        };
        match flight.await {
            Ok(issued) => Ok(issued),
            // Keep serving the old token until it truly expires.
            Err(error) => self.unexpired(Instant::now()).ok_or(error),
        }
    }

    /// The unresolved failure, if it asks callers not to start a request yet.
    pub(super) fn blocked_until_retry(&self, now: Instant) -> Option<AcquireError> {
        let stats = lock(&self.stats);
        let error = stats.last_error.as_ref()?;
        let blocked = match stats.retry_not_before {
            Some(at) => now < at,
            None => true,
        };
        blocked.then(|| error.clone())
    }

    /// The background task's request: joins the one in flight, or starts one if it is still
    /// due. Checked again under the lock, since a caller's request may have finished (and
    /// set a new token or a backoff) since the task went to sleep.
    pub(super) fn join_or_start_if_due(self: &Arc<Self>) -> Option<SharedFlight> {
        let mut slot = lock(&self.flight);
        if let Some(flight) = slot.as_ref() {
            return Some(flight.result.clone());
        }
        let now = Instant::now();
        match self.next_background_run(now) {
            Some(at) if at <= now => Some(self.start_flight(&mut slot, Trigger::Schedule)),
            _ => None,
        }
    }

    /// Starts the one token request, on its own task so that it completes (and is recorded)
    /// even if every caller waiting for it gives up. The caller holds the slot's lock.
    pub(super) fn start_flight(
        self: &Arc<Self>,
        slot: &mut Option<Flight>,
        trigger: Trigger,
    ) -> SharedFlight {
        let id = self.flight_ids.fetch_add(1, Ordering::Relaxed);
        let inner = Arc::clone(self);
        let task = tokio::spawn(async move { inner.run_flight(id, trigger).await });
        let result: BoxFuture<'static, FlightResult> =
            Box::pin(async move { task.await.unwrap_or(Err(AcquireError::Interrupted)) });
        let shared = result.shared();
        *slot = Some(Flight {
            id,
            result: shared.clone(),
            rotation_claimed: trigger.is_rotation(),
        });
        shared
    }

    async fn run_flight(self: Arc<Self>, id: u64, trigger: Trigger) -> FlightResult {
        let _clear = ClearFlight { inner: &self, id };
        let started = Instant::now();
        match self.fetch_validated().await {
            Ok((token, expires_at)) => Ok(self.install(token, expires_at, trigger, started)),
            Err(error) => {
                self.record_failure(&error, trigger, started);
                Err(error)
            }
        }
    }

    /// One token request and the check of its token.
    async fn fetch_validated(&self) -> Result<(AccessToken, Instant), AcquireError> {
        let before = Instant::now();
        let set = self.source.fetch().await?;
        let now = Instant::now();
        // The earlier of the two readings, so that expiry errs early whichever clock the
        // source measured on.
        let expires_at = (before + set.expires_in)
            .min(now + set.expires_in.saturating_sub(set.obtained_at.elapsed()));
        let info = self
            .source
            .inspect(&set.access_token)
            .await
            .map_err(|error| AcquireError::Inspect(Box::new(error)))?;
        check_token_info(&info, self.source.client_id(), &self.config.required_scopes)?;
        Ok((set.access_token, expires_at))
    }

    fn install(
        self: &Arc<Self>,
        token: AccessToken,
        expires_at: Instant,
        trigger: Trigger,
        started: Instant,
    ) -> Arc<IssuedToken> {
        let now = Instant::now();
        let lifetime = expires_at.saturating_duration_since(now);
        let margin = self.config.safety_margin.min(lifetime / 4);
        let lead = (self.config.refresh_buffer + random_up_to(self.config.refresh_jitter))
            .min(lifetime / 2);
        let latency = now.saturating_duration_since(started);
        let mut stats = lock(&self.stats);
        let attempt = stats.consecutive_failures + 1;
        let issued = Arc::new(IssuedToken {
            token,
            generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
            expires_at,
            usable_until: expires_at - margin,
            refresh_at: expires_at - lead,
            attempt,
            pins: AtomicUsize::new(0),
            retired: AtomicBool::new(false),
            drained: Notify::new(),
        });
        let previous = self.current.swap(Some(Arc::clone(&issued)));
        if let Some(previous) = &previous {
            previous.retire();
        }
        stats.consecutive_failures = 0;
        stats.retry_not_before = None;
        stats.last_error = None;
        stats.last_refresh = Some(SystemTime::now());
        self.push_outcome(&mut stats, false);
        self.metrics.acquisitions.fetch_add(1, Ordering::Relaxed);
        self.metrics.observe_acquisition(latency);
        match previous {
            // Recorded here, on the request's own task, so that a rotation is recorded and
            // its drain tracked even if the caller who asked for it went away.
            Some(previous) if trigger.is_rotation() => {
                self.record_rotation(&mut stats, &issued, previous, trigger, started);
            }
            previous => {
                let kind = if previous.as_ref().is_some_and(|p| now < p.expires_at) {
                    AuditKind::Refreshed
                } else {
                    AuditKind::Acquired
                };
                let event = AuditEvent {
                    trigger: Some(trigger),
                    generation: Some(issued.generation),
                    latency_ms: duration_ms(latency),
                    attempt,
                    expires_in_secs: Some(lifetime.as_secs()),
                    ..self.event(&stats, kind, now)
                };
                self.emit(&mut stats, event);
            }
        }
        issued
    }

    fn record_failure(&self, error: &AcquireError, trigger: Trigger, started: Instant) {
        let now = Instant::now();
        self.metrics.count_failure(error.reason());
        let mut stats = lock(&self.stats);
        stats.consecutive_failures = stats.consecutive_failures.saturating_add(1);
        let attempt = stats.consecutive_failures;
        let wait = if error.needs_attention() {
            self.config.attention_retry
        } else {
            Some(self.backoff(attempt, error))
        };
        // Checked: a wait an `Instant` cannot hold is the longest upstream wait instead.
        stats.retry_not_before = wait.map(|wait| {
            now.checked_add(wait)
                .unwrap_or(now + crate::retry::MAX_UPSTREAM_WAIT)
        });
        stats.last_error = Some(error.clone());
        self.push_outcome(&mut stats, true);
        let kind = if error.is_refused_token() {
            AuditKind::ValidationFailed
        } else {
            AuditKind::RefreshFailed
        };
        let missing_scopes = match error {
            AcquireError::MissingScope { missing, .. } => missing.clone(),
            _ => Vec::new(),
        };
        let event = AuditEvent {
            trigger: Some(trigger),
            latency_ms: duration_ms(now.saturating_duration_since(started)),
            attempt,
            reason: Some(error.reason().to_owned()),
            detail: Some(error.to_string()),
            missing_scopes,
            ..self.event(&stats, kind, now)
        };
        self.emit(&mut stats, event);
    }

    /// The wait before retry number `attempt`: half the doubling ceiling plus up to the other
    /// half, or the token endpoint's `Retry-After` when longer, up to [`MAX_TOKEN_WAIT`] (a
    /// token endpoint asking for a day must not stop token requests for a day).
    fn backoff(&self, attempt: u32, error: &AcquireError) -> Duration {
        let ceiling = self
            .config
            .retry_base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.config.retry_max_delay);
        let wait = ceiling / 2 + random_up_to(ceiling / 2);
        match error {
            AcquireError::Token(OAuthError::RateLimited { retry_after }) => {
                wait.max((*retry_after).min(MAX_TOKEN_WAIT))
            }
            _ => wait,
        }
    }

    fn push_outcome(&self, stats: &mut Stats, failed: bool) {
        let window = self.config.error_window.max(1);
        while stats.outcomes.len() >= window {
            stats.outcomes.pop_front();
        }
        stats.outcomes.push_back(failed);
    }

    /// When the background task should next request a token (`None`: only when woken).
    fn next_background_run(&self, now: Instant) -> Option<Instant> {
        let stats = lock(&self.stats);
        if stats.last_error.is_some() {
            return stats.retry_not_before;
        }
        match self.current.load().as_deref() {
            Some(issued) => Some(issued.refresh_at),
            None => Some(now),
        }
    }
}

/// The background task: sleeps until the next refresh or retry, joins (or starts) the token
/// request, and starts over; woken early whenever a token request finishes elsewhere.
pub(super) async fn run_background(inner: Arc<Inner>) {
    loop {
        if inner.stopped.load(Ordering::SeqCst) {
            return;
        }
        let due = inner.next_background_run(Instant::now());
        let sleep = async move {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = inner.stop.notified() => return,
            _ = inner.wake.notified() => continue,
            _ = sleep => {}
        }
        if inner.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Some(flight) = inner.join_or_start_if_due() else {
            continue;
        };
        tokio::select! {
            _ = inner.stop.notified() => return,
            _ = flight => {}
        }
    }
}
