//! What the sandbox was asked: request arrivals per path, and token requests per grant type,
//! counted when they arrive (before any injected latency or fault answers them). Tests assert
//! these counts ("retried five times", "one refresh for twenty pages") instead of timing calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::config::Grant;

/// Distinct paths kept; arrivals at further paths are counted under [`OTHER_PATHS`].
const MAX_PATHS: usize = 1024;
/// The key for arrivals past [`MAX_PATHS`] distinct paths.
pub const OTHER_PATHS: &str = "(other)";

/// The counters; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Stats {
    inner: Arc<Mutex<Counts>>,
}

/// A snapshot, as `GET /sandbox/stats` answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Requests per URL path (query excluded), the admin endpoint's own excepted.
    pub requests: HashMap<String, u64>,
    /// `POST /oauth/token` requests per `grant_type` as sent (`(none)` when absent,
    /// `(other)` for a value that is not a grant the sandbox knows).
    pub token_requests: HashMap<String, u64>,
    /// Refresh tokens presented again after they were rotated away: each one revoked its grant
    /// (RFC 9700 §4.14.2). A client that refreshes single-flight never causes one.
    pub refresh_token_reuses: u64,
}

impl Stats {
    pub(crate) fn request(&self, path: &str) {
        let mut c = self.lock();
        let key = if c.requests.contains_key(path) || c.requests.len() < MAX_PATHS {
            path
        } else {
            OTHER_PATHS
        };
        *c.requests.entry(key.to_string()).or_default() += 1;
    }

    /// Counts a token request from its form body.
    pub(crate) fn token_request(&self, body: &[u8]) {
        let grant = url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.into_owned());
        let key = match grant.as_deref() {
            None => "(none)",
            Some(g @ ("authorization_code" | "refresh_token" | "client_credentials")) => g,
            Some(_) => "(other)",
        };
        *self.lock().token_requests.entry(key.into()).or_default() += 1;
    }

    /// Counts a spent refresh token presented again.
    pub(crate) fn refresh_token_reused(&self) {
        self.lock().refresh_token_reuses += 1;
    }

    /// Spent refresh tokens presented again so far.
    pub fn refresh_token_reuses(&self) -> u64 {
        self.lock().refresh_token_reuses
    }

    /// Requests that arrived at `path` so far.
    pub fn requests(&self, path: &str) -> u64 {
        self.lock().requests.get(path).copied().unwrap_or(0)
    }

    /// Token requests for `grant` so far (the refused and faulted ones included).
    pub fn token_requests(&self, grant: Grant) -> u64 {
        let key = match grant {
            Grant::AuthorizationCode => "authorization_code",
            Grant::RefreshToken => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
        };
        self.lock().token_requests.get(key).copied().unwrap_or(0)
    }

    pub fn snapshot(&self) -> Counts {
        self.lock().clone()
    }

    /// Starts every count again from zero.
    pub fn reset(&self) {
        *self.lock() = Counts::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_paths_and_grant_types_and_bounds_the_paths_kept() {
        let s = Stats::default();
        s.request("/api/v2/users");
        s.request("/api/v2/users");
        s.token_request(b"grant_type=refresh_token&refresh_token=x");
        s.token_request(b"grant_type=password");
        s.token_request(b"code=x");
        assert_eq!(s.requests("/api/v2/users"), 2);
        assert_eq!(s.requests("/api/v2/users/me"), 0);
        assert_eq!(s.token_requests(Grant::RefreshToken), 1);
        assert_eq!(s.token_requests(Grant::ClientCredentials), 0);
        let snap = s.snapshot();
        assert_eq!(snap.token_requests["(other)"], 1);
        assert_eq!(snap.token_requests["(none)"], 1);
        for i in 0..2000 {
            s.request(&format!("/api/v2/users/{i}"));
        }
        let snap = s.snapshot();
        assert_eq!(snap.requests.len(), 1025);
        assert_eq!(snap.requests[OTHER_PATHS], 2000 - 1023);
        s.reset();
        assert_eq!(s.snapshot(), Counts::default());
    }
}
