//! Glue from the `genesys` crate to the UI: its errors onto the UI's error type, and the
//! picture of a user.

use genesys::{ApiError, OAuthError};

use crate::error::AppError;

/// An error of the token endpoint.
pub fn from_oauth(e: OAuthError) -> AppError {
    match e {
        OAuthError::Token {
            error, description, ..
        } => {
            let description = description.unwrap_or_else(|| error.clone());
            match error.as_str() {
                "invalid_grant" => AppError::InvalidGrant { description },
                "invalid_client" | "unauthorized_client" => AppError::InvalidClient { description },
                "access_denied" => AppError::AccessDenied { description },
                _ => AppError::OAuth {
                    code: error,
                    description,
                },
            }
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

/// The URL of a user's picture at `resolution` (else the first one), https only: the page's
/// CSP allows no other image scheme, and an http picture would be mixed content.
pub fn picture(images: Option<&[genesys::wire::UserImage]>, resolution: &str) -> Option<String> {
    let images = images?;
    images
        .iter()
        .find(|i| i.resolution == resolution)
        .or(images.first())
        .map(|i| i.image_uri.clone())
        .filter(|u| u.starts_with("https://"))
}
