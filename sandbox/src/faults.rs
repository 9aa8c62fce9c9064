//! Run-time fault injection: a shared, cheaply cloned handle over the settings in force, and
//! the JSON shape of the admin endpoint.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::config::FaultSettings;

/// A handle on the sandbox's faults; clones share the same settings and the same random
/// source (seeded from entropy, or by [`Faults::reseed`] so that a test's sequence of draws
/// is the same on every run).
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<RwLock<FaultSettings>>,
    rng: Arc<Mutex<StdRng>>,
    /// API requests made with a user's token still to be refused with a 401.
    refusals: Arc<AtomicU32>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            rng: Arc::new(Mutex::new(StdRng::from_entropy())),
            refusals: Arc::default(),
        }
    }
}

fn clamp_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}

impl Faults {
    pub(crate) fn new(settings: FaultSettings) -> Self {
        let faults = Self::default();
        faults.replace(settings);
        faults
    }

    /// The settings in force.
    pub fn get(&self) -> FaultSettings {
        self.read().clone()
    }

    /// Replaces every setting at once.
    pub fn replace(&self, mut settings: FaultSettings) {
        settings.error_rate = clamp_rate(settings.error_rate);
        settings.rate_limit_rate = clamp_rate(settings.rate_limit_rate);
        settings.socket_drop_rate = clamp_rate(settings.socket_drop_rate);
        *self.write() = settings;
    }

    /// Back to no faults at all.
    pub fn clear(&self) {
        self.replace(FaultSettings::default());
    }

    pub fn set_latency(&self, latency: Duration) {
        self.write().latency = latency;
    }

    /// Share (0..=1) of API requests answered with a 5xx.
    pub fn set_error_rate(&self, rate: f64) {
        self.write().error_rate = clamp_rate(rate);
    }

    /// Share (0..=1) of API requests answered with a forced 429.
    pub fn set_rate_limit_rate(&self, rate: f64) {
        self.write().rate_limit_rate = clamp_rate(rate);
    }

    pub fn set_token_endpoint_down(&self, down: bool) {
        self.write().token_endpoint_down = down;
    }

    pub fn set_malformed_token_body(&self, malformed: bool) {
        self.write().malformed_token_body = malformed;
    }

    /// The token endpoint commits its work, then the answer is cut off mid-body.
    pub fn set_token_answer_lost(&self, lost: bool) {
        self.write().token_answer_lost = lost;
    }

    /// Share (0..=1) of guest frames after which the gateway drops the socket.
    pub fn set_socket_drop_rate(&self, rate: f64) {
        self.write().socket_drop_rate = clamp_rate(rate);
    }

    /// Delay before every frame the gateway sends.
    pub fn set_socket_delay(&self, delay: Duration) {
        self.write().socket_delay = delay;
    }

    /// User answers with only `id` and `name` (see [`FaultSettings::sparse_users`]).
    pub fn set_sparse_users(&self, sparse: bool) {
        self.write().sparse_users = sparse;
    }

    pub(crate) fn sparse_users(&self) -> bool {
        self.read().sparse_users
    }

    pub(crate) fn socket_delay(&self) -> Duration {
        self.read().socket_delay
    }

    /// The next `n` API requests made with a user's token (authorization code, implicit or
    /// refreshed; not client credentials) are refused with Genesys' 401 `bad.credentials`,
    /// as when a token is revoked or expires early right after it was issued. Service tokens
    /// are left alone, so a client-credentials manager checking its token in the background
    /// cannot take a refusal meant for a user's sign-in.
    pub fn refuse_next_user_tokens(&self, n: u32) {
        self.refusals.store(n, Ordering::SeqCst);
    }

