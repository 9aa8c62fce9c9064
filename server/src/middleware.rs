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

/// A request refused for its body's size (413) is answered without reading that body, so the
/// connection cannot carry another request: `Connection: close` says so. Without it a client
/// sent its next request on the same connection and got a broken pipe.
pub async fn close_after_refused_body(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
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
    let cache = asset_cache_control(request.uri().path());
    let mut response = next.run(request).await;
    // Only a file that was found: a 404 for a hashed name must not be cached for a year.
    let cache = cache.filter(|_| response.status().is_success());
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
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(cache.unwrap_or(NO_STORE)));
    response
}

/// A static file's `Cache-Control`: a year and `immutable` for the build's hashed files under
/// `/pkg/` (a new build has new names), revalidated every time for the rest (`/favicon.ico`,
/// `/embed/frame.js`). `None` for everything else: pages and API answers are `no-store`.
pub fn asset_cache_control(path: &str) -> Option<&'static str> {
    const STATIC: [&str; 2] = ["/favicon.ico", "/embed/"];
    if let Some(file) = path.strip_prefix("/pkg/") {
        return Some(if is_hashed_name(file) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        });
    }
    let is_static_file = STATIC.iter().any(|p| path.starts_with(p)) && path.ends_with(".js")
        || path == "/favicon.ico";
    is_static_file.then_some("no-cache")
}

