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
//!   webhook; metrics render as Prometheus text ([`TokenManager::render_prometheus`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use genesys::token_manager::{ClientCredentialsSource, TokenManager, TokenManagerConfig};
//! use genesys::{ClientId, ClientOptions, ClientSecret, Environment, GenesysClient};
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
mod metrics;
mod source;
pub mod webhook;

use std::collections::VecDeque;
use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use futures::future::{BoxFuture, FutureExt, Shared};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use crate::api::ApiError;
use crate::oauth::{ClientId, OAuthError};
use crate::secret::AccessToken;
use crate::wire::TokenInfo;

pub use audit::{AuditEvent, AuditKind, AUDIT_TARGET};
pub use source::{ClientCredentialsSource, TokenSource};
pub use webhook::{WebhookConfig, WebhookError, WebhookSecret};

use metrics::{Gauges, Metrics};

/// The target of the manager's operational (non-audit) log lines.
const LOG_TARGET: &str = "genesys::token_manager";

// ---------------------------------------------------------------------------------------------
// Configuration, states and errors

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
    /// [`TokenManager::rotate`] is called.
    pub attention_retry: Option<Duration>,
    /// Whether a background task keeps the token fresh (off: tokens are fetched on demand).
    pub background_refresh: bool,
    /// Whether a token rotated out by an admin is revoked once its last request finished.
    pub revoke_after_drain: bool,
    /// Audit events kept for [`TokenManager::snapshot`].
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

    fn is_rotation(self) -> bool {
        matches!(self, Trigger::Admin | Trigger::Unauthorized)
    }
}

/// Why no token could be had. Cloned to every caller that waited on the same request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AcquireError {
    /// The token request failed.
    #[error(transparent)]
    Token(#[from] OAuthError),
    /// The new token could not be checked with `/api/v2/tokens/me`, so it was not used.
    #[error("the new token could not be checked with /api/v2/tokens/me: {0}")]
    Inspect(Box<ApiError>),
    /// The token belongs to another OAuth client.
    #[error("the token belongs to OAuth client {actual}, not {expected}")]
    WrongClient {
        /// The configured client.
        expected: String,
        /// The client `/api/v2/tokens/me` named.
        actual: String,
    },
    /// The token lacks required scopes.
    #[error("the token lacks the required scope(s) {}", missing.join(", "))]
    MissingScope {
        /// The required scopes not granted.
        missing: Vec<String>,
        /// The scopes the token has.
        granted: Vec<String>,
    },
    /// The manager was shut down.
    #[error("the token manager is stopped")]
    Stopped,
    /// The token request's task ended without an answer (it panicked).
    #[error("the token request was interrupted")]
    Interrupted,
}

impl AcquireError {
    /// A short, stable reason for metrics and audit records.
    pub fn reason(&self) -> &'static str {
        match self {
            AcquireError::Token(e) => match e {
                OAuthError::Token { error, .. } => match error.as_str() {
                    "invalid_client" => "invalid_client",
                    "invalid_scope" => "invalid_scope",
                    "unauthorized_client" => "unauthorized_client",
                    "invalid_grant" => "invalid_grant",
                    _ => "token_refused",
                },
                OAuthError::RateLimited { .. } => "rate_limited",
                OAuthError::Malformed(_) => "malformed",
                OAuthError::Timeout => "timeout",
                OAuthError::Transport(_) => "transport",
                OAuthError::Upstream { .. } => "upstream",
            },
            AcquireError::Inspect(_) => "inspect_failed",
            AcquireError::WrongClient { .. } => "wrong_client",
            AcquireError::MissingScope { .. } => "missing_scope",
            AcquireError::Stopped => "stopped",
            AcquireError::Interrupted => "interrupted",
        }
    }

    /// Whether retrying cannot help until someone changes the configuration: the client is
    /// refused, or its tokens are not what is required.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self.reason(),
            "invalid_client"
                | "invalid_scope"
                | "unauthorized_client"
                | "wrong_client"
                | "missing_scope"
        )
    }

    /// Whether a token was obtained but refused by validation.
    pub fn is_refused_token(&self) -> bool {
        matches!(
            self,
            AcquireError::WrongClient { .. } | AcquireError::MissingScope { .. }
        )
    }
}

/// Why the manager could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The webhook could not be set up.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// A setting is out of range.
    #[error("invalid token manager setting: {0}")]
    InvalidConfig(&'static str),
}

/// Checks what `/api/v2/tokens/me` said about a new token: the expected OAuth client and every
/// required scope (`x:readonly` is also satisfied by `x`).
pub fn check_token_info(
    info: &TokenInfo,
    client_id: &ClientId,
    required_scopes: &[String],
) -> Result<(), AcquireError> {
    if info.oauth_client.id != client_id.as_str() {
        return Err(AcquireError::WrongClient {
            expected: client_id.as_str().to_owned(),
            actual: info.oauth_client.id.clone(),
        });
    }
    let granted = &info.authorized_scope;
    let missing: Vec<String> = required_scopes
        .iter()
        .filter(|required| !scope_granted(required, granted))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AcquireError::MissingScope {
            missing,
            granted: granted.clone(),
        })
    }
}

