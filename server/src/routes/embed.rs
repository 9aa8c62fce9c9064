//! The Client App (embedded) routes: the entry Genesys frames, the sign-in popup's two pages,
//! the frame's code exchange, and the page after signing out in the frame.
//! `app::backend::embed` does the work; these pages are plain HTML with the two small scripts
//! in `public/embed/` (the strict policy allows `'self'` scripts and nothing inline).

use std::sync::Arc;

use app::{
    backend::{embed, frames, portal::Portal, session::StoreUnavailable, signin},
    model::HostContext,
};
use axum::{
    extract::{Form, Query, RawQuery, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::limits::LoginLimiter;

fn unavailable(_: StoreUnavailable) -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again shortly",
        "<p class=\"error-message\">The session store is unavailable; your sign-in is kept. Try again shortly.</p>",
        None,
        None,
    )
}

/// HTML-escapes text for an element or a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A small page in the portal's style, in the host's language and theme when known.
fn page(
    status: StatusCode,
    title: &str,
    body: &str,
    context: Option<&HostContext>,
    script: Option<&str>,
) -> Response {
    let lang = context.map_or("en", |c| c.lang.as_str());
    let theme = context
        .and_then(HostContext::theme)
        .map(|t| format!(" data-theme=\"{t}\""))
        .unwrap_or_default();
    let script = script
        .map(|s| format!("<script src=\"/embed/{s}.js\" defer></script>"))
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"{theme}><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · genesys-portal</title>\
         <link rel=\"stylesheet\" href=\"{css}\">{script}</head>\
         <body class=\"embedded\"><main id=\"content\" class=\"embed-main\"><section class=\"card\">\
         <h1>{title}</h1>{body}</section></main></body></html>",
        lang = escape(lang),
        title = escape(title),
        css = crate::assets::stylesheet(),
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

fn refused(e: &app::model::AppError, context: Option<&HostContext>) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = format!(
        "<div role=\"alert\" data-testid=\"embed-error\"><p class=\"error-message\">{}</p><p class=\"muted\">{}</p></div>",
        escape(&e.to_string()),
        escape(e.advice())
    );
    page(status, "This app cannot open here", &body, context, None)
}

/// GET /embed: the URL registered in Genesys Cloud (with its placeholders). A framed session
/// already signed in goes on to its page; otherwise the sign-in button for the popup.
pub async fn entry(
    State(portal): State<Arc<Portal>>,
    session: Session,
    RawQuery(raw): RawQuery,
) -> Response {
    match embed::enter(&portal, &session, raw.as_deref().unwrap_or_default()).await {
        Ok(embed::Entry::SignedIn { landing }) => Redirect::to(&landing).into_response(),
        Ok(embed::Entry::SignIn(start, context)) => {
            let body = format!(
                "<div id=\"embed-signin\" data-frame-id=\"{id}\" data-frame-secret=\"{secret}\">\
                 <p>Sign in with your Genesys Cloud account to use the portal here. The sign-in \
                 opens in a window of its own.</p>\
                 <p><button type=\"button\" class=\"button button-primary\" id=\"embed-signin-button\" \
                 data-testid=\"embed-signin\">Sign in</button></p>\
                 <p id=\"embed-status\" role=\"status\" aria-live=\"polite\" data-testid=\"embed-status\"></p>\
                 <noscript><p class=\"error-message\">Signing in inside Genesys Cloud needs JavaScript.</p></noscript></div>",
                id = escape(&start.frame_id),
                secret = escape(&start.frame_secret),
            );
            page(
                StatusCode::OK,
                "genesys-portal",
                &body,
                Some(&context),
                Some("frame"),
            )
        }
        Err(e) => refused(&e, None),
    }
}

#[derive(Deserialize)]
pub struct FrameQuery {
    #[serde(default)]
    frame: String,
}

fn stale_popup() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This sign-in window is out of date",
        "<p class=\"error-message\" data-testid=\"embed-error\">The Genesys Cloud window it was opened for has \
         closed or waited too long. Close this window and select Sign in again in Genesys Cloud.</p>",
        None,
        None,
    )
}