    /// Takes one of the refusals [`Faults::refuse_next_user_tokens`] asked for, if any are left.
    pub(crate) fn take_refusal(&self) -> bool {
        self.refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Restarts the random draws from `seed`: the same requests in the same order then meet
    /// the same faults.
    pub fn reseed(&self, seed: u64) {
        *self.rng() = StdRng::seed_from_u64(seed);
    }

    /// Draws whether the gateway drops this socket now.
    pub(crate) fn roll_socket_drop(&self) -> bool {
        self.roll(self.read().socket_drop_rate)
    }

    /// Draws one of `n` choices (the status of an injected 5xx).
    pub(crate) fn pick(&self, n: usize) -> usize {
        self.rng().gen_range(0..n.max(1))
    }

    fn roll(&self, rate: f64) -> bool {
        rate >= 1.0 || (rate > 0.0 && self.rng().gen_bool(rate))
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, StdRng> {
        self.rng.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn latency(&self) -> Duration {
        self.read().latency
    }

    /// Draws whether this API request fails with a 5xx.
    pub(crate) fn roll_error(&self) -> bool {
        self.roll(self.read().error_rate)
    }

    /// Draws whether this API request gets a forced 429.
    pub(crate) fn roll_rate_limit(&self) -> bool {
        self.roll(self.read().rate_limit_rate)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, FaultSettings> {
        // A panic while holding the lock cannot leave the plain settings half-written.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, FaultSettings> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The admin endpoint's view of the faults (`GET`/`PUT /sandbox/faults`). On `PUT` every field
/// is optional: the ones left out keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultsBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_down: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed_token_body: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_answer_lost: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_drop_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_users: Option<bool>,
    /// `PUT` only: restart the random draws from this seed (never reported back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl From<&FaultSettings> for FaultsBody {
    fn from(s: &FaultSettings) -> Self {
        Self {
            latency_ms: Some(u64::try_from(s.latency.as_millis()).unwrap_or(u64::MAX)),
            error_rate: Some(s.error_rate),
            rate_limit_rate: Some(s.rate_limit_rate),
            token_endpoint_down: Some(s.token_endpoint_down),
            malformed_token_body: Some(s.malformed_token_body),
            token_answer_lost: Some(s.token_answer_lost),
            socket_drop_rate: Some(s.socket_drop_rate),
            socket_delay_ms: Some(u64::try_from(s.socket_delay.as_millis()).unwrap_or(u64::MAX)),
            sparse_users: Some(s.sparse_users),
            seed: None,
        }
    }
}

impl FaultsBody {
    /// Applies the fields that are present to `settings`.
    pub fn apply_to(&self, settings: &mut FaultSettings) {
        if let Some(ms) = self.latency_ms {
            settings.latency = Duration::from_millis(ms);
        }
        if let Some(r) = self.error_rate {
            settings.error_rate = r;
        }
        if let Some(r) = self.rate_limit_rate {
            settings.rate_limit_rate = r;
        }
        if let Some(d) = self.token_endpoint_down {
            settings.token_endpoint_down = d;
        }
        if let Some(m) = self.malformed_token_body {
            settings.malformed_token_body = m;
        }
        if let Some(l) = self.token_answer_lost {
            settings.token_answer_lost = l;
        }
        if let Some(r) = self.socket_drop_rate {
            settings.socket_drop_rate = r;
        }
        if let Some(ms) = self.socket_delay_ms {
            settings.socket_delay = Duration::from_millis(ms);
        }
        if let Some(sparse) = self.sparse_users {
            settings.sparse_users = sparse;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_clamped_and_nan_is_zero() {
        let f = Faults::default();
        f.set_error_rate(7.0);
        assert_eq!(f.get().error_rate, 1.0);
        f.set_rate_limit_rate(f64::NAN);
        assert_eq!(f.get().rate_limit_rate, 0.0);
        assert!(f.roll_error());
        assert!(!f.roll_rate_limit());
    }

    #[test]
    fn a_seed_makes_the_draws_repeat() {
        let draws = |f: &Faults| {
            f.set_error_rate(0.5);
            (0..64).map(|_| f.roll_error()).collect::<Vec<_>>()
        };
        let (a, b) = (Faults::default(), Faults::default());
        a.reseed(42);
        b.reseed(42);
        let first = draws(&a);
        assert_eq!(first, draws(&b));
        // Half the rate: some of each, not all one way.
        assert!(first.iter().any(|d| *d) && first.iter().any(|d| !*d));
        b.reseed(43);
        assert_ne!(first, draws(&b));
    }

    #[test]
    fn partial_body_keeps_other_fields() {
        let mut s = FaultSettings {
            token_endpoint_down: true,
            ..Default::default()
        };
        let body: FaultsBody = serde_json::from_str(r#"{"latencyMs":250}"#).unwrap();
        body.apply_to(&mut s);
        assert_eq!(s.latency, Duration::from_millis(250));
        assert!(s.token_endpoint_down);
    }
}
