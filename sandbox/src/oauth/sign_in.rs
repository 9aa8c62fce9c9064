//! The sign-in page: a user picker (or a typed username) with Allow and Deny, server-rendered
//! without script, and `POST /oauth/authorize`, its answer, which issues the code.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use genesys::UserState;

use super::{redirect_error, redirect_with, Params};
use crate::respond::{error_page, escape_html, html_page};
use crate::store::{now_ms, CodeRecord, PendingAuthorization};
use crate::SandboxState;

/// How many seeded users the sign-in page offers.
const SIGN_IN_CHOICES: usize = 20;

/// The sign-in page of `pending`; `error` says why the last answer was refused.
pub(super) fn sign_in_page(
    s: &SandboxState,
    status: StatusCode,
    pending_id: &str,
    pending: &PendingAuthorization,
    error: Option<&str>,
) -> Response {
    let client_name = s
        .client(&pending.client_id)
        .map(|c| c.name.as_str())
        .unwrap_or("");
    let org = s.org();
    let choices: String = org
        .first_active(SIGN_IN_CHOICES)
        .enumerate()
        .map(|(n, i)| {
            let u = org.user(i);
            format!(
                "<label class=\"user\"><input type=\"radio\" name=\"user\" value=\"{id}\"{checked}> \
                 <span class=\"name\">{name}</span> <small>{username} · {title}, {department}</small></label>",
                id = u.id,
                checked = if n == 0 { " checked" } else { "" },
                name = escape_html(&u.name),
                username = escape_html(&u.username),
                title = escape_html(org.title(u)),
                department = escape_html(org.department(u)),
            )
        })
        .collect();
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape_html(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>{error}<p><strong>{client}</strong> asks to access your Genesys Cloud \
         account with the scopes <code>{scopes}</code>.</p>\
         <form method=\"post\" action=\"authorize\">\
         <input type=\"hidden\" name=\"pending\" value=\"{pending_id}\">\
         <fieldset><legend>Sign in as</legend>{choices}</fieldset>\
         <p><label>Or type a username: <input type=\"text\" name=\"username\" autocomplete=\"username\" \
         placeholder=\"someone@{domain}\"></label></p>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        client = escape_html(client_name),
        scopes = escape_html(&pending.scopes.join(" ")),
        pending_id = escape_html(pending_id),
        domain = crate::org::EMAIL_DOMAIN,
    );
    html_page(status, "Sign in", &body)
}

/// `POST /oauth/authorize`: the answer of the sign-in page.
pub(crate) async fn decide(State(s): State<SandboxState>, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let expired = || {
        error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in expired or was already answered. Start again from the application.",
        )
    };
    let Some(pending_id) = form.get("pending") else {
        return expired();
    };
    let Some(pending) = s.store().pending(pending_id).cloned() else {
        return expired();
    };

    match form.get("decision") {
        Some("deny") => {
            if s.store().take_pending(pending_id).is_none() {
                return expired();
            }
            redirect_error(
                &pending.redirect_uri,
                pending.state.as_deref(),
                "access_denied",
                "The user denied the request.",
            )
        }
        Some("allow") => {
            let org = s.org();
            let chosen = match form
                .get("username")
                .map(str::trim)
                .filter(|u| !u.is_empty())
            {
                Some(name) => org.index_of_username(name),
                None => form.get("user").and_then(|id| org.index_of_id(id)),
            };
            let Some(index) = chosen else {
                return sign_in_page(
                    &s,
                    StatusCode::BAD_REQUEST,
                    pending_id,
                    &pending,
                    Some("No such user in this org."),
                );
            };
            let user = org.user(index);
            if user.state != UserState::Active {
                let why = format!(
                    "{} is {} and cannot sign in.",
                    user.name,
                    user.state.as_str()
                );
                return sign_in_page(
                    &s,
                    StatusCode::BAD_REQUEST,
                    pending_id,
                    &pending,
                    Some(&why),
                );
            }
            let code = {
                let mut store = s.store();
                if store.take_pending(pending_id).is_none() {
                    return expired();
                }
                store.issue_code(CodeRecord {
                    client_id: pending.client_id.clone(),
                    redirect_uri: pending.redirect_uri.clone(),
                    code_challenge: pending.code_challenge.clone(),
                    user_id: user.id.to_string(),
                    scopes: pending.scopes.clone(),
                    expires_ms: now_ms() + s.inner.code_lifetime.as_millis() as u64,
                    redeemed_grant: None,
                })
            };
            let mut params = vec![("code", code.as_str())];
            if let Some(state) = pending.state.as_deref() {
                params.push(("state", state));
            }
            redirect_with(&pending.redirect_uri, &params)
        }
        _ => error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "Choose Allow or Deny.",
        ),
    }
}
