//! A token as handed out: the issued token with its count of pins, the [`TokenGuard`] that pins
//! it for one request, and the [`DrainHandle`] that completes when the last pin is dropped.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::inner::Inner;
use crate::secret::AccessToken;

/// One accepted token and what the manager knows about it.
pub(super) struct IssuedToken {
    pub(super) token: AccessToken,
    pub(super) generation: u64,
    pub(super) expires_at: Instant,
    /// `expires_at` minus the safety margin: the lock-free path hands the token out before.
    pub(super) usable_until: Instant,
    pub(super) refresh_at: Instant,
    /// The attempt (consecutive) that obtained it.
    pub(super) attempt: u32,
    /// Guards alive on this token.
    pub(super) pins: AtomicUsize,
    /// Set once another token replaced it; from then on it takes no new guards.
    pub(super) retired: AtomicBool,
    /// Woken when the last guard of a retired token is dropped.
    pub(super) drained: Notify,
}

impl IssuedToken {
    /// Takes a guard's pin, unless the token was replaced meanwhile. The increment and the
    /// check are ordered against `retire` + `wait_drained` (SeqCst), so either the waiter sees
    /// this pin or this call sees the retirement.
    pub(super) fn pin(&self) -> bool {
        self.pins.fetch_add(1, Ordering::SeqCst);
        if self.retired.load(Ordering::SeqCst) {
            self.unpin();
            return false;
        }
        true
    }

    pub(super) fn unpin(&self) {
        if self.pins.fetch_sub(1, Ordering::SeqCst) == 1 && self.retired.load(Ordering::SeqCst) {
            self.drained.notify_waiters();
        }
    }

    pub(super) fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
    }

    /// Completes once no guard holds this (retired) token.
    pub(super) async fn wait_drained(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            // Registered before checking, so a guard dropped in between still wakes us.
            notified.as_mut().enable();
            if self.pins.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// A token pinned for one request. Rotations wait for it to be dropped.
pub struct TokenGuard {
    pub(super) issued: Arc<IssuedToken>,
    inner: Arc<Inner>,
}

impl TokenGuard {
    pub(super) fn pin(inner: &Arc<Inner>, issued: Arc<IssuedToken>) -> Option<TokenGuard> {
        if !issued.pin() {
            return None;
        }
        inner.metrics.guards.fetch_add(1, Ordering::Relaxed);
        Some(TokenGuard {
            issued,
            inner: Arc::clone(inner),
        })
    }

    /// The pinned token (never log it).
    pub fn token(&self) -> &AccessToken {
        &self.issued.token
    }

    /// The token's generation (1 for the manager's first token).
    pub fn generation(&self) -> u64 {
        self.issued.generation
    }

    /// How long the pinned token is still valid.
    pub fn expires_in(&self) -> Duration {
        self.issued
            .expires_at
            .saturating_duration_since(Instant::now())
    }
}

impl std::fmt::Debug for TokenGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGuard")
            .field("generation", &self.issued.generation)
            .finish_non_exhaustive()
    }
}

impl Drop for TokenGuard {
    fn drop(&mut self) {
        self.inner.metrics.guards.fetch_sub(1, Ordering::Relaxed);
        self.issued.unpin();
    }
}

/// The outcome of a rotation: await it (or [`DrainHandle::wait`]) to learn when the last
/// request holding the old token has finished.
#[derive(Clone)]
pub struct DrainHandle {
    pub(super) old: Option<Arc<IssuedToken>>,
    pub(super) new_generation: u64,
}

impl DrainHandle {
    /// The rotated-out token's generation (`None` when there was no token to rotate out).
    pub fn old_generation(&self) -> Option<u64> {
        self.old.as_ref().map(|issued| issued.generation)
    }

    /// The generation now served.
    pub fn new_generation(&self) -> u64 {
        self.new_generation
    }

    /// Requests still holding the old token.
    pub fn remaining(&self) -> usize {
        self.old
            .as_ref()
            .map_or(0, |issued| issued.pins.load(Ordering::SeqCst))
    }

    /// Whether every request holding the old token has finished.
    pub fn is_drained(&self) -> bool {
        self.remaining() == 0
    }

    /// Completes when every request holding the old token has finished.
    pub async fn wait(&self) {
        if let Some(old) = &self.old {
            old.wait_drained().await;
        }
    }
}

impl IntoFuture for DrainHandle {
    type Output = ();
    type IntoFuture = BoxFuture<'static, ()>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.wait().await })
    }
}

impl std::fmt::Debug for DrainHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrainHandle")
            .field("old_generation", &self.old_generation())
            .field("new_generation", &self.new_generation)
            .field("remaining", &self.remaining())
            .finish()
    }
}
