//! `GET /oauth/authorize`: checks the client and redirect URI (errors stay on this host until
//! both are right), then the rest of the request by RFC 6749 §4.1.1 and RFC 7636, by redirect.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::sign_in::sign_in_page;
use super::{granted_scopes, is_pkce_string, redirect_error, Params};
use crate::config::Grant;
use crate::respond::error_page;
use crate::store::{now_ms, PendingAuthorization, PENDING_LIFETIME_MS};
use crate::SandboxState;

/// Longest `state` accepted (it is echoed back in a URL).
const MAX_STATE_LEN: usize = 2048;

/// `GET /oauth/authorize`.
pub(crate) async fn authorize(
    State(s): State<SandboxState>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    // Until client and redirect URI are known to be right, errors stay on this host: a
    // redirect to an unchecked URI would make the sandbox an open redirector.
    let client = match params.get("client_id").and_then(|id| s.client(id)) {
        Some(c) if !params.repeated.iter().any(|k| k == "client_id") => c,
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Unknown OAuth client",
                "The client_id is missing, repeated or not registered with this sandbox.",
            )
        }
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri)
            if client.redirect_uris.iter().any(|r| r == uri)
                && !params.repeated.iter().any(|k| k == "redirect_uri") =>
        {
            uri.to_string()
        }
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Redirect URI mismatch",
                &format!(
                    "The redirect_uri is missing or is not one registered for the OAuth client {}.",
                    client.id
                ),
            )
        }
    };
    let state = params.get("state");
    let fail =
        |error: &str, description: &str| redirect_error(&redirect_uri, state, error, description);

    if let Some(name) = params.repeated.first() {
        return fail(
            "invalid_request",
            &format!("The parameter {name} is repeated."),
        );
    }
    if state.is_some_and(|st| st.len() > MAX_STATE_LEN) {
        return redirect_error(
            &redirect_uri,
            None,
            "invalid_request",
            "The state is too long.",
        );
    }
    if params.get("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "Only response_type=code is supported.",
        );
    }
    if !client.allows(Grant::AuthorizationCode) {
        return fail(
            "unauthorized_client",
            "This client may not use the authorization code grant.",
        );
    }
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    match (challenge, method) {
        (None, None) if client.is_public() => {
            return fail(
                "invalid_request",
                "A public client must send code_challenge with code_challenge_method=S256.",
            )
        }
        (None, None) => {}
        (Some(c), Some("S256")) if is_pkce_string(c) => {}
        (Some(_), Some("S256")) => {
            return fail("invalid_request", "The code_challenge is malformed.")
        }
        (Some(_), _) => return fail("invalid_request", "code_challenge_method must be S256."),
        (None, Some(_)) => {
            return fail(
                "invalid_request",
                "code_challenge_method without code_challenge.",
            )
        }
    }
    let scopes = match granted_scopes(&client.scopes, params.get("scope")) {
        Ok(scopes) => scopes,
        Err(bad) => {
            return fail(
                "invalid_scope",
                &format!("The scope {bad} is not allowed for this client."),
            )
        }
    };
    let pending = PendingAuthorization {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        state: state.map(str::to_string),
        code_challenge: challenge.map(str::to_string),
        scopes,
        expires_ms: now_ms() + PENDING_LIFETIME_MS,
    };
    let Some(pending_id) = s.store().add_pending(pending.clone()) else {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many sign-ins in progress",
            "Try again in a few minutes.",
        );
    };
    sign_in_page(&s, StatusCode::OK, &pending_id, &pending, None)
}
