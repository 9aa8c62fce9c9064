//! The router: the server's routes and Leptos' pages, under the layers every request passes
//! through, outermost first: trace span, request scope, timeout, concurrency, header and body
//! limits, security headers, CSRF check, session, session into the scope.

use axum::{
    body::Body,
    middleware::{from_fn, from_fn_with_state},
    routing::{get, post},
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::{
    compression::{predicate::DefaultPredicate, CompressionLayer, Predicate},
    limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use app::{shell, App};

use super::storage::Sessions;
use crate::{
    config::{Config, GUEST_IDP_PATH},
    middleware,
    routes::{self, auth, embed, export, health},
    scope, ServerState,
};

/// The largest request body accepted (forms and server-function arguments are small).
const MAX_BODY: usize = 256 * 1024;

pub fn router(config: &Config, state: ServerState, sessions: Sessions) -> Router {
    let portal = state.portal.clone();
    let site = state.site.clone();
    let options = state.leptos_options.clone();
    let replica: std::sync::Arc<str> = config.replica_id.as_str().into();
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", post(auth::logout))
        .route("/embed", get(embed::entry))
        .route("/embed/popup", get(embed::popup).post(embed::popup_start))
        .route("/embed/done", get(embed::done))
        .route("/embed/exchange", post(embed::exchange))
        .route("/embed/signed-out", get(embed::signed_out))
        .route("/guest/chat/start", post(auth::start_guest_chat))
        .route("/guest/callback", get(auth::guest_chat_callback))
        .route("/api/{*fn_name}", post(routes::server_fns))
        .route("/export/{id}/users.csv", get(export::download))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .nest_service(GUEST_IDP_PATH, portal.guest_idp.router())
        .leptos_routes_with_context(
            &state,
            page_routes(),
            {
                let portal = portal.clone();
                move || provide_context(portal.clone())
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<ServerState, _>(shell))
        .layer(from_fn(middleware::server_fn_status))
        .layer(from_fn(scope::scope_session))
        .layer(from_fn(middleware::touch_session))
        .layer(session_layer(config, sessions))
        .layer(from_fn(middleware::store_unavailable))
        .layer(from_fn_with_state(site.clone(), middleware::require_same_origin))
        .layer(from_fn_with_state(site, middleware::security_headers))
        .layer(from_fn(middleware::mark_uncompressed))
        .layer(compression())
        .layer(from_fn_with_state(embed_rules(config, &portal), middleware::embedded))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(from_fn(middleware::close_after_refused_body))
        .layer(from_fn(middleware::limit_headers))
        .layer(from_fn_with_state(
            std::sync::Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_requests)),
            middleware::limit_concurrency,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            config.request_timeout,
        ))
        .layer(from_fn_with_state(Some(portal), scope::scope_requests))
        // Outside the scope, so a panic's 500 and a timeout's 504 are counted as answered.
        .layer(from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        // Spans name the path only: query strings carry authorization codes and states.
        // Every line names the replica, so that logs gathered from several can be told apart.
        .layer(TraceLayer::new_for_http().make_span_with(move |request: &axum::http::Request<Body>| {
            tracing::info_span!("request", replica = %replica, method = %request.method(), path = %request.uri().path())
        }))
        .with_state(state)
}

/// Brotli or gzip, as the request's `Accept-Encoding` prefers, for pages, server-function
/// answers and files that were not precompressed (a release build serves its `.br`/`.gz`
/// siblings as they are). Brotli at quality 4 and gzip at 6: near their best ratio for text at a
/// fraction of the CPU of their maximum levels.
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .no_deflate()
        .no_zstd()
        .compress_when(DefaultPredicate::new().and(middleware::Compressible))
}

/// The app's page routes, generated once per process. Generating them renders the app with
/// resource loading switched off process-wide (leptos_server's `SuppressResourceLoad` is a
/// global flag), so a page rendering meanwhile, for another portal in the same process, would
/// wait forever for its data.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The session cookie's name: with the `__Host-` prefix unless the site is plain-HTTP loopback.
fn session_cookie(config: &Config) -> &'static str {
    if config.secure_cookie() {
        "__Host-portal-session"
    } else {
        "portal-session"
    }
}

/// Embedded mode's rules (see `middleware::embedded`), when it is on.
fn embed_rules(
    config: &Config,
    portal: &app::backend::portal::Portal,
) -> Option<std::sync::Arc<middleware::EmbedRules>> {
    let embed = portal.embed.as_ref()?;
    Some(std::sync::Arc::new(middleware::EmbedRules {
        frame_ancestors: embed.settings.frame_ancestors(),
        session_cookie: session_cookie(config),
    }))
}

/// The session cookie: `HttpOnly; SameSite=Lax; Path=/`, `Secure` with the `__Host-` prefix
/// unless the site is plain-HTTP loopback; it expires after the idle timeout.
fn session_layer(config: &Config, sessions: Sessions) -> SessionManagerLayer<Sessions> {
    let secure = config.secure_cookie();
    SessionManagerLayer::new(sessions)
        .with_name(session_cookie(config))
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            config.idle_timeout.as_secs() as i64,
        )))
        // Saved only when changed: `middleware::touch_session` changes it when the idle
        // deadline is more than a minute old, so a user who only reads is not signed out 30
        // minutes after signing in, and reading pages does not write the store each time.
        .with_always_save(false)
}