/// `genesys-portal.<hash>.wasm`: cargo-leptos' `hash-files` names, whose hash is the file's
/// MD5 in unpadded base64url (22 characters).
fn is_hashed_name(file: &str) -> bool {
    !file.contains('/')
        && file.split('.').count() >= 3
        && file.split('.').any(|part| {
            part.len() == 22
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// What the compression layer compresses (on top of tower-http's default rules: not tiny, not
/// images, not already encoded): HTML, JSON, CSS, JavaScript, wasm, CSV and text, and never a
/// response marked [`Uncompressed`].
#[derive(Clone, Copy, Default)]
pub struct Compressible;

impl tower_http::compression::Predicate for Compressible {
    fn should_compress<B>(&self, response: &Response<B>) -> bool
    where
        B: axum::body::HttpBody,
    {
        const TYPES: [&str; 8] = [
            "text/html",
            "text/css",
            "text/csv",
            "text/plain",
            "application/json",
            "application/javascript",
            "text/javascript",
            "application/wasm",
        ];
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        response.status() == StatusCode::OK
            && response.extensions().get::<Uncompressed>().is_none()
            && TYPES.iter().any(|t| content_type.starts_with(t))
    }
}

/// Marks an answer that carries a one-time secret next to what the request put in it (BREACH:
/// compression would let a page's length reveal the secret): the sign-in and embed handoff
/// routes and the guest provider. They are small; nothing is lost by sending them as they are.
#[derive(Clone, Copy)]
pub struct Uncompressed;

/// Routes whose answers are never compressed (see [`Uncompressed`]).
pub fn carries_secrets(path: &str) -> bool {
    ["/auth/", "/embed/", "/guest/"]
        .iter()
        .any(|p| path.starts_with(p))
        || path == GUEST_IDP_PATH
        || path.starts_with(&format!("{GUEST_IDP_PATH}/"))
}

/// Marks the answers of [`carries_secrets`] routes as [`Uncompressed`].
pub async fn mark_uncompressed(request: Request<Body>, next: Next) -> Response {
    let secret = carries_secrets(request.uri().path());
    let mut response = next.run(request).await;
    if secret {
        response.extensions_mut().insert(Uncompressed);
    }
    response
}

/// How stale a session's idle deadline may get before a request moves it (and writes the
/// session): reading a page writes nothing, at most one write a minute per active session.
pub const TOUCH_EVERY_SECS: i64 = 60;

/// The session key holding when a request last moved the idle deadline (Unix seconds).
pub const TOUCHED: &str = "touched_unix";

/// Moves a session's idle deadline (the store's expiry and the cookie's `Max-Age`, both set
/// when the session is saved) once it is more than [`TOUCH_EVERY_SECS`] old: the timeout runs
/// from the last request, to within a minute, without a database write on every request. An
/// empty session (an anonymous visitor) is left alone, so no row is created for it. So is the
/// sign-in callback's: the later of two responses to one sign-in must not answer with the
/// session it arrived with, whose cookie would replace the one the earlier response set.
pub async fn touch_session(request: Request<Body>, next: Next) -> Response {
    let callback = request.uri().path() == "/auth/callback";
    if let Some(session) = request
        .extensions()
        .get::<tower_sessions::Session>()
        .filter(|_| !callback)
    {
        // Reading loads the record; a cookie naming no stored session has no id after it.
        let touched = match session.id() {
            Some(_) => session.get::<i64>(TOUCHED).await,
            None => Ok(None),
        };
        if session.id().is_some() && !session.is_empty().await {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let fresh = matches!(
                touched,
                Ok(Some(at)) if (0..TOUCH_EVERY_SECS).contains(&(now - at))
            );
            if !fresh {
                // A store that fails here fails the request's own reads as well.
                let _ = session.insert(TOUCHED, now).await;
            }
        }
    }
    next.run(request).await
}

/// How long a client is told to wait when the store is down (`Retry-After`).
pub const STORE_RETRY_AFTER_SECS: &str = "2";

/// The session store is down: the bare 500 that tower-sessions answers when it cannot save a
/// session becomes the portal's 503 page (`scope::scope_requests` adds `Retry-After` to every
/// 503). The browser's cookie is left as it is: the session is kept in the store for its return.
pub async fn store_unavailable(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    let bare_500 = response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && response.headers().get(header::CONTENT_TYPE).is_none();
    if bare_500 {
        let error = app::model::AppError::StoreUnavailable;
        let page = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head><body><main><h1>{title}</h1><div role=\"alert\" data-kind=\"{kind}\"><p>{message}</p><p>{advice}</p></div><p><a href=\"\">Try again</a></p></main></body></html>",
            title = error.title(),
            kind = error.kind(),
            message = error,
            advice = error.advice(),
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            page,
        )
            .into_response();
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

/// The framed (Client App) portal's cookie and header rules, when embedded mode is on.
#[derive(Clone)]
pub struct EmbedRules {
    /// `frame-ancestors` sources: the allowed Genesys apps hosts.
    pub frame_ancestors: String,
    /// The first-party session cookie's name (what the session layer reads and writes).
    pub session_cookie: &'static str,
}

/// The framed session's cookie: `Secure; SameSite=None; Partitioned` (CHIPS), so a third-party
/// frame keeps it where third-party cookies are blocked, in a jar keyed by the Genesys host.
pub const EMBED_COOKIE: &str = "__Host-portal-embed";

/// Marks a request that came from inside a Genesys Cloud frame (it carried the framed
/// session's cookie).
#[derive(Clone, Copy)]
pub struct Framed;

/// Pages a host may frame before any framed session exists.
fn framable_path(path: &str) -> bool {
    matches!(path, "/embed" | "/embed/signed-out")
        || path
            .strip_prefix("/embed/conversation/")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// The popup's pages: they keep their opener (the frame) so the handoff code can reach it.
fn popup_path(path: &str) -> bool {
    matches!(path, "/embed/popup" | "/embed/done" | "/auth/callback")
}

/// Embedded mode, around the session layer:
/// - a request carrying the framed session's cookie is served as that session (the session
///   layer sees its own cookie name), and the session's `Set-Cookie` goes back as the framed
///   cookie (also for the code exchange, which creates it);
/// - the entry, the conversation widget and every framed session's page may be framed by the
///   allowed hosts only (`frame-ancestors`, no `X-Frame-Options`); every other page stays
///   unframeable;
/// - the popup's pages keep their opener (`Cross-Origin-Opener-Policy: unsafe-none`).
pub async fn embedded(
    State(rules): State<Option<std::sync::Arc<EmbedRules>>>,
    mut request: Request<Body>,
    next: Next,
) -> Response {
    let Some(rules) = rules else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_string();
    let framed_value = cookie_value(request.headers(), EMBED_COOKIE);
    if let Some(value) = &framed_value {
        // Served as that session: only the framed cookie counts inside a frame.
        let others: Vec<String> = request
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .filter(|c| {
                let name = c.split('=').next().unwrap_or_default();
                name != EMBED_COOKIE && name != rules.session_cookie && !c.is_empty()
            })
            .map(str::to_string)
            .collect();
        let mut joined = others;
        joined.push(format!("{}={value}", rules.session_cookie));
        let headers = request.headers_mut();
        headers.remove(header::COOKIE);
        if let Ok(v) = HeaderValue::from_str(&joined.join("; ")) {
            headers.insert(header::COOKIE, v);
        }
        request.extensions_mut().insert(Framed);
    }
    let translate = framed_value.is_some() || path == "/embed/exchange";
    let framable = framed_value.is_some() || framable_path(&path);
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if translate {
        let set: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
        h.remove(header::SET_COOKIE);
        for value in set {
            let out = value
                .to_str()
                .ok()
                .and_then(|v| as_framed_cookie(v, rules.session_cookie))
                .and_then(|v| HeaderValue::from_str(&v).ok())
                .unwrap_or(value);
            h.append(header::SET_COOKIE, out);
        }
    }
    if framable {
        h.remove(header::X_FRAME_OPTIONS);
        if let Some(policy) = h
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
        {
            let policy = policy.replace(
                "frame-ancestors 'none'",
                &format!("frame-ancestors {}", rules.frame_ancestors),
            );
            if let Ok(v) = HeaderValue::from_str(&policy) {
                h.insert(header::CONTENT_SECURITY_POLICY, v);
            }
        }
    }
    if popup_path(&path) {
        h.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("unsafe-none"),
        );
    }
    response
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && b != b';'))
}

/// The session layer's `Set-Cookie` for `session_cookie`, rewritten as the framed cookie with
/// the same value and lifetime; `None` for any other cookie.
fn as_framed_cookie(set_cookie: &str, session_cookie: &str) -> Option<String> {
    use tower_sessions::cookie::{Cookie, SameSite};
    let original = Cookie::parse(set_cookie.to_string()).ok()?;
    if original.name() != session_cookie {
        return None;
    }
    let mut framed = Cookie::new(EMBED_COOKIE, original.value().to_string());
    framed.set_path("/");
    framed.set_http_only(true);
    framed.set_secure(true);
    framed.set_same_site(SameSite::None);
    framed.set_partitioned(true);
    if let Some(age) = original.max_age() {
        framed.set_max_age(age);
    }
    if let Some(expires) = original.expires() {
        framed.set_expires(expires);
    }
    Some(framed.to_string())
}

#[cfg(test)]
mod asset_tests {
    use super::*;
    use tower_http::compression::Predicate;

    #[test]
    fn hashed_build_files_are_immutable_and_the_rest_revalidates() {
        let year = Some("public, max-age=31536000, immutable");
        for hashed in [
            "/pkg/genesys-portal.S2wM3lb2IQRFc6Zb-QSp_w.wasm",
            "/pkg/genesys-portal.AAAAAAAAAAAAAAAAAAAA_-.js",
        ] {
            assert_eq!(asset_cache_control(hashed), year, "{hashed}");
        }
        for unhashed in [
            "/pkg/genesys-portal.css",
            "/pkg/genesys-portal_bg.wasm",
            "/pkg/a/genesys-portal.S2wM3lb2IQRFc6Zb-QSp_w.js",
            "/pkg/S2wM3lb2IQRFc6Zb-QSp_w",
            "/favicon.ico",
            "/embed/frame.js",
        ] {
            assert_eq!(
                asset_cache_control(unhashed),
                Some("no-cache"),
                "{unhashed}"
            );
        }
        for page in [
            "/",
            "/dashboard",
            "/embed",
            "/embed/popup",
            "/api/x.js",
            "/users/a.js",
        ] {
            assert_eq!(asset_cache_control(page), None, "{page}");
        }
    }

    #[test]
    fn text_answers_are_compressed_and_secret_carrying_ones_never() {
        let answer = |content_type: &str, status: StatusCode| {
            let mut r = Response::new(Body::from("x".repeat(100)));
            *r.status_mut() = status;
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).unwrap(),
            );
            r
        };
        for yes in [
            "text/html; charset=utf-8",
            "application/json",
            "application/wasm",
        ] {
            assert!(
                Compressible.should_compress(&answer(yes, StatusCode::OK)),
                "{yes}"
            );
        }
        assert!(!Compressible.should_compress(&answer("image/png", StatusCode::OK)));
        assert!(
            !Compressible.should_compress(&answer("text/html", StatusCode::SWITCHING_PROTOCOLS))
        );
        let mut marked = answer("text/html", StatusCode::OK);
        marked.extensions_mut().insert(Uncompressed);
        assert!(!Compressible.should_compress(&marked));
        for secret in [
            "/auth/callback",
            "/embed/done",
            "/guest/callback",
            GUEST_IDP_PATH,
            "/guest-idp/token",
        ] {
            assert!(carries_secrets(secret), "{secret}");
        }
        for page in [
            "/",
            "/dashboard",
            "/guests",
            "/guest",
            "/api/get_dashboard",
            "/guest-idpx",
        ] {
            assert!(!carries_secrets(page), "{page}");
        }
    }
}

