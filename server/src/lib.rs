//! genesys-portal's server as a library: from a [`Config`], builds the shared state (session
//! store, Genesys client, the embedded sandbox when no org is configured) and the router.

pub mod auth;
pub mod config;
pub mod export;
pub mod health;
pub mod limits;
pub mod middleware;
pub mod scope;
pub mod shutdown;

use std::{sync::Arc, time::Duration};

use app::{
    directory::export::ExportJobs,
    session::GrantStore,
    shell,
    state::{AdminPolicy, Portal, SessionSettings},
    upstream::Upstream,
    App,
};
use axum::{
    body::Body,
    extract::{FromRef, Request, State},
    middleware::from_fn_with_state,
    response::IntoResponse,
    routing::{get, post},
    Router,
};
use genesys::{
    oauth::{ClientId, OAuthClientConfig},
    token_manager::{
        webhook::{WebhookConfig, WebhookSecret},
        ClientCredentialsSource, TokenManager, TokenManagerConfig,
    },
    ClientOptions, ClientSecret, Environment, GenesysClient,
};
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tower_http::{limit::RequestBodyLimitLayer, timeout::TimeoutLayer, trace::TraceLayer};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

use crate::{
    config::{Config, UpstreamConfig},
    limits::LoginLimiter,
    middleware::SiteOrigin,
};

/// The axum state: Leptos' options plus the portal and the server's own guards.
#[derive(Clone, FromRef)]
pub struct ServerState {
    pub leptos_options: LeptosOptions,
    pub portal: Arc<Portal>,
    pub limiter: LoginLimiter,
    pub site: SiteOrigin,
}

/// The upstream: a real org from the configuration, or the embedded sandbox started here.
async fn upstream(
    config: &Config,
) -> Result<
    (
        Environment,
        OAuthClientConfig,
        Upstream,
        Option<sandbox::RunningSandbox>,
    ),
    String,
> {
    let redirect_uri = config
        .public_url
        .join("/auth/callback")
        .map_err(|e| e.to_string())?;
    match &config.upstream {
        UpstreamConfig::Org(org) => {
            let (env, upstream) = match (&org.region, &org.login_url, &org.api_url) {
                (Some(region), _, _) => {
                    let env = Environment::from_region(region)
                        .map_err(|e| format!("GENESYS_REGION: {e}"))?;
                    let domain = env.region_domain().unwrap_or(region).to_string();
                    (env, Upstream::Region(domain))
                }
                (None, Some(login), Some(api)) => {
                    let env = Environment::custom(login, api)
                        .map_err(|e| format!("GENESYS_LOGIN_URL/GENESYS_API_URL: {e}"))?;
                    let host = env.api_base().host_str().unwrap_or("custom").to_string();
                    (env, Upstream::Custom(host))
                }
                _ => return Err("GENESYS_REGION is missing".into()),
            };
            let client = OAuthClientConfig {
                client_id: ClientId::new(org.client_id.clone()),
                client_secret: org.client_secret.clone().map(ClientSecret::new),
                redirect_uri,
            };
            Ok((env, client, upstream, None))
        }
        UpstreamConfig::Sandbox(s) => {
            let mut sandbox_config = sandbox::SandboxConfig {
                bind: ([127, 0, 0, 1], s.port).into(),
                users: s.users,
                seed: s.seed,
                rate_limit_per_minute: s.rate_limit_per_minute,
                state_file: Some(config.data_dir.join("sandbox-state.json")),
                ..Default::default()
            };
            let home = config.public_url.join("/").map_err(|e| e.to_string())?;
            for client in &mut sandbox_config.clients {
                client.redirect_uris.push(redirect_uri.to_string());
                client.logout_redirect_uris.push(home.to_string());
                if let Some(lifetime) = s.token_lifetime_secs {
                    client.token_lifetime_secs = lifetime;
                }
            }
            let (client_id, secret) = match s.client.as_str() {
                "pkce" => ("portal-pkce", None),
                "limited" => ("portal-limited", None),
                _ => ("portal-web", Some("sandbox-portal-secret")),
            };
            let running = sandbox::spawn(sandbox_config)
                .await
                .map_err(|e| format!("the embedded sandbox could not start: {e}"))?;
            let base = running.base_url();
            let env =
                Environment::custom(base.as_str(), base.as_str()).map_err(|e| e.to_string())?;
            tracing::info!(url = %base, client = client_id, "no Genesys Cloud org configured: using the embedded sandbox");
            let client = OAuthClientConfig {
                client_id: ClientId::new(client_id.to_string()),
                client_secret: secret.map(ClientSecret::new),
                redirect_uri,
            };
            Ok((env, client, Upstream::Sandbox, Some(running)))
        }
    }
}

async fn server_fn_handler(
    State(state): State<ServerState>,
    request: Request<Body>,
) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_context(state.portal.clone()), request).await
}

/// A built portal: the router to serve and the handles behind it.
pub struct Built {
    pub router: Router,
    pub portal: Arc<Portal>,
    /// The embedded sandbox, when no org is configured (stops when dropped).
    pub sandbox: Option<sandbox::RunningSandbox>,
}

fn fail<T>(errors: &[String]) -> Result<T, Vec<String>> {
    Err(errors.to_vec())
}

