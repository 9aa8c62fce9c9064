//! The loopback-only admin endpoint: read and change the injected faults, expire every
//! access token, list the raw tokens issued (for leak tests). A request whose peer is not on
//! loopback (or unknown) is refused.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::faults::FaultsBody;
use crate::respond::ApiError;
use crate::SandboxState;

fn from_loopback(req: &Request) -> Result<(), ApiError> {
    match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        // `to_canonical`: a dual-stack listener sees IPv4 loopback as `::ffff:127.0.0.1`.
        Some(ConnectInfo(peer)) if peer.ip().to_canonical().is_loopback() => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The sandbox admin endpoint answers loopback clients only.",
        )),
    }
}

/// `GET /sandbox/faults`.
pub(crate) async fn get_faults(State(s): State<SandboxState>, req: Request) -> Response {
    if let Err(e) = from_loopback(&req) {
        return e.into_response();
    }
    Json(FaultsBody::from(&s.faults().get())).into_response()
}

/// `PUT /sandbox/faults`: the fields present are changed, the others kept.
pub(crate) async fn put_faults(State(s): State<SandboxState>, req: Request) -> Response {
    if let Err(e) = from_loopback(&req) {
        return e.into_response();
    }
    let body: Bytes = match axum::body::to_bytes(req.into_body(), 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return ApiError::bad_request("The body is too large.").into_response(),
    };
    let change: FaultsBody = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return ApiError::bad_request(format!(
                "Expected {{latencyMs, errorRate, rateLimitRate, tokenEndpointDown, malformedTokenBody, tokenAnswerLost, socketDropRate, socketDelayMs, seed}}: {e}"
            ))
            .into_response()
        }
    };
    let for_range = |r: Option<f64>| r.is_none_or(|r| (0.0..=1.0).contains(&r));
    if !for_range(change.error_rate) || !for_range(change.rate_limit_rate) {
        return ApiError::bad_request("errorRate and rateLimitRate are shares between 0 and 1.")
            .into_response();
    }
    let faults = s.faults();
    let mut settings = faults.get();
    change.apply_to(&mut settings);
    faults.replace(settings);
    if let Some(seed) = change.seed {
        faults.reseed(seed);
    }
    Json(FaultsBody::from(&faults.get())).into_response()
}

/// `POST /sandbox/expire-tokens`.
pub(crate) async fn expire_tokens(State(s): State<SandboxState>, req: Request) -> Response {
    if let Err(e) = from_loopback(&req) {
        return e.into_response();
    }
    s.expire_tokens();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /sandbox/issued-tokens`: `{"tokens": [...]}`, the raw access and refresh tokens issued
/// since start (the last 512, oldest first), so that leak tests search for the real secrets
/// rather than the hashes the state file keeps.
pub(crate) async fn issued_tokens(State(s): State<SandboxState>, req: Request) -> Response {
    if let Err(e) = from_loopback(&req) {
        return e.into_response();
    }
    Json(serde_json::json!({ "tokens": s.store().issued_tokens() })).into_response()
}

/// `GET /sandbox/stats`: `{"requests": {path: n}, "tokenRequests": {grant_type: n}}`.
pub(crate) async fn get_stats(State(s): State<SandboxState>, req: Request) -> Response {
    if let Err(e) = from_loopback(&req) {
        return e.into_response();
    }
    Json(s.stats().snapshot()).into_response()
}

/// `DELETE /sandbox/stats`: every count back to zero.
pub(crate) async fn reset_stats(State(s): State<SandboxState>, req: Request) -> Response {
    if let Err(e) = from_loopback(&req) {
        return e.into_response();
    }
    s.stats().reset();
    StatusCode::NO_CONTENT.into_response()
}
