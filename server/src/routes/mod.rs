//! The server's own routes, each mapping a backend result to a response: sign-in and sign-out,
//! the CSV download, Leptos' server functions, and the probes and metrics.

pub mod auth;
pub mod embed;
pub mod export;
pub mod health;

use axum::{
    body::Body,
    extract::{Request, State},
    response::IntoResponse,
};
use leptos::prelude::provide_context;
use leptos_axum::handle_server_fns_with_context;

use crate::ServerState;

/// POST /api/{fn}: Leptos' server functions, with the portal in their context.
pub async fn server_fns(
    State(state): State<ServerState>,
    request: Request<Body>,
) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_context(state.portal.clone()), request).await
}
