//! Forced replacement: an admin's rotation or a reported 401 swaps in a new token at once, and
//! the rotated-out token is tracked until its last guard is gone (then revoked after an admin's).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::time::Instant;

use super::audit::{AuditEvent, AuditKind};
use super::error::AcquireError;
use super::guard::{DrainHandle, IssuedToken};
use super::inner::{duration_ms, lock, Inner, Stats};
use super::refresh::Trigger;
use super::LOG_TARGET;

impl Inner {
    /// Replaces the current token at once. With `seen` (a 401's token), nothing is requested
    /// unless `seen` is still current, so many reports of one refused token rotate it once.
    pub(super) async fn rotate(
        self: &Arc<Self>,
        trigger: Trigger,
        seen: Option<Arc<IssuedToken>>,
    ) -> Result<DrainHandle, AcquireError> {
        let started = Instant::now();
        let (old, flight, claimed_refresh) = {
            let mut slot = lock(&self.flight);
            let old = self.current.load_full();
            if let Some(seen) = seen {
                let still_current = old
                    .as_ref()
                    .is_some_and(|o| o.generation == seen.generation);
                if !still_current {
                    // Already replaced: nothing to request.
                    return Ok(DrainHandle {
                        new_generation: old.map_or(seen.generation, |o| o.generation),
                        old: Some(seen),
                    });
                }
            }
            if self.stopped.load(Ordering::SeqCst) {
                return Err(AcquireError::Stopped);
            }
            match slot.as_mut() {
                // A refresh is already under way: its token serves as the rotation's, and
                // the first rotation to claim it records the rotation (the request's task
                // recorded a refresh).
                Some(flight) => {
                    let claim = !flight.rotation_claimed;
                    flight.rotation_claimed = true;
                    (old, flight.result.clone(), claim)
                }
                None => {
                    // An admin may always force a request; a 401 must not hammer a failing
                    // or refusing token endpoint.
                    if trigger == Trigger::Unauthorized {
                        if let Some(error) = self.blocked_until_retry(Instant::now()) {
                            return Err(error);
                        }
                    }
                    // The request's task records the rotation.
                    (old, self.start_flight(&mut slot, trigger), false)
                }
            }
        };
        let new = flight.await?;
        let old = old.filter(|o| o.generation != new.generation);
        if claimed_refresh {
            if let Some(old) = &old {
                let mut stats = lock(&self.stats);
                self.record_rotation(&mut stats, &new, Arc::clone(old), trigger, started);
            }
        }
        Ok(DrainHandle {
            old,
            new_generation: new.generation,
        })
    }

    /// Waits (on a task) for the rotated-out token's last guard, then records `drained` and,
    /// after an admin rotation, revokes the old token.
    fn track_drain(
        self: &Arc<Self>,
        old: Arc<IssuedToken>,
        trigger: Trigger,
        started: Instant,
        attempt: u32,
    ) {
        let inner = Arc::clone(self);
        let guards = old.pins.load(Ordering::SeqCst);
        let task = tokio::spawn(async move {
            old.wait_drained().await;
            let now = Instant::now();
            {
                let mut stats = lock(&inner.stats);
                stats
                    .draining
                    .retain(|issued| issued.generation != old.generation);
                let event = AuditEvent {
                    trigger: Some(trigger),
                    generation: Some(old.generation),
                    latency_ms: duration_ms(now.saturating_duration_since(started)),
                    attempt,
                    guards: Some(guards),
                    ..inner.event(&stats, AuditKind::Drained, now)
                };
                inner.emit(&mut stats, event);
            }
            // After a 401 the old token is dead already.
            if inner.config.revoke_after_drain && trigger == Trigger::Admin {
                if let Err(error) = inner.source.revoke(&old.token).await {
                    tracing::warn!(
                        target: LOG_TARGET,
                        generation = old.generation,
                        error = %error,
                        "could not revoke the rotated-out token"
                    );
                }
            }
        });
        let mut tasks = lock(&self.tasks);
        tasks.drains.retain(|task| !task.is_finished());
        tasks.drains.push(task);
    }

    /// Records that `new` replaced `old` by force, and starts tracking `old`'s drain.
    pub(super) fn record_rotation(
        self: &Arc<Self>,
        stats: &mut Stats,
        new: &IssuedToken,
        old: Arc<IssuedToken>,
        trigger: Trigger,
        started: Instant,
    ) {
        let now = Instant::now();
        self.metrics.rotations.fetch_add(1, Ordering::Relaxed);
        let event = AuditEvent {
            trigger: Some(trigger),
            generation: Some(new.generation),
            latency_ms: duration_ms(now.saturating_duration_since(started)),
            attempt: new.attempt,
            expires_in_secs: Some(new.expires_at.saturating_duration_since(now).as_secs()),
            guards: Some(old.pins.load(Ordering::SeqCst)),
            ..self.event(stats, AuditKind::Rotated, now)
        };
        self.emit(stats, event);
        stats.draining.push(Arc::clone(&old));
        self.track_drain(old, trigger, started, new.attempt);
    }
}
