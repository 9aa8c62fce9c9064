//! Provider metadata (OIDC Discovery 1.0 §3, RFC 8414) and the JWK Set (RFC 7517 §5) that
//! relying parties verify ID tokens with.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::config::SUPPORTED_SCOPES;
use crate::Idp;

/// The claims this provider can put in ID tokens and userinfo (custom attributes come on top).
pub(crate) const CLAIMS_SUPPORTED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "email",
    "given_name",
    "family_name",
    "name",
];

pub(crate) async fn configuration(State(idp): State<Idp>) -> Response {
    let body = serde_json::json!({
        "issuer": idp.issuer().as_str(),
        "authorization_endpoint": idp.endpoint("/authorize"),
        "token_endpoint": idp.endpoint("/token"),
        "userinfo_endpoint": idp.endpoint("/userinfo"),
        "jwks_uri": idp.endpoint("/jwks"),
        "end_session_endpoint": idp.endpoint("/end-session"),
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
    });
    cacheable(Json(body).into_response(), "public, max-age=60")
}

pub(crate) async fn jwks(State(idp): State<Idp>) -> Response {
    let mut r = cacheable(
        Json(idp.keys().jwks()).into_response(),
        "public, max-age=60",
    );
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    r
}

fn cacheable(mut r: Response, cache_control: &'static str) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    r
}
