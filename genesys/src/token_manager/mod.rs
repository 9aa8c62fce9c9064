//! The client-credentials token manager: one valid, validated token for the app's own calls to
//! Genesys Cloud, refreshed in the background, fetched single-flight, rotated with draining.
//!
//! - [`TokenManager::get_token`] reads the current token without a lock (arc-swap) while it is
//!   valid beyond the safety margin; otherwise the callers share one token request.
//! - A background task refreshes at expiry − buffer − random jitter, backs off with jitter on
//!   failure, keeps serving the current token until it truly expires, and stops asking (and
//!   says so loudly) when the client is refused (`invalid_client`) or a token lacks a scope.
//! - Every new token is checked with `GET /api/v2/tokens/me` (Genesys tokens are opaque).
//! - [`TokenManager::acquire`] pins a token for a request; [`TokenManager::rotate`] swaps in a
//!   new one at once and returns a [`DrainHandle`] that completes when the last request
//!   holding the old one has finished (woken by the guards' `Drop`, never polled).
//! - Audit records go to `tracing` (target [`AUDIT_TARGET`]) and, optionally, to a signed
//!   webhook; metrics for a `prometheus-client` registry ([`TokenManager::prometheus_collector`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use genesys::{
//!     ClientCredentialsSource, ClientId, ClientOptions, ClientSecret, Environment, GenesysClient,
//!     TokenManager, TokenManagerConfig,
//! };
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let client = GenesysClient::new(Environment::from_region("mypurecloud.ie")?, ClientOptions::default())?;
//! let source = ClientCredentialsSource::new(
//!     client.clone(),
//!     ClientId::new("service-client-id"),
//!     ClientSecret::new("service-client-secret"),
//!     vec!["users:readonly".into()],
//! );
//! let manager = TokenManager::start(Arc::new(source), TokenManagerConfig::new(["users:readonly"]))?;
//!
//! // A request pins its token; a 401 with it triggers one rotation for everyone.
//! let guard = manager.acquire().await?;
//! match client.users_me(guard.token(), &[]).await {
//!     Err(e) if e.is_unauthorized() => {
//!         let _drain = manager.report_unauthorized(&guard).await?;
//!     }
//!     other => drop(other),
//! }
//! drop(guard);
//! manager.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod audit;
mod config;
mod error;
mod guard;
mod inner;
mod metrics;
mod refresh;
mod rotation;
mod source;
mod status;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::secret::AccessToken;

pub use audit::{AuditEvent, AuditKind, AUDIT_TARGET};
pub use config::TokenManagerConfig;
pub use error::{AcquireError, StartError};
pub use guard::{DrainHandle, TokenGuard};
pub use metrics::escape_label as escape_metric_label;
pub use refresh::Trigger;
pub use source::{check_token_info, ClientCredentialsSource, TokenSource};
pub use status::{DrainingToken, ManagerState, MetricsCollector, TokenManagerStatus};
pub use webhook::{
    sign_webhook_body, verify_webhook_signature, WebhookConfig, WebhookError, WebhookSecret,
    WEBHOOK_EVENT_ID_HEADER, WEBHOOK_EVENT_KIND_HEADER, WEBHOOK_SIGNATURE_HEADER,
};

use inner::{lock, Inner, Tasks};
use metrics::Metrics;
use refresh::run_background;

/// The target of the manager's operational (non-audit) log lines.
const LOG_TARGET: &str = "genesys::token_manager";