fn scope_granted(required: &str, granted: &[String]) -> bool {
    granted.iter().any(|g| g == required)
        || required
            .strip_suffix(":readonly")
            .is_some_and(|full| granted.iter().any(|g| g == full))
}

// ---------------------------------------------------------------------------------------------
// Status for the service page

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

// ---------------------------------------------------------------------------------------------
// The manager

/// One accepted token and what the manager knows about it.
struct IssuedToken {
    token: AccessToken,
    generation: u64,
    expires_at: Instant,
    /// `expires_at` minus the safety margin: the lock-free path hands the token out before.
    usable_until: Instant,
    refresh_at: Instant,
    /// The attempt (consecutive) that obtained it.
    attempt: u32,
    /// Guards alive on this token.
    pins: AtomicUsize,
    /// Set once another token replaced it; from then on it takes no new guards.
    retired: AtomicBool,
    /// Woken when the last guard of a retired token is dropped.
    drained: Notify,
}

impl IssuedToken {
    /// Takes a guard's pin, unless the token was replaced meanwhile. The increment and the
    /// check are ordered against `retire` + `wait_drained` (SeqCst), so either the waiter sees
    /// this pin or this call sees the retirement.
    fn pin(&self) -> bool {
        self.pins.fetch_add(1, Ordering::SeqCst);
        if self.retired.load(Ordering::SeqCst) {
            self.unpin();
            return false;
        }
        true
    }

    fn unpin(&self) {
        if self.pins.fetch_sub(1, Ordering::SeqCst) == 1 && self.retired.load(Ordering::SeqCst) {
            self.drained.notify_waiters();
        }
    }

    fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
    }

    /// Completes once no guard holds this (retired) token.
    async fn wait_drained(&self) {
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

type FlightResult = Result<Arc<IssuedToken>, AcquireError>;
type SharedFlight = Shared<BoxFuture<'static, FlightResult>>;

/// The one token request in flight.
struct Flight {
    id: u64,
    result: SharedFlight,
    /// Whether a rotation already owns this request's outcome (its audit record and drain).
    rotation_claimed: bool,
}

struct Stats {
    consecutive_failures: u32,
    /// No new request before this (after a failure); `None` with an error: none until asked.
    retry_not_before: Option<Instant>,
    /// The unresolved failure, if any.
    last_error: Option<AcquireError>,
    last_refresh: Option<SystemTime>,
    /// Recent outcomes, `true` for a failure.
    outcomes: VecDeque<bool>,
    events: audit::EventRing,
    draining: Vec<Arc<IssuedToken>>,
}

#[derive(Default)]
struct Tasks {
    background: Option<JoinHandle<()>>,
    webhook: Option<JoinHandle<()>>,
    drains: Vec<JoinHandle<()>>,
}

struct Inner {
    source: Arc<dyn TokenSource>,
    config: TokenManagerConfig,
    client_id: String,
    current: ArcSwapOption<IssuedToken>,
    flight: Mutex<Option<Flight>>,
    stats: Mutex<Stats>,
    metrics: Arc<Metrics>,
    generations: AtomicU64,
    flight_ids: AtomicU64,
    /// Tells the background task to look at its schedule again.
    wake: Notify,
    /// Tells the background task to stop.
    stop: Notify,
    stopped: AtomicBool,
    webhook: Mutex<Option<mpsc::Sender<AuditEvent>>>,
    tasks: Mutex<Tasks>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The wall-clock time (Unix seconds) of monotonic instant `at`.
fn unix_secs_of(at: Instant, now: Instant, wall_now: SystemTime) -> u64 {
    let wall = if at >= now {
        wall_now + (at - now)
    } else {
        wall_now - (now - at)
    };
    unix_ms(wall) / 1000
}

fn random_up_to(max: Duration) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rand::thread_rng().gen_range(0..=nanos))
}

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
        let inner = Arc::new(Inner {
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
        });
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

    /// The manager's metrics in the Prometheus text format (append it to `/metrics`).
    pub fn render_prometheus(&self) -> String {
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
        inner.metrics.render(&Gauges {
            client_id: &inner.client_id,
            state: state.as_str(),
            all_states: &all_states,
            seconds_until_expiry,
            error_rate,
            draining_tokens,
        })
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

/// A token pinned for one request. Rotations wait for it to be dropped.
pub struct TokenGuard {
    issued: Arc<IssuedToken>,
    inner: Arc<Inner>,
}

impl TokenGuard {
    fn pin(inner: &Arc<Inner>, issued: Arc<IssuedToken>) -> Option<TokenGuard> {
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
    old: Option<Arc<IssuedToken>>,
    new_generation: u64,
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

fn error_rate(stats: &Stats) -> f64 {
    if stats.outcomes.is_empty() {
        return 0.0;
    }
    let failures = stats.outcomes.iter().filter(|failed| **failed).count();
    failures as f64 / stats.outcomes.len() as f64
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
    fn signal_stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop.notify_one();
        // Dropping the sender lets the webhook task finish what is queued and end.
        lock(&self.webhook).take();
    }

    fn state_with(&self, stats: &Stats, now: Instant) -> ManagerState {
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

    /// The current token if unexpired (margin or not).
    fn unexpired(&self, now: Instant) -> Option<Arc<IssuedToken>> {
        self.current
            .load_full()
            .filter(|issued| now < issued.expires_at)
    }

    /// The path taken when the current token is missing or inside its margin: join the
    /// request in flight, or start one unless a failure asked to wait.
    async fn slow_path(self: &Arc<Self>) -> FlightResult {
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
    fn blocked_until_retry(&self, now: Instant) -> Option<AcquireError> {
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
    fn join_or_start_if_due(self: &Arc<Self>) -> Option<SharedFlight> {
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
    fn start_flight(self: &Arc<Self>, slot: &mut Option<Flight>, trigger: Trigger) -> SharedFlight {
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

    /// Records that `new` replaced `old` by force, and starts tracking `old`'s drain.
    fn record_rotation(
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
        stats.retry_not_before = wait.map(|wait| now + wait);
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
    /// half, or the token endpoint's `Retry-After` when longer.
    fn backoff(&self, attempt: u32, error: &AcquireError) -> Duration {
        let ceiling = self
            .config
            .retry_base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.config.retry_max_delay);
        let wait = ceiling / 2 + random_up_to(ceiling / 2);
        match error {
            AcquireError::Token(OAuthError::RateLimited { retry_after }) => wait.max(*retry_after),
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

    /// An event with the common fields filled in.
    fn event(&self, stats: &Stats, kind: AuditKind, now: Instant) -> AuditEvent {
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
    fn emit(&self, stats: &mut Stats, event: AuditEvent) {
        audit::record(&event);
        if let Some(sender) = lock(&self.webhook).as_ref() {
            if sender.try_send(event.clone()).is_err() {
                self.metrics.webhook_dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: LOG_TARGET, event_id = %event.id, "webhook queue full; event dropped");
            }
        }
        stats.events.push(event);
    }

    async fn rotate(
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

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The background task: sleeps until the next refresh or retry, joins (or starts) the token
/// request, and starts over; woken early whenever a token request finishes elsewhere.
async fn run_background(inner: Arc<Inner>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{EntityRef, OAuthClientRef};

    fn info(client: &str, scopes: &[&str]) -> TokenInfo {
        TokenInfo {
            organization: EntityRef {
                id: "org".into(),
                name: None,
                self_uri: None,
            },
            home_organization: None,
            authorized_scope: scopes.iter().map(|s| s.to_string()).collect(),
            cloned_user: None,
            date_token_idles: None,
            oauth_client: OAuthClientRef {
                id: client.into(),
                name: None,
                organization: None,
                self_uri: None,
            },
        }
    }

    #[test]
    fn token_info_must_name_the_client_and_every_scope() {
        let client = ClientId::new("svc");
        let required = vec!["users:readonly".to_string(), "analytics".to_string()];
        assert_eq!(
            check_token_info(
                &info("svc", &["users:readonly", "analytics"]),
                &client,
                &required
            ),
            Ok(())
        );
        // The read-write scope covers its read-only form, not the other way round.
        assert_eq!(
            check_token_info(&info("svc", &["users", "analytics"]), &client, &required),
            Ok(())
        );
        assert_eq!(
            check_token_info(
                &info("svc", &["users:readonly", "analytics:readonly"]),
                &client,
                &required
            ),
            Err(AcquireError::MissingScope {
                missing: vec!["analytics".into()],
                granted: vec!["users:readonly".into(), "analytics:readonly".into()],
            })
        );
        let wrong = check_token_info(
            &info("other", &["users:readonly", "analytics"]),
            &client,
            &required,
        )
        .unwrap_err();
        assert_eq!(wrong.reason(), "wrong_client");
        assert!(wrong.needs_attention() && wrong.is_refused_token());
        assert_eq!(check_token_info(&info("svc", &[]), &client, &[]), Ok(()));
    }

    #[test]
    fn reasons_and_attention() {
        let refused = |error: &str| {
            AcquireError::Token(OAuthError::Token {
                status: 401,
                error: error.into(),
                description: None,
            })
        };
        assert_eq!(refused("invalid_client").reason(), "invalid_client");
        assert!(refused("invalid_client").needs_attention());
        assert!(refused("invalid_scope").needs_attention());
        assert_eq!(refused("temporarily_unavailable").reason(), "token_refused");
        assert!(!refused("temporarily_unavailable").needs_attention());
        assert!(!AcquireError::Token(OAuthError::Timeout).needs_attention());
        assert_eq!(
            AcquireError::Token(OAuthError::Upstream { status: 503 }).reason(),
            "upstream"
        );
        let missing = AcquireError::MissingScope {
            missing: vec!["users".into(), "x".into()],
            granted: vec![],
        };
        assert_eq!(
            missing.to_string(),
            "the token lacks the required scope(s) users, x"
        );
    }

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
