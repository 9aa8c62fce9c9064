//! The loopback-only admin endpoint: read and change the injected faults, expire every
//! access token, list the raw tokens issued (for leak tests), count requests. A request is
//! refused unless its peer is on loopback, its `Host` names a loopback address, and it carries
//! `X-Sandbox-Admin: 1`: a web page open in the developer's browser can neither send that
//! header cross-site (it needs a CORS preflight the sandbox never grants) nor reach the
//! endpoint through a DNS name rebound to 127.0.0.1 (its `Host` is that name).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::faults::FaultsBody;
use crate::respond::ApiError;
use crate::SandboxState;

/// The header every admin request carries.
pub const ADMIN_HEADER: &str = "x-sandbox-admin";

fn from_loopback(req: &Request) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("The sandbox admin endpoint answers loopback clients only: {why}."),
        ))
    };
    match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        // `to_canonical`: a dual-stack listener sees IPv4 loopback as `::ffff:127.0.0.1`.
        Some(ConnectInfo(peer)) if peer.ip().to_canonical().is_loopback() => {}
        _ => return refuse("the peer is not on loopback"),
    }
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !is_loopback_host(host) {
        return refuse("the Host header does not name a loopback address");
    }
    if req
        .headers()
        .get(ADMIN_HEADER)
        .and_then(|v| v.to_str().ok())
        != Some("1")
    {
        return refuse("send the header `X-Sandbox-Admin: 1`");
    }
    Ok(())
}

/// `127.0.0.1`, `127.x.y.z`, `[::1]` or `localhost`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
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

/// `GET /sandbox/conversations`: `{"conversations": [...]}`, every live Web Messaging
/// conversation in the Genesys shape, newest first: how a test (or a developer) learns the id
/// Genesys would put in an interaction widget's `{{gcConversationId}}`.
pub(crate) async fn conversations(State(s): State<SandboxState>, req: Request) -> Response {
    if let Err(e) = from_loopback(&req) {
        return e.into_response();
    }
    let list: Vec<genesys::Conversation> = s
        .inner
        .web_messaging
        .as_ref()
        .map(|wm| {
            wm.conversation_list()
                .iter()
                .map(crate::api::conversation_wire)
                .collect()
        })
        .unwrap_or_default();
    Json(serde_json::json!({ "conversations": list })).into_response()
}

/// `GET /sandbox/stats`: `{"requests": {path: n}, "tokenRequests": {grant_type: n},
/// "refreshTokenReuses": n}`.
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

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts_only() {
        for host in [
            "127.0.0.1:8090",
            "127.0.0.1",
            "127.9.9.9:1",
            "[::1]:8090",
            "[::1]",
            "localhost:8090",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "evil.example:8090",
            "10.0.0.1:8090",
            "127.0.0.1.evil.example",
            "[2001:db8::1]:80",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
