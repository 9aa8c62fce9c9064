//! Upstream errors onto the UI's error type: the token endpoint's, the authorization
//! endpoint's (an `error` on the callback), the Platform API's and the guest provider's.

use genesys::{ApiError, OAuthError};

use crate::model::AppError;

/// An error of the token endpoint.
pub fn from_oauth(e: OAuthError) -> AppError {
    match e {
        OAuthError::Token {
            error, description, ..
        } => {
            let description = description.unwrap_or_else(|| error.clone());
            from_oauth_code(error, description)
        }
        OAuthError::RateLimited { retry_after } => AppError::RateLimited {
            retry_after_secs: retry_after.as_secs().max(1),
            context_id: None,
        },
        OAuthError::Timeout => AppError::UpstreamTimeout,
        OAuthError::Transport(detail) => AppError::UpstreamUnavailable {
            detail,
            context_id: None,
        },
        OAuthError::Upstream { status } => AppError::Upstream {
            status,
            message: format!("the token endpoint answered HTTP {status}"),
            context_id: None,
        },
        OAuthError::Malformed(reason) => AppError::Upstream {
            status: 502,
            message: format!("the token endpoint sent a malformed answer: {reason}"),
            context_id: None,
        },
    }
}

/// An OAuth error code with its description, from the token endpoint (RFC 6749 §5.2) or the
/// callback's `error` parameter (§4.1.2.1).
pub fn from_oauth_code(code: String, description: String) -> AppError {
    match code.as_str() {
        "invalid_grant" => AppError::InvalidGrant { description },
        "invalid_client" | "unauthorized_client" => AppError::InvalidClient { description },
        "access_denied" => AppError::AccessDenied { description },
        _ => AppError::OAuth { code, description },
    }
}

/// The error codes the callback may carry: RFC 6749 §4.1.2.1's, plus `invalid_client`, which
/// Genesys sends for an unknown client. Another code is shown as `unknown_error`, not echoed.
pub const CALLBACK_ERROR_CODES: [&str; 8] = [
    "invalid_request",
    "invalid_client",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
];

/// An error of the Platform API.
pub fn from_api(e: ApiError) -> AppError {
    let context_id = e.context_id().map(str::to_string);
    match e {
        ApiError::Unauthorized { .. } => AppError::SessionExpired,
        ApiError::Forbidden { message, .. } => AppError::MissingScope {
            scope: missing_scope(&message),
            message,
            context_id,
        },
        ApiError::NotFound { .. } => AppError::NotFound,
        ApiError::BadRequest { message, .. } => AppError::BadRequest { message },
        ApiError::RateLimited { retry_after, .. } => AppError::RateLimited {
            retry_after_secs: retry_after.as_secs().max(1),
            context_id,
        },
        ApiError::Timeout => AppError::UpstreamTimeout,
        ApiError::Transport(detail) => AppError::UpstreamUnavailable { detail, context_id },
        ApiError::Upstream {
            status, message, ..
        } => AppError::Upstream {
            status,
            message,
            context_id,
        },
        other => AppError::Upstream {
            status: 502,
            message: other.to_string(),
            context_id,
        },
    }
}

/// Genesys names the missing scope in its 403 message; pick out a known users scope if so.
fn missing_scope(message: &str) -> Option<String> {
    ["users:readonly", "users", "user-basic-info"]
        .iter()
        .find(|s| message.contains(*s))
        .map(|s| s.to_string())
}

/// An error of the guest identity provider.
pub fn from_idp(e: guest_idp::IdpError) -> AppError {
    match e {
        // `given_name` → "Given name must be …": the form's own words for the field.
        guest_idp::IdpError::Invalid { field, message } => {
            let field = field.replace('_', " ");
            let mut chars = field.chars();
            let field: String = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            AppError::BadRequest {
                message: format!("{field} {message}."),
            }
        }
        guest_idp::IdpError::NotFound => AppError::NotFound,
        other => {
            tracing::error!(error = %other, "guest identity provider error");
            AppError::internal("the guest directory is unavailable")
        }
    }
}
