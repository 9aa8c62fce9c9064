//! Request guards for every route: state-changing requests must come from this site (CSRF),
//! and every response carries the security headers.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use app::backend::headers::{content_security_policy, NO_STORE};

use crate::config::{Config, GUEST_IDP_PATH};

/// The site's own origin, for the checks below.
#[derive(Clone)]
pub struct SiteOrigin {
    pub origin: String,
    pub https: bool,
    /// POST endpoints that other servers call with their own credentials and no cookie (the
    /// guest provider's token and userinfo endpoints): there is no ambient authority to forge.
    pub credential_endpoints: std::sync::Arc<[String]>,
}

impl SiteOrigin {
    pub fn of(config: &Config) -> Self {
        SiteOrigin {
            origin: config.public_origin(),
            https: config.public_url.scheme() == "https",
            credential_endpoints: [
                format!("{GUEST_IDP_PATH}/token"),
                format!("{GUEST_IDP_PATH}/userinfo"),
            ]
            .into(),
        }
    }
}

/// Leptos server functions accept form POSTs that any site can send: every request that may
/// change state must carry this site's `Origin` (or, without one, `Sec-Fetch-Site:
/// same-origin`). `Sec-Fetch-Site: none` (a navigation the user typed or bookmarked) is no
/// proof: such a navigation is never a POST from one of this site's pages.
pub async fn require_same_origin(
    State(site): State<SiteOrigin>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || site.credential_endpoints.iter().any(|p| p == path)
    {
        return next.run(request).await;
    }
    let headers = request.headers();
    let allowed = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => origin == site.origin,
        None => matches!(
            headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
            Some("same-origin")
        ),
    };
    if allowed {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-site request blocked");
        (StatusCode::FORBIDDEN, "This request did not come from this site, so it was blocked. Reload the page and try again.")
            .into_response()
    }
}

/// Requests served at once; one past it gets a 503 at once (with `Retry-After`) instead of
/// waiting in a queue that grows with the load. The probes (`/healthz`, `/readyz`,
/// `/metrics`) are never refused, so an orchestrator can still see the portal under load.
pub async fn limit_concurrency(
    State(permits): State<std::sync::Arc<tokio::sync::Semaphore>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(request).await;
    }
    match permits.try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => {
            tracing::warn!(path = %path, "over the concurrency limit: 503");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                "The portal is busy right now; try again in a moment.",
            )
                .into_response()
        }
    }
}

/// The most header bytes (names and values) a request may carry. Browsers send a few KiB;
/// common front ends stop at 8–16 KiB. Hyper's own buffer stops a head far larger than this.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses a request whose headers exceed [`MAX_HEADER_BYTES`] with 431, before any session
/// or page work.
pub async fn limit_headers(request: Request<Body>, next: Next) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > MAX_HEADER_BYTES {
        tracing::warn!(size, path = %request.uri().path(), "request headers too large");
        return (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "The request's headers are too large. Clear this site's cookies and try again.",
        )
            .into_response();
    }
    next.run(request).await
}

/// Security headers on every response (pages set their own nonce-based CSP first), and
/// `Cache-Control: no-store` on everything but static assets.
pub async fn security_headers(
    State(site): State<SiteOrigin>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let is_asset =
        request.uri().path().starts_with("/pkg/") || request.uri().path() == "/favicon.ico";
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    static STRICT_CSP: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert_with(|| {
        STRICT_CSP
            .get_or_init(|| {
                HeaderValue::from_str(&content_security_policy(None, None, &[]))
                    .expect("the policy is ASCII")
            })
            .clone()
    });
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if site.https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if !is_asset {
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static(NO_STORE));
    }
    response
}

/// Leptos answers every failed server function with 500; this gives the answer the status of
/// its `AppError` (401, 403, 400, 429, 502 …), so a client can tell a bad request from a broken
/// server. Only `/api/` answers are read, and only error answers (small JSON).
pub async fn server_fn_status(request: Request<Body>, next: Next) -> Response {
    let is_server_fn = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server function failed",
        )
            .into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::model::AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// An error answer is a small JSON `AppError`; a larger one is cut to a plain 500.
const MAX_ERROR_BODY: usize = 64 * 1024;