#[cfg(test)]
mod embed_tests {
    use super::*;

    #[test]
    fn the_session_cookie_goes_back_as_the_partitioned_framed_cookie() {
        let out = as_framed_cookie(
            "portal-session=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800",
            "portal-session",
        )
        .unwrap();
        for part in [
            "__Host-portal-embed=abc",
            "HttpOnly",
            "SameSite=None",
            "Secure",
            "Partitioned",
            "Path=/",
            "Max-Age=1800",
        ] {
            assert!(out.contains(part), "{part} in {out}");
        }
        assert!(as_framed_cookie("other=1; Path=/", "portal-session").is_none());
    }

    #[test]
    fn only_the_entry_and_the_widget_are_framable_without_a_framed_session() {
        for yes in ["/embed", "/embed/signed-out", "/embed/conversation/abc"] {
            assert!(framable_path(yes), "{yes}");
        }
        for no in [
            "/",
            "/dashboard",
            "/embed/popup",
            "/embed/done",
            "/embed/exchange",
            "/embed/conversation/",
            "/embed/conversation/a/b",
            "/embedx",
        ] {
            assert!(!framable_path(no), "{no}");
        }
    }

    #[test]
    fn a_cookie_value_must_be_a_plain_token() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-portal-embed=xyz; b=2"),
        );
        assert_eq!(cookie_value(&h, EMBED_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie_value(&h, "c"), None);
    }
}
