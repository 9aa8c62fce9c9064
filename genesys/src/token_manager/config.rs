//! How the token manager is set up: the scopes a token must carry, when it is refreshed, how
//! failures back off, and where its audit events go.

use std::time::Duration;

use super::webhook::WebhookConfig;

/// How the manager refreshes, retries and reports.
#[derive(Debug, Clone)]
pub struct TokenManagerConfig {
    /// Scopes every token must carry (checked with `GET /api/v2/tokens/me`). A `x:readonly`
    /// scope is also satisfied by `x`.
    pub required_scopes: Vec<String>,
    /// A token expiring within this margin is not handed out by the lock-free path: callers
    /// wait for a fresh one (and get the old one only if getting a new one fails). Capped at a
    /// quarter of the token's lifetime.
    pub safety_margin: Duration,
    /// The background refresh starts this long before expiry...
    pub refresh_buffer: Duration,
    /// ...plus a random extra in `0..=refresh_jitter`, so that replicas do not refresh in
    /// lockstep. Buffer and jitter together are capped at half the token's lifetime.
    pub refresh_jitter: Duration,
    /// The backoff ceiling after the first failure; it doubles per consecutive failure. The
    /// wait is half the ceiling plus up to the other half at random (or the token endpoint's
    /// `Retry-After`, when longer).
    pub retry_base_delay: Duration,
    /// The largest backoff ceiling.
    pub retry_max_delay: Duration,
    /// After a failure that retrying cannot fix (`invalid_client`, `invalid_scope`, a token
    /// of the wrong client or lacking a scope), one probe this often; `None`: none until
    /// [`TokenManager::rotate`](super::TokenManager::rotate) is called.
    pub attention_retry: Option<Duration>,
    /// Whether a background task keeps the token fresh (off: tokens are fetched on demand).
    pub background_refresh: bool,
    /// Whether a token rotated out by an admin is revoked once its last request finished.
    pub revoke_after_drain: bool,
    /// Audit events kept for [`TokenManager::snapshot`](super::TokenManager::snapshot).
    pub recent_events: usize,
    /// Attempts the running error rate is computed over.
    pub error_window: usize,
    /// Where lifecycle events are POSTed, if anywhere.
    pub webhook: Option<WebhookConfig>,
}

impl Default for TokenManagerConfig {
    /// No required scope, margin 60 s, refresh 5 min + up to 2 min before expiry, backoff
    /// 1 s doubling to 60 s, a probe every 15 min when attention is needed, background
    /// refresh on, revoke after drain, 50 recent events, error rate over 50 attempts.
    fn default() -> Self {
        TokenManagerConfig {
            required_scopes: Vec::new(),
            safety_margin: Duration::from_secs(60),
            refresh_buffer: Duration::from_secs(300),
            refresh_jitter: Duration::from_secs(120),
            retry_base_delay: Duration::from_secs(1),
            retry_max_delay: Duration::from_secs(60),
            attention_retry: Some(Duration::from_secs(15 * 60)),
            background_refresh: true,
            revoke_after_drain: true,
            recent_events: 50,
            error_window: 50,
            webhook: None,
        }
    }
}

impl TokenManagerConfig {
    /// The defaults, requiring `scopes`.
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TokenManagerConfig {
            required_scopes: scopes.into_iter().map(Into::into).collect(),
            ..TokenManagerConfig::default()
        }
    }
}