/// GET /embed/popup?frame=…: the popup's first page, which goes on to Genesys' sign-in at once
/// (a POST, as every sign-in starts; the button is there without JavaScript).
pub async fn popup(State(portal): State<Arc<Portal>>, Query(q): Query<FrameQuery>) -> Response {
    let waiting = match portal.embed.as_ref() {
        Some(e) => match e.handoffs.is_pending(&q.frame).await {
            Ok(waiting) => waiting,
            Err(e) => return unavailable(StoreUnavailable::log(e)),
        },
        None => false,
    };
    if !waiting {
        return stale_popup();
    }
    let body = format!(
        "<form method=\"post\" action=\"/embed/popup\" id=\"embed-popup-form\">\
         <input type=\"hidden\" name=\"frame\" value=\"{}\">\
         <p>On to Genesys Cloud to sign in…</p>\
         <p><button type=\"submit\" class=\"button button-primary\">Continue to Genesys Cloud</button></p></form>",
        escape(&q.frame)
    );
    page(StatusCode::OK, "Sign in", &body, None, Some("popup"))
}

#[derive(Deserialize)]
pub struct FrameForm {
    #[serde(default)]
    frame: String,
}

/// POST /embed/popup: the code flow for the pending frame, under the sign-in rate limit.
pub async fn popup_start(
    State(portal): State<Arc<Portal>>,
    State(limiter): State<LoginLimiter>,
    peer: Option<axum::extract::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: axum::http::HeaderMap,
    session: Session,
    Form(form): Form<FrameForm>,
) -> Response {
    let peer = peer.map(|axum::extract::Extension(axum::extract::ConnectInfo(p))| p);
    if let Err(wait) = limiter.try_acquire(&headers, peer) {
        return super::auth::too_many_sign_ins(wait);
    }
    match signin::start_for_frame(&portal, &session, &form.frame).await {
        Ok(Some(url)) => Redirect::to(url.as_str()).into_response(),
        Ok(None) => stale_popup(),
        Err(e) => unavailable(e),
    }
}

/// GET /embed/done: the popup posts its one-time code to the frame that opened it, then
/// closes. The code leaves the popup's session as it is shown.
pub async fn done(session: Session) -> Response {
    match embed::take_popup_code(&session).await {
        Ok(Some(code)) => {
            let body = format!(
                "<div id=\"embed-handoff\" data-code=\"{}\"><p id=\"embed-status\" role=\"status\" \
                 data-testid=\"embed-status\">Signed in. Handing over to Genesys Cloud…</p></div>",
                escape(&code)
            );
            page(StatusCode::OK, "Signed in", &body, None, Some("popup"))
        }
        Ok(None) => page(
            StatusCode::OK,
            "Nothing to hand over",
            "<p data-testid=\"embed-status\">This window has nothing left to do: close it.</p>",
            None,
            None,
        ),
        Err(e) => unavailable(e),
    }
}

#[derive(Deserialize)]
pub struct ExchangeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    frame: String,
    #[serde(default)]
    secret: String,
}

/// POST /embed/exchange (the frame's `fetch`): the code and the frame's secret for the framed
/// session's cookie (set `Partitioned` by the embed cookie layer). JSON either way.
pub async fn exchange(
    State(portal): State<Arc<Portal>>,
    session: Session,
    Form(form): Form<ExchangeForm>,
) -> Response {
    match embed::redeem(&portal, &session, &form.code, &form.frame, &form.secret).await {
        Ok(Ok(next)) => Json(serde_json::json!({ "next": next })).into_response(),
        Ok(Err(refusal)) => {
            let error = match refusal {
                frames::Refusal::UnknownCode => {
                    "This sign-in was already used or took too long. Select Sign in again."
                }
                frames::Refusal::WrongFrame => {
                    "This sign-in belongs to another Genesys Cloud window. Select Sign in again."
                }
            };
            (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": error })),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("2"))],
            Json(serde_json::json!({ "error": "The session store is unavailable; try again shortly." })),
        )
            .into_response(),
    }
}

/// GET /embed/signed-out: where a framed sign-out lands (framable, unlike the home page).
pub async fn signed_out() -> Response {
    page(
        StatusCode::OK,
        "Signed out",
        "<p data-testid=\"embed-signed-out\">You are signed out of the portal. Open the app again \
         from Genesys Cloud to sign back in.</p>",
        None,
        None,
    )
}