/// Keeps one validated client-credentials token fresh. See the module documentation.
pub struct TokenManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("client_id", &self.inner.client_id)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// Starts the manager (and its background task, and the webhook sender when configured).
    /// Must be called within a tokio runtime. With background refresh on, the first token is
    /// requested at once.
    pub fn start(
        source: Arc<dyn TokenSource>,
        config: TokenManagerConfig,
    ) -> Result<Arc<TokenManager>, StartError> {
        if config.retry_base_delay.is_zero() {
            return Err(StartError::InvalidConfig(
                "retry_base_delay must be above zero",
            ));
        }
        if config.retry_max_delay < config.retry_base_delay {
            return Err(StartError::InvalidConfig(
                "retry_max_delay must be at least retry_base_delay",
            ));
        }
        if config.attention_retry.is_some_and(|d| d.is_zero()) {
            return Err(StartError::InvalidConfig(
                "attention_retry must be above zero",
            ));
        }
        let metrics = Arc::new(Metrics::default());
        let mut tasks = Tasks::default();
        let webhook = match config.webhook.clone() {
            Some(webhook_config) => {
                let (sender, task) = webhook::spawn(webhook_config, Arc::clone(&metrics))?;
                tasks.webhook = Some(task);
                Some(sender)
            }
            None => None,
        };
        let inner = Arc::new(Inner::new(source, config, metrics, webhook));
        if inner.config.background_refresh {
            tasks.background = Some(tokio::spawn(run_background(Arc::clone(&inner))));
        }
        *lock(&inner.tasks) = tasks;
        Ok(Arc::new(TokenManager { inner }))
    }

    /// The OAuth client whose tokens this manager holds.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The settings in force.
    pub fn config(&self) -> &TokenManagerConfig {
        &self.inner.config
    }

    /// The current token if it is valid beyond the safety margin; lock-free, never waits.
    pub fn current_token(&self) -> Option<AccessToken> {
        let current = self.inner.current.load();
        match current.as_deref() {
            Some(issued) if Instant::now() < issued.usable_until => Some(issued.token.clone()),
            _ => None,
        }
    }

    /// A valid token. Lock-free while the current token is valid beyond the safety margin;
    /// otherwise every caller waits on the same single token request and gets its result
    /// (the new token, or the same error; or the old token while it has not truly expired).
    pub async fn get_token(&self) -> Result<AccessToken, AcquireError> {
        if let Some(token) = self.current_token() {
            return Ok(token);
        }
        let issued = self.inner.slow_path().await?;
        Ok(issued.token.clone())
    }

    /// A valid token pinned for one request: a rotation does not count the request finished
    /// before the guard is dropped.
    pub async fn acquire(&self) -> Result<TokenGuard, AcquireError> {
        loop {
            let candidate = match self.inner.current.load_full() {
                Some(issued) if Instant::now() < issued.usable_until => issued,
                _ => self.inner.slow_path().await?,
            };
            if let Some(guard) = TokenGuard::pin(&self.inner, candidate) {
                return Ok(guard);
            }
            // Replaced between reading and pinning: take the new one.
        }
    }

    /// Forces a new token (an admin's "rotate now"; also retries at once after a failure
    /// that needs attention). New requests get the new token as soon as this returns; the
    /// handle completes when every request still holding the old token has finished.
    pub async fn rotate(&self) -> Result<DrainHandle, AcquireError> {
        self.inner.rotate(Trigger::Admin, None).await
    }

    /// Reports a 401 seen with `guard`'s token. If it is still the current token, it is
    /// rotated once, however many requests report it; if it was already replaced, nothing is
    /// requested. Drop the guard, then `acquire` again to retry. The handle completes when
    /// the old token's last guard (this one included) is dropped.
    pub async fn report_unauthorized(
        &self,
        guard: &TokenGuard,
    ) -> Result<DrainHandle, AcquireError> {
        self.inner
            .rotate(Trigger::Unauthorized, Some(Arc::clone(&guard.issued)))
            .await
    }

    /// Stops the background task and waits for it, stops tracking drains, and gives the
    /// webhook sender up to its timeout to deliver what is queued. A valid token is still
    /// served afterwards; no new one is requested.
    pub async fn shutdown(&self) {
        self.inner.signal_stop();
        let tasks = std::mem::take(&mut *lock(&self.inner.tasks));
        for drain in &tasks.drains {
            drain.abort();
        }
        if let Some(background) = tasks.background {
            let _ = background.await;
        }
        if let Some(mut webhook) = tasks.webhook {
            let grace = self
                .inner
                .config
                .webhook
                .as_ref()
                .map_or(Duration::from_secs(5), |w| w.timeout);
            if tokio::time::timeout(grace, &mut webhook).await.is_err() {
                webhook.abort();
            }
        }
    }
}

impl Drop for TokenManager {
    fn drop(&mut self) {
        self.inner.signal_stop();
    }
}
