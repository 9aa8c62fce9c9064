//! Liveness and readiness probes.

use std::sync::Arc;

use app::state::Portal;
use axum::{extract::State, http::StatusCode, response::IntoResponse};

/// GET /healthz: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// GET /readyz: the portal can serve (its session store answers).
pub async fn readyz(State(portal): State<Arc<Portal>>) -> impl IntoResponse {
    if portal.grants.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "session store unreachable")
    }
}
