//! `GET|POST /userinfo` (OIDC Core §5.3): the guest's claims for a live access token, sent as
//! `Authorization: Bearer` or, on POST, as the form field `access_token` (RFC 6750 §2.1, §2.2).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::clock::now_ms;
use crate::form::Params;
use crate::id_token::user_claims;
use crate::pages;
use crate::secret::token_hash;
use crate::store;
use crate::Idp;

const MAX_BODY: usize = 16 * 1024;

/// An RFC 6750 §3 challenge: `None` for a request without any token (no error code then).
fn challenge(status: StatusCode, error: Option<(&str, &str)>) -> Response {
    let value = match error {
        Some((code, description)) => {
            format!(
                "Bearer realm=\"guest-idp\", error=\"{code}\", error_description=\"{description}\""
            )
        }
        None => "Bearer realm=\"guest-idp\"".to_owned(),
    };
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    pages::no_store(r.headers_mut());
    r
}

fn invalid_token() -> Response {
    challenge(
        StatusCode::UNAUTHORIZED,
        Some(("invalid_token", "the access token is invalid or expired")),
    )
}

fn invalid_request(description: &str) -> Response {
    challenge(
        StatusCode::BAD_REQUEST,
        Some(("invalid_request", description)),
    )
}

pub(crate) async fn userinfo(
    State(idp): State<Idp>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let from_header = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => match v.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Some(token.trim().to_owned())
            }
            _ => return invalid_request("use the Bearer scheme"),
        },
        Some(Err(_)) => return invalid_request("unreadable Authorization header"),
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let from_body = if method == Method::POST && is_form {
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
            return invalid_request("the body is too large");
        };
        match Params::parse(&bytes) {
            Ok(p) => p.get("access_token").map(str::to_owned),
            Err(_) => return invalid_request("the body is malformed"),
        }
    } else {
        None
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => return invalid_request("send the token one way only"),
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return challenge(StatusCode::UNAUTHORIZED, None),
    };
    if token.len() > 256 {
        return invalid_token();
    }
    let found = match store::grants::access(idp.pool(), &token_hash(&token), now_ms()).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "guest IdP userinfo failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let Some((guest_id, scope)) =
        found.filter(|(_, scope)| scope.split(' ').any(|s| s == "openid"))
    else {
        return invalid_token();
    };
    let guest = match store::guests::get(idp.pool(), &guest_id).await {
        Ok(g) => g.filter(|g| !g.disabled),
        Err(e) => {
            tracing::error!(error = %e, "guest IdP userinfo failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let Some(guest) = guest else {
        return invalid_token();
    };
    let mut r = Json(serde_json::Value::Object(user_claims(&guest, &scope))).into_response();
    pages::no_store(r.headers_mut());
    r
}
