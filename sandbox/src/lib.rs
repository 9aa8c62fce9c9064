//! A faithful local Genesys Cloud: the login host (`/oauth/*`, `/logout`) and the API host
//! (`/api/v2/*`) on one listener, speaking the `genesys` crate's wire types.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = sandbox::spawn(sandbox::SandboxConfig::default()).await?;
//! println!("Genesys Cloud sandbox at {}", sandbox.base_url());
//! sandbox.faults().set_error_rate(0.1);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod api;
pub mod clients;
mod config;
mod faults;
mod home;
mod images;
mod oauth;
mod org;
mod ratelimit;
mod respond;
mod stats;
mod store;
#[cfg(feature = "test-support")]
pub mod test_support;
mod webmessaging;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

pub use admin::ADMIN_HEADER;
pub use clients::{
    GUEST_IDP_CLIENT_ID, GUEST_IDP_CLIENT_SECRET, LIMITED_CLIENT_ID, PKCE_CLIENT_ID,
    SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, WEB_CLIENT_ID, WEB_CLIENT_SECRET,
};
pub use config::{
    ClientConfig, ClientsFile, FaultSettings, Grant, SandboxConfig, MAX_TOKEN_LIFETIME_SECS,
    MAX_USERS,
};
pub use faults::{Faults, FaultsBody};
pub use org::EMAIL_DOMAIN;
pub use stats::{Counts, Stats};
pub use webmessaging::{
    gateway_url, AgentScript, WebMessagingConfig, MAX_FRAME_BYTES, MAX_JWT_LIFETIME,
    MAX_MESSAGE_CHARS, MAX_REFRESH_LIFETIME, MAX_SOCKET_MESSAGE_BYTES, MIN_REFRESH_LIFETIME,
    WEB_DEPLOYMENT_ID,
};

use org::Org;
use ratelimit::RateLimiter;
use store::Store;

/// The shared state of one sandbox; cheap to clone. Build it with [`SandboxState::new`] and
/// serve it with [`router`].
#[derive(Clone)]
pub struct SandboxState {
    inner: Arc<Inner>,
}

struct Inner {
    clients: HashMap<String, ClientConfig>,
    org: Org,
    store: Mutex<Store>,
    limiter: RateLimiter,
    faults: Faults,
    stats: Stats,
    code_lifetime: Duration,
    public_base_url: Option<Url>,
    web_messaging: Option<Arc<webmessaging::WebMessaging>>,
}

impl SandboxState {
    /// Seeds the org, loads the state file (if any) and checks the configuration.
    pub fn new(config: &SandboxConfig) -> std::io::Result<Self> {
        config
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let store = Store::open(config.state_file.clone())?;
        let web_messaging = match &config.web_messaging {
            Some(wm) => Some(Arc::new(
                webmessaging::WebMessaging::new(wm)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
            )),
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                clients: config
                    .clients
                    .iter()
                    .map(|c| (c.id.clone(), c.clone()))
                    .collect(),
                org: Org::generate(config.users, config.seed),
                store: Mutex::new(store),
                limiter: RateLimiter::new(config.rate_limit_per_minute),
                faults: {
                    let faults = Faults::new(config.faults.clone());
                    if let Some(seed) = config.fault_seed {
                        faults.reseed(seed);
                    }
                    faults
                },
                stats: Stats::default(),
                code_lifetime: config.code_lifetime,
                public_base_url: config.public_base_url.clone(),
                web_messaging,
            }),
        })
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> Faults {
        self.inner.faults.clone()
    }

    /// Makes every access token issued so far expired (refresh tokens keep working).
    pub fn expire_tokens(&self) {
        self.store().expire_all_access();
    }

    /// What the sandbox was asked so far (see [`Stats`]).
    pub fn stats(&self) -> Stats {
        self.inner.stats.clone()
    }

    /// How many users the seeded org has.
    pub fn user_count(&self) -> usize {
        self.inner.org.len()
    }

    fn client(&self, id: &str) -> Option<&ClientConfig> {
        self.inner.clients.get(id)
    }

    fn org(&self) -> &Org {
        &self.inner.org
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // Store methods never leave it half-updated across a panic point that matters here.
        self.inner.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The sandbox's routes. Serve them with
/// `into_make_service_with_connect_info::<SocketAddr>()`: the admin endpoint needs the peer
/// address and refuses every request without one.
pub fn router(state: SandboxState) -> Router {
    let api = Router::new()
        .route("/api/v2/users", get(api::list_users))
        .route("/api/v2/users/me", get(api::users_me))
        .route(
            "/api/v2/users/search",
            post(api::search_users).get(api::search_users_q64),
        )
        .route("/api/v2/users/{user_id}", get(api::get_user))
        .route(
            "/api/v2/conversations/{conversation_id}",
            get(api::get_conversation),
        )
        .route(
            "/api/v2/tokens/me",
            get(api::tokens_me).delete(api::delete_tokens_me),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), api::guard));
    let mut router = Router::new();
    if state.inner.web_messaging.is_some() {
        router = router.merge(webmessaging::routes());
    }
    router
        .route("/", get(home::home))
        .route(
            "/oauth/authorize",
            get(oauth::authorize).post(oauth::decide),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/logout", get(oauth::logout))
        .route(
            "/sandbox/faults",
            get(admin::get_faults).put(admin::put_faults),
        )
        .route("/sandbox/expire-tokens", post(admin::expire_tokens))
        .route("/sandbox/issued-tokens", get(admin::issued_tokens))
        .route("/sandbox/conversations", get(admin::conversations))
        .route(
            "/sandbox/profile-images/{user_id}/{file}",
            get(images::profile_image),
        )
        .route(
            "/sandbox/stats",
            get(admin::get_stats).delete(admin::reset_stats),
        )
        .merge(api)
        .fallback(api::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), latency))
        .layer(middleware::from_fn(respond::correlation))
        .with_state(state)
}

/// Counts every request but the admin endpoint's, then adds the injected latency to it.
async fn latency(State(state): State<SandboxState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/sandbox/") {
        state.inner.stats.request(req.uri().path());
        let delay = state.inner.faults.latency();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    next.run(req).await
}

/// A sandbox serving on its own listener.
pub struct RunningSandbox {
    local_addr: SocketAddr,
    base_url: Url,
    state: SandboxState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Starts a sandbox on `config.bind` (port 0 picks a free port).
pub async fn spawn(config: SandboxConfig) -> std::io::Result<RunningSandbox> {
    let state = SandboxState::new(&config)?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let local_addr = listener.local_addr()?;
    let base_url = match &config.public_base_url {
        Some(url) => url.clone(),
        None => Url::parse(&format!("http://{local_addr}"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "the sandbox server stopped");
        }
    });
    Ok(RunningSandbox {
        local_addr,
        base_url,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}

impl RunningSandbox {
    /// `http://127.0.0.1:PORT/` (or the configured public URL): both the login and API host.
    pub fn base_url(&self) -> Url {
        self.base_url.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// What the sandbox was asked so far: requests per path, token requests per grant.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Makes every access token issued so far expired (refresh tokens keep working).
    pub fn expire_tokens(&self) {
        self.state.expire_tokens();
    }

    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// The Web Messaging gateway, `ws://HOST:PORT/v1?deploymentId=ID`, when configured.
    pub fn web_messaging_gateway_url(&self) -> Option<Url> {
        let wm = self.state.inner.web_messaging.as_ref()?;
        Some(gateway_url(&self.base_url, &wm.config.deployment_id))
    }

    /// Stops accepting connections and waits for the open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