/// Builds the portal for `config`; every error names the setting or resource at fault.
pub async fn build(config: &Config, leptos_options: LeptosOptions) -> Result<Built, Vec<String>> {
    scope::install_executor();
    if let Err(e) = std::fs::create_dir_all(&config.data_dir) {
        return fail(&[format!(
            "PORTAL_DATA_DIR `{}` cannot be created: {e}",
            config.data_dir.display()
        )]);
    }
    let db_options = SqliteConnectOptions::new()
        .filename(config.data_dir.join("portal.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(db_options)
        .await
        .map_err(|e| {
            vec![format!(
                "the session database in `{}` cannot be opened: {e}",
                config.data_dir.display()
            )]
        })?;
    let session_store = SqliteStore::new(pool.clone());
    session_store
        .migrate()
        .await
        .map_err(|e| vec![format!("session database migration failed: {e}")])?;
    let grants = GrantStore::new(pool.clone())
        .await
        .map_err(|e| vec![format!("grant table: {e}")])?;
    {
        use tower_sessions::ExpiredDeletion;
        tokio::spawn(
            session_store
                .clone()
                .continuously_delete_expired(Duration::from_secs(60)),
        );
        let grants = grants.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(300));
            loop {
                tick.tick().await;
                if let Err(e) = grants.prune().await {
                    tracing::warn!(error = %e, "grant pruning failed");
                }
            }
        });
    }

    let (environment, oauth_client, upstream, _sandbox) =
        upstream(config).await.map_err(|e| vec![e])?;
    let options = ClientOptions {
        request_timeout: config.request_timeout.min(Duration::from_secs(20)),
        ..Default::default()
    };
    let genesys =
        GenesysClient::new(environment, options).map_err(|e| vec![format!("HTTP client: {e}")])?;

    let exports = Arc::new(
        ExportJobs::new(config.data_dir.join("exports")).map_err(|e| {
            vec![format!(
                "export folder in `{}`: {e}",
                config.data_dir.display()
            )]
        })?,
    );
    let service = match &config.service_client {
        Some(sc) => {
            let source = ClientCredentialsSource::new(
                genesys.clone(),
                ClientId::new(sc.client_id.clone()),
                ClientSecret::new(sc.client_secret.clone()),
                sc.scopes.clone(),
            );
            let mut manager_config = TokenManagerConfig::new(sc.scopes.clone());
            if let Some((url, secret)) = &config.webhook {
                manager_config.webhook = Some(WebhookConfig::new(
                    url.clone(),
                    WebhookSecret::new(secret.as_bytes().to_vec()),
                ));
            }
            let manager = TokenManager::start(Arc::new(source), manager_config).map_err(|e| {
                vec![format!(
                    "the client-credentials token manager cannot start: {e}"
                )]
            })?;
            Some(manager)
        }
        None => None,
    };
    let admins = match &config.admins {
        None => AdminPolicy::Everyone,
        Some(list) => AdminPolicy::Listed(list.clone()),
    };
    let secure_cookie = config.secure_cookie();
    let portal = Arc::new(Portal {
        genesys,
        oauth_client,
        upstream,
        scopes: config.scopes.clone(),
        org: config.org.clone(),
        provider: config.provider.clone(),
        public_origin: config.public_origin(),
        genesys_logout: config.genesys_logout,
        grants,
        exports,
        service,
        export_as_service: config.export_as_service,
        admins,
        settings: SessionSettings {
            idle_timeout: config.idle_timeout,
            absolute_timeout: config.absolute_timeout,
            pending_login_ttl: config.pending_login_ttl,
            ..Default::default()
        },
    });
    let site = SiteOrigin {
        origin: config.public_origin(),
        https: config.public_url.scheme() == "https",
    };
    let routes = generate_route_list(App);
    let state = ServerState {
        leptos_options: leptos_options.clone(),
        portal: portal.clone(),
        limiter: LoginLimiter::new(600, Duration::from_secs(60)),
        site: site.clone(),
    };

    let cookie_name = if secure_cookie {
        "__Host-portal-session"
    } else {
        "portal-session"
    };
    let session_layer = SessionManagerLayer::new(session_store)
        .with_name(cookie_name)
        .with_secure(secure_cookie)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            config.idle_timeout.as_secs() as i64,
        )));

    let app = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", post(auth::logout))
        .route("/api/{*fn_name}", post(server_fn_handler))
        .route("/export/{id}/users.csv", get(export::download))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let portal = portal.clone();
                move || provide_context(portal.clone())
            },
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<ServerState, _>(shell))
        .layer(axum::middleware::from_fn(scope::scope_session))
        .layer(session_layer)
        .layer(from_fn_with_state(
            site.clone(),
            middleware::require_same_origin,
        ))
        .layer(from_fn_with_state(site, middleware::security_headers))
        .layer(RequestBodyLimitLayer::new(256 * 1024))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            config.request_timeout,
        ))
        .layer(from_fn_with_state(Some(portal.clone()), scope::scope_requests))
        // Spans name the path only: query strings carry authorization codes and states.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<Body>| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(state);

    Ok(Built {
        router: app,
        portal,
        sandbox: _sandbox,
    })
}
