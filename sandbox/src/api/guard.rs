//! The guard in front of every API route: the bearer token, then the token's rate limit (with
//! Genesys' `inin-ratelimit-*` headers), then the injected faults, in that order.

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::faults::Faults;
use crate::ratelimit::RateStatus;
use crate::respond::ApiError;
use crate::SandboxState;

const ALLOWED: HeaderName = HeaderName::from_static("inin-ratelimit-allowed");
const COUNT: HeaderName = HeaderName::from_static("inin-ratelimit-count");
const RESET: HeaderName = HeaderName::from_static("inin-ratelimit-reset");

fn rate_headers(response: &mut Response, rate: &RateStatus) {
    let h = response.headers_mut();
    h.insert(ALLOWED, HeaderValue::from(rate.allowed));
    h.insert(COUNT, HeaderValue::from(rate.count));
    h.insert(RESET, HeaderValue::from(rate.reset_secs));
}

pub(super) fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
        .header(header::WWW_AUTHENTICATE, "Bearer realm=\"sandbox\"")
}

/// Checks the bearer token, counts the request against the token's limit and applies the
/// injected faults, in that order; the handlers find the `TokenContext` in the extensions.
pub(crate) async fn guard(State(s): State<SandboxState>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        })
        .filter(|t| !t.is_empty());
    let Some(bearer) = bearer else {
        return unauthorized(
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        )
        .into_response();
    };
    let validated = s.store().validate(&bearer);
    let Some(ctx) = validated.filter(|ctx| ctx.user_id.is_none() || !s.inner.faults.take_refusal())
    else {
        if s.store().is_expired(&bearer) {
            return unauthorized(
                "credentials.expired",
                "The authentication credentials have expired.",
            )
            .into_response();
        }
        return unauthorized("bad.credentials", "Invalid login credentials.").into_response();
    };
    let rate = s.inner.limiter.hit(&ctx.key);
    if rate.exceeded || s.inner.faults.roll_rate_limit() {
        let retry = if rate.exceeded { rate.reset_secs } else { 1 };
        let client = s.client(&ctx.client_id).map(|c| c.name.clone());
        let entity = (
            ctx.client_id.as_str(),
            client.as_deref().unwrap_or("OAuth client"),
        );
        let mut response = too_many_requests(rate.allowed, retry, entity).into_response();
        rate_headers(&mut response, &rate);
        return response;
    }
    if let Some(error) = server_fault(&s.inner.faults) {
        // The limit counted the request: its headers are on this answer too.
        let mut response = error.into_response();
        rate_headers(&mut response, &rate);
        return response;
    }
    req.extensions_mut().insert(ctx);
    let mut response = next.run(req).await;
    rate_headers(&mut response, &rate);
    response
}

/// Genesys' 429: the wait in the message, and what was limited (`entityId`, `entityName`)
/// with its `limit` in `messageParams`.
fn too_many_requests(
    limit: u32,
    retry_secs: u64,
    (entity_id, entity_name): (&str, &str),
) -> ApiError {
    ApiError::templated(
        StatusCode::TOO_MANY_REQUESTS,
        "too.many.requests",
        "Rate limit exceeded the maximum. Retry the request in [{retryAfter}] seconds",
        &[
            ("retryAfter", retry_secs.to_string()),
            ("entityId", entity_id.to_string()),
            ("entityName", entity_name.to_string()),
            ("limit", limit.to_string()),
        ],
    )
    .header(header::RETRY_AFTER, retry_secs.to_string())
}

/// Draws an injected 5xx (500, 502, 503 or 504 in Genesys' shape).
fn server_fault(faults: &Faults) -> Option<ApiError> {
    if !faults.roll_error() {
        return None;
    }
    let status = [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::GATEWAY_TIMEOUT,
    ][faults.pick(4)];
    let code = match status {
        StatusCode::INTERNAL_SERVER_ERROR => "internal.server.error",
        StatusCode::BAD_GATEWAY => "bad.gateway",
        StatusCode::SERVICE_UNAVAILABLE => "service.unavailable",
        _ => "gateway.timeout",
    };
    Some(ApiError::new(
        status,
        code,
        "The service is unavailable (sandbox fault).",
    ))
}

/// The injected faults of an endpoint outside the bearer guard (the Web Messaging token
/// endpoints): a forced 429 with `Retry-After: 1`, or a 5xx.
pub(crate) fn injected_fault(faults: &Faults) -> Option<ApiError> {
    if faults.roll_rate_limit() {
        return Some(too_many_requests(300, 1, ("webmessaging", "Web Messaging")));
    }
    server_fault(faults)
}
