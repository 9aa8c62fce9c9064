//! Liveness and readiness probes.

use std::sync::Arc;

use app::backend::portal::Portal;
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
};

/// GET /healthz: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// GET /readyz: the portal can serve: its session store answers and, when configured, the
/// token manager holds a valid token.
pub async fn readyz(State(portal): State<Arc<Portal>>) -> impl IntoResponse {
    if !portal.grants.ping().await {
        return (StatusCode::SERVICE_UNAVAILABLE, "session store unreachable");
    }
    if portal.service.as_ref().is_some_and(|m| !m.healthy()) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the client-credentials token manager has no valid token",
        );
    }
    (StatusCode::OK, "ready")
}

/// GET /metrics: Prometheus text (the token manager's metrics, and the portal's own).
pub async fn metrics(State(portal): State<Arc<Portal>>) -> impl IntoResponse {
    let mut body = String::new();
    body.push_str(
        "# HELP portal_up The portal process is up.\n# TYPE portal_up gauge\nportal_up 1\n",
    );
    body.push_str("# HELP portal_session_store_up Whether the session store answers.\n# TYPE portal_session_store_up gauge\n");
    body.push_str(&format!(
        "portal_session_store_up {}\n",
        u8::from(portal.grants.ping().await)
    ));
    body.push_str(&crate::scope::render_prometheus());
    if let Some(manager) = &portal.service {
        body.push_str(&manager.render_prometheus());
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}
