//! The OAuth routes of the Backend-for-Frontend: start a PKCE login (POST), finish it at the
//! callback, and sign out (POST). `app::backend::signin` does the work; these map its results
//! to redirects. Tokens stay on the server; the browser only gets a cookie.

use std::sync::Arc;

use app::backend::{portal::Portal, session::StoreUnavailable, signin};
use axum::{
    extract::{Form, RawQuery, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::limits::LoginLimiter;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    return_to: String,
}

fn unavailable(_: StoreUnavailable) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The session store is unavailable; try again shortly.",
    )
        .into_response()
}

/// POST /auth/login: a fresh verifier, state and issuer for this browser, then off to Genesys.
pub async fn login(
    State(portal): State<Arc<Portal>>,
    State(limiter): State<LoginLimiter>,
    peer: Option<axum::extract::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: axum::http::HeaderMap,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let peer = peer.map(|axum::extract::Extension(axum::extract::ConnectInfo(p))| p);
    if let Err(wait) = limiter.try_acquire(&headers, peer) {
        return too_many_sign_ins(wait);
    }
    match signin::start(&portal, &session, &form.return_to).await {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(e) => unavailable(e),
    }
}

/// The 429 page: how long to wait, and nothing else started.
pub(crate) fn too_many_sign_ins(wait_secs: u64) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Too many sign-ins</title></head><body><main><h1>Too many sign-ins</h1><p data-testid=\"too-many-sign-ins\" data-retry-after=\"{wait_secs}\">Too many sign-ins started from your network in a short time. Try again in {wait_secs} s.</p><p><a href=\"/\">Back to the start page</a></p></main></body></html>"
    );
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::RETRY_AFTER, wait_secs.to_string()),
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
        ],
        body,
    )
        .into_response()
}

/// GET /auth/callback: on to where the sign-in started, or to the failure page; never back to
/// the URL with the code, and with no referrer that could leak it.
pub async fn callback(
    State(portal): State<Arc<Portal>>,
    session: Session,
    RawQuery(raw): RawQuery,
) -> Response {
    match signin::finish(&portal, &session, raw.as_deref().unwrap_or_default()).await {
        Ok(next) => {
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        Err(e) => unavailable(e),
    }
}

/// POST /auth/logout: revoke the token at Genesys, destroy the session, and go home (or on to
/// Genesys' own logout page when configured).
pub async fn logout(
    State(portal): State<Arc<Portal>>,
    framed: Option<axum::extract::Extension<crate::middleware::Framed>>,
    session: Session,
) -> Response {
    match signin::sign_out(&portal, &session).await {
        // Inside Genesys Cloud: a page the host may frame, not the home page (or Genesys' own
        // logout, which would sign the agent out of Genesys Cloud itself).
        Ok(_) if framed.is_some() => Redirect::to("/embed/signed-out").into_response(),
        Ok(next) => Redirect::to(&next).into_response(),
        Err(e) => unavailable(e),
    }
}

/// POST /guest/chat/start: the guest's chat sign-in at the portal's provider (PKCE, nonce).
pub async fn start_guest_chat(State(portal): State<Arc<Portal>>, session: Session) -> Response {
    match app::backend::guest_chat::start(&portal, &session).await {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(e) => error_page(e),
    }
}

/// GET /guest/callback: the provider's code, exchanged at Genesys for the guest's jwt.
pub async fn guest_chat_callback(
    State(portal): State<Arc<Portal>>,
    session: Session,
    axum::extract::Query(query): axum::extract::Query<app::backend::guest_chat::CallbackQuery>,
) -> Response {
    // The request scope already holds the request's cookies (the provider's is among them).
    let scope = app::backend::request::RequestScope::current();
    let cookies = scope.as_ref().and_then(|s| s.cookies());
    match app::backend::guest_chat::finish(&portal, &session, cookies, &query).await {
        Ok(()) => {
            let mut response = Redirect::to("/guest").into_response();
            response.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        Err(e) => error_page(e),
    }
}

fn error_page(e: app::model::AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, format!("{} {}", e, e.advice())).into_response()
}
