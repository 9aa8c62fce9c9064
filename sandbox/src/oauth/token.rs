//! `POST /oauth/token`: the authorization code grant (with the PKCE check and code-replay
//! revocation), refresh with rotation, client credentials, and the injected token faults.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use genesys::PkceChallenge;
use genesys::{AccessToken, RefreshToken};
use genesys::{TokenResponse, UserState};
use subtle::ConstantTimeEq;

use super::client_auth::authenticate;
use super::{granted_scopes, is_pkce_string, Params};
use crate::config::Grant;
use crate::respond::{no_store, TokenError};
use crate::store::GrantRefusal;
use crate::SandboxState;

fn token_answer(lifetime_secs: u64, access: String, refresh: Option<String>) -> Response {
    let body = TokenResponse {
        access_token: AccessToken::new(access),
        token_type: "bearer".into(),
        // Genesys counts the second the answer took: a 86,400 s token says 86399.
        expires_in: lifetime_secs.saturating_sub(1).max(1),
        refresh_token: refresh.map(RefreshToken::new),
    };
    (StatusCode::OK, no_store(), Json(body)).into_response()
}

fn refusal(r: GrantRefusal, what: &str) -> TokenError {
    TokenError::invalid_grant(r.description(what))
}

/// `POST /oauth/token`.
pub(crate) async fn token(
    State(s): State<SandboxState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.stats().token_request(&body);
    let faults = s.faults().get();
    if faults.token_endpoint_down {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            no_store(),
            Json(genesys::TokenErrorBody {
                error: "temporarily_unavailable".into(),
                description: Some("The login service is unavailable (sandbox fault).".into()),
                error_description: Some("The login service is unavailable (sandbox fault).".into()),
            }),
        )
            .into_response();
    }
    if faults.malformed_token_body {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"access_token\": \"trunc",
        )
            .into_response();
    }
    let answer = issue(&s, &headers, &body).unwrap_or_else(IntoResponse::into_response);
    if faults.token_answer_lost {
        return lost_in_transit(answer);
    }
    answer
}

/// The answer's head goes out, then its body fails: the client sees the connection die
/// mid-answer, after the sandbox has committed whatever the request did.
fn lost_in_transit(answer: Response) -> Response {
    let (mut parts, _) = answer.into_parts();
    parts.headers.insert(
        header::CONTENT_LENGTH,
        header::HeaderValue::from_static("512"),
    );
    let failing = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: the answer was lost",
        ))
    });
    Response::from_parts(parts, axum::body::Body::from_stream(failing))
}

fn issue(s: &SandboxState, headers: &HeaderMap, body: &[u8]) -> Result<Response, TokenError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(TokenError::invalid_request(
            "The body must be application/x-www-form-urlencoded.",
        ));
    }
    let form = Params::parse(body);
    if let Some(name) = form.repeated.first() {
        return Err(TokenError::invalid_request(format!(
            "The parameter {name} is repeated."
        )));
    }
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| TokenError::invalid_request("grant_type is required."))?;
    let client = authenticate(s, headers, &form)?;
    let lifetime = client.token_lifetime_secs;
    let unauthorized = |why: &str| TokenError::new("unauthorized_client", why.to_string());

    match grant_type {
        "authorization_code" => {
            if !client.allows(Grant::AuthorizationCode) {
                return Err(unauthorized(
                    "This client may not use the authorization code grant.",
                ));
            }
            let code = form
                .get("code")
                .ok_or_else(|| TokenError::invalid_request("code is required."))?;
            let redirect_uri = form
                .get("redirect_uri")
                .ok_or_else(|| TokenError::invalid_request("redirect_uri is required."))?;
            let mut store = s.store();
            let record = store
                .redeem_code(code, &client.id)
                .map_err(|r| refusal(r, "authorization code"))?;
            let mut fail = |why: &str| {
                store.burn_code(code);
                TokenError::invalid_grant(why.to_string())
            };
            if record.redirect_uri != redirect_uri {
                return Err(fail(
                    "redirect_uri does not match the authorization request.",
                ));
            }
            match (&record.code_challenge, form.get("code_verifier")) {
                (Some(_), None) => return Err(fail("code_verifier is required.")),
                (Some(challenge), Some(verifier)) => {
                    if !verifier_matches(verifier, challenge) {
                        return Err(fail("The code_verifier does not match the code_challenge."));
                    }
                }
                (None, Some(_)) => {
                    return Err(fail(
                        "code_verifier sent, but the authorization request had no code_challenge.",
                    ))
                }
                (None, None) => {}
            }
            let active = s
                .org()
                .index_of_id(&record.user_id)
                .is_some_and(|i| s.org().user(i).state == UserState::Active);
            if !active {
                return Err(fail("The user can no longer sign in."));
            }
            let with_refresh = !client.is_public() && client.allows(Grant::RefreshToken);
            let tokens = store.issue_grant(
                &client.id,
                Some(record.user_id.clone()),
                record.scopes.clone(),
                lifetime,
                with_refresh,
                Some(code),
            );
            Ok(token_answer(
                lifetime,
                tokens.access_token,
                tokens.refresh_token,
            ))
        }
        "refresh_token" => {
            if client.is_public() || !client.allows(Grant::RefreshToken) {
                return Err(unauthorized("This client may not use refresh tokens."));
            }
            let refresh = form
                .get("refresh_token")
                .ok_or_else(|| TokenError::invalid_request("refresh_token is required."))?;
            let tokens = s
                .store()
                .refresh(refresh, &client.id, lifetime)
                .map_err(|r| {
                    if matches!(r, GrantRefusal::Reused) {
                        s.stats().refresh_token_reused();
                    }
                    refusal(r, "refresh token")
                })?;
            Ok(token_answer(
                lifetime,
                tokens.access_token,
                tokens.refresh_token,
            ))
        }
        "client_credentials" => {
            if client.is_public() || !client.allows(Grant::ClientCredentials) {
                return Err(unauthorized(
                    "This client may not use the client credentials grant.",
                ));
            }
            let scopes = granted_scopes(&client.scopes, form.get("scope")).map_err(|bad| {
                TokenError::new(
                    "invalid_scope",
                    format!("The scope {bad} is not allowed for this client."),
                )
            })?;
            let tokens = s
                .store()
                .issue_grant(&client.id, None, scopes, lifetime, false, None);
            Ok(token_answer(lifetime, tokens.access_token, None))
        }
        other => Err(TokenError::new(
            "unsupported_grant_type",
            format!("The grant type {other} is not supported."),
        )),
    }
}

/// Whether `verifier` is a well-formed verifier whose S256 challenge is `challenge` (RFC 7636
/// §4.6), compared in constant time.
fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    is_pkce_string(verifier)
        && bool::from(
            PkceChallenge::s256_of(verifier)
                .as_bytes()
                .ct_eq(challenge.as_bytes()),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert!(verifier_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
