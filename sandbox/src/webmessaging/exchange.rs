//! The HTTP side of Web Messaging: the deployment's public `config.json` and the guest token
//! endpoints (code exchange, refresh, revoke), with no Authorization header but on revoke.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::relying_party::{CodeRedemption, RpError};
use super::tokens::now_ms;
use super::{agent, gateway_url, public_origin, WebMessaging};
use crate::respond::{no_store, ApiError};
use crate::SandboxState;

fn web_messaging(state: &SandboxState) -> Result<Arc<WebMessaging>, ApiError> {
    state.inner.web_messaging.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not.found",
            "Web Messaging is not configured.",
        )
    })
}

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad.credentials", message)
}

fn idp_failure(e: RpError) -> ApiError {
    match e {
        RpError::Refused(m) => unauthorized(m),
        RpError::Unavailable(m) => ApiError::new(StatusCode::BAD_GATEWAY, "bad.gateway", m),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid: {e}")))
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ApiError::templated(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "The field {field} is required.",
            &[("field", name.to_string())],
        )),
    }
}

/// `GET /webdeployments/v1/deployments/{id}/config.json`: public, what the Messenger loads.
pub(crate) async fn deployment_config(
    State(state): State<SandboxState>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let wm = web_messaging(&state)?;
    wm.deployment(&file_id)?;
    let origin = public_origin(&state, &headers);
    let gateway = gateway_url(&origin, &wm.config.deployment_id);
    let messaging_endpoint = gateway.origin().ascii_serialization();
    let body = json!({
        "id": wm.config.deployment_id,
        "version": "1",
        "languages": ["en-us"],
        "defaultLanguage": "en-us",
        "apiEndpoint": origin.origin().ascii_serialization(),
        "messenger": {
            "enabled": true,
            "apps": { "conversations": {
                "enabled": true,
                "messagingEndpoint": messaging_endpoint,
                "showAgentTypingIndicator": false,
                "showUserTypingIndicator": false,
                "autoStart": { "enabled": false },
                "conversationDisconnect": { "enabled": false, "type": "Send" },
                "conversationClear": { "enabled": true },
            } },
            "styles": { "primaryColor": "#ff4f1f" },
            "launcherButton": { "visibility": "On" },
            "fileUpload": { "enableAttachments": false, "modes": [] },
        },
        "journeyEvents": { "enabled": false },
        "status": "Active",
        "auth": {
            "enabled": wm.config.auth_enabled,
            "allowSessionUpgrade": wm.config.allow_session_upgrade,
        },
    });
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExchangeBody {
    deployment_id: Option<String>,
    #[serde(default)]
    journey_context: Option<serde_json::Value>,
    oauth: Option<OAuthBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OAuthBody {
    code: Option<String>,
    redirect_uri: Option<String>,
    nonce: Option<String>,
    max_age: Option<i64>,
    code_verifier: Option<String>,
    iss: Option<String>,
}

/// RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
fn check_verifier(v: &str) -> Result<(), ApiError> {
    let ok_chars = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'));
    if (43..=128).contains(&v.len()) && ok_chars {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "oauth.codeVerifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~'.",
    ))
}

/// `POST /api/v2/webdeployments/token/oauthcodegrantjwtexchange` (no Authorization header).
pub(crate) async fn code_exchange(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let wm = web_messaging(&state)?;
    if let Some(fault) = crate::api::injected_fault(&state.faults()) {
        return Err(fault);
    }
    let body: ExchangeBody = parse(&body)?;
    let deployment_id = required(&body.deployment_id, "deploymentId")?.to_string();
    if body
        .journey_context
        .as_ref()
        .is_some_and(|j| !j.is_object())
    {
        return Err(ApiError::bad_request("journeyContext must be an object."));
    }
    let Some(oauth) = body.oauth else {
        return Err(required(&None, "oauth").unwrap_err());
    };
    let code = required(&oauth.code, "oauth.code")?.to_string();
    let redirect_uri = required(&oauth.redirect_uri, "oauth.redirectUri")?.to_string();
    if url::Url::parse(&redirect_uri).is_err() {
        return Err(ApiError::bad_request(
            "oauth.redirectUri must be an absolute URL.",
        ));
    }
    if let Some(v) = &oauth.code_verifier {
        check_verifier(v)?;
    }
    let max_age = match oauth.max_age {
        Some(m) if m < 0 => {
            return Err(ApiError::bad_request("oauth.maxAge must not be negative."))
        }
        m => m.map(|m| m.unsigned_abs()),
    };
    wm.deployment(&deployment_id)?;
    if !wm.config.auth_enabled {
        return Err(ApiError::bad_request(
            "Authentication is not enabled for this deployment.",
        ));
    }
    if let Some(iss) = &oauth.iss {
        if iss.trim_end_matches('/') != wm.rp.issuer() {
            return Err(ApiError::bad_request(
                "oauth.iss is not the issuer of the deployment's identity provider.",
            ));
        }
    }
    let grant = wm
        .rp
        .redeem(CodeRedemption {
            code,
            redirect_uri,
            nonce: oauth.nonce.filter(|n| !n.is_empty()),
            max_age,
            code_verifier: oauth.code_verifier,
        })
        .await
        .map_err(idp_failure)?;
    let guest = grant
        .guest
        .clone()
        .ok_or_else(|| unauthorized("The identity provider returned no ID token."))?;
    let (jwt, refresh_token) = wm.tokens.start(&deployment_id, guest, &grant);
    if jwt.is_empty() {
        return Err(unauthorized(
            "The identity provider's token has already expired.",
        ));
    }
    let body = json!({ "jwt": jwt, "refreshToken": refresh_token });
    Ok((no_store(), Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefreshBody {
    refresh_token: Option<String>,
    deployment_id: Option<String>,
}

/// `POST /api/v2/webdeployments/token/refresh`: a new JWT; the refresh token is not rotated.
pub(crate) async fn refresh(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let wm = web_messaging(&state)?;
    if let Some(fault) = crate::api::injected_fault(&state.faults()) {
        return Err(fault);
    }
    let body: RefreshBody = parse(&body)?;
    let refresh_token = required(&body.refresh_token, "refreshToken")?;
    let deployment_id = required(&body.deployment_id, "deploymentId")?;
    wm.deployment(deployment_id)?;
    let refused = || unauthorized("The refresh token is not valid.");
    let session = wm
        .tokens
        .by_refresh_token(refresh_token)
        .ok_or_else(refused)?;
    // One refresh at a time per session: the IdP rotates its refresh token.
    let mut s = session.lock().await;
    if s.deployment_id != deployment_id || s.refresh_expires_at_ms <= now_ms() {
        return Err(refused());
    }
    if wm.tokens.is_revoked(&s.sid) {
        return Err(refused());
    }
    let jwt = match wm.tokens.jwt(&s) {
        Some(jwt) => jwt,
        None => {
            let Some(idp_refresh) = s.idp_refresh_token.clone() else {
                return Err(unauthorized(
                    "The guest must sign in again: the identity provider gave no refresh token.",
                ));
            };
            let grant = match wm.rp.refresh(&idp_refresh, &s.guest.sub).await {
                Ok(g) => g,
                Err(RpError::Refused(m)) => {
                    let sid = s.sid.clone();
                    drop(s);
                    end_session(&wm, &sid);
                    return Err(unauthorized(m));
                }
                Err(e) => return Err(idp_failure(e)),
            };
            if let Some(guest) = grant.guest {
                s.guest = guest;
            }
            if let Some(rotated) = grant.refresh_token {
                s.idp_refresh_token = Some(rotated);
            }
            s.idp_expires_at_ms = now_ms().saturating_add(
                grant
                    .expires_in
                    .map_or(i64::MAX / 4, |d| i64::try_from(d.as_millis()).unwrap_or(0)),
            );
            wm.tokens
                .jwt(&s)
                .ok_or_else(|| unauthorized("The identity provider's token has expired."))?
        }
    };
    Ok((no_store(), Json(json!({ "jwt": jwt }))).into_response())
}

/// Kills the auth session and logs its sockets out.
fn end_session(wm: &WebMessaging, sid: &str) {
    wm.tokens.revoke(sid);
    wm.conversations
        .logout(sid, || agent::presence(&wm.config.agent, "Disconnect"));
}

/// `DELETE /api/v2/webdeployments/token/revoke` with `Authorization: bearer <jwt>`.
pub(crate) async fn revoke(
    State(state): State<SandboxState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let wm = web_messaging(&state)?;
    if let Some(fault) = crate::api::injected_fault(&state.faults()) {
        return Err(fault);
    }
    for name in ["x-journey-session-id", "x-journey-session-type"] {
        if headers
            .get(name)
            .is_some_and(|v| v.len() > 256 || v.to_str().is_err())
        {
            return Err(ApiError::bad_request(format!(
                "The header {name} is not valid."
            )));
        }
    }
    let jwt = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            )
        })?;
    let claims = wm
        .tokens
        .verify(jwt)
        .map_err(|_| unauthorized("Invalid login credentials."))?;
    end_session(&wm, &claims.sid);
    Ok(StatusCode::NO_CONTENT.into_response())
}
