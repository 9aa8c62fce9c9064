//! OAuth error responses of the token endpoint (RFC 6749 §5.2) and the redirect-borne errors
//! of the authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6), plus RFC 9207's `iss`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::pages;

/// A token-endpoint error: JSON `{error, error_description}`, no-store.
#[derive(Debug)]
pub(crate) struct TokenError {
    pub code: &'static str,
    pub description: String,
    /// `Some("Basic")` when the client authenticated (or should have) with HTTP Basic.
    pub www_authenticate: Option<&'static str>,
}

impl TokenError {
    pub(crate) fn new(code: &'static str, description: impl Into<String>) -> TokenError {
        TokenError {
            code,
            description: description.into(),
            www_authenticate: None,
        }
    }
    pub(crate) fn invalid_request(d: impl Into<String>) -> TokenError {
        TokenError::new("invalid_request", d)
    }
    pub(crate) fn invalid_grant(d: impl Into<String>) -> TokenError {
        TokenError::new("invalid_grant", d)
    }
    pub(crate) fn invalid_client(basic: bool) -> TokenError {
        TokenError {
            code: "invalid_client",
            description: "client authentication failed".into(),
            www_authenticate: basic.then_some("Basic realm=\"guest-idp\", charset=\"UTF-8\""),
        }
    }
    pub(crate) fn server_error() -> TokenError {
        TokenError::new("server_error", "the provider failed; try again")
    }
}

impl From<crate::IdpError> for TokenError {
    fn from(e: crate::IdpError) -> Self {
        tracing::error!(error = %e, "guest IdP token endpoint failed");
        TokenError::server_error()
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let status = match self.code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = serde_json::json!({ "error": self.code, "error_description": self.description });
        let mut r = (status, axum::Json(body)).into_response();
        pages::no_store(r.headers_mut());
        if let Some(challenge) = self.www_authenticate {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        r
    }
}

/// Redirects an authorization error to the verified `redirect_uri` with `error`,
/// `error_description`, `state` and `iss`.
pub(crate) fn authorize_error_redirect(
    redirect_uri: &Url,
    code: &str,
    description: &str,
    state: Option<&str>,
    issuer: &Url,
) -> Response {
    let mut target = redirect_uri.clone();
    {
        let mut q = target.query_pairs_mut();
        q.append_pair("error", code);
        q.append_pair("error_description", description);
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer.as_str());
    }
    pages::redirect(StatusCode::FOUND, target.as_str())
}
