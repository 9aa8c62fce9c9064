//! Why the token manager could not hand out a token or could not start, with the short,
//! stable reasons the metrics and audit records use and which failures need someone to act.

use super::webhook::WebhookError;
use crate::api::ApiError;
use crate::oauth::OAuthError;

/// Why no token could be had. Cloned to every caller that waited on the same request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AcquireError {
    /// The token request failed.
    #[error(transparent)]
    Token(#[from] OAuthError),
    /// The new token could not be checked with `/api/v2/tokens/me`, so it was not used.
    #[error("the new token could not be checked with /api/v2/tokens/me: {0}")]
    Inspect(Box<ApiError>),
    /// The token belongs to another OAuth client.
    #[error("the token belongs to OAuth client {actual}, not {expected}")]
    WrongClient {
        /// The configured client.
        expected: String,
        /// The client `/api/v2/tokens/me` named.
        actual: String,
    },
    /// The token lacks required scopes.
    #[error("the token lacks the required scope(s) {}", missing.join(", "))]
    MissingScope {
        /// The required scopes not granted.
        missing: Vec<String>,
        /// The scopes the token has.
        granted: Vec<String>,
    },
    /// The manager was shut down.
    #[error("the token manager is stopped")]
    Stopped,
    /// The token request's task ended without an answer (it panicked).
    #[error("the token request was interrupted")]
    Interrupted,
}

impl AcquireError {
    /// A short, stable reason for metrics and audit records.
    pub fn reason(&self) -> &'static str {
        match self {
            AcquireError::Token(e) => match e {
                OAuthError::Token { error, .. } => match error.as_str() {
                    "invalid_client" => "invalid_client",
                    "invalid_scope" => "invalid_scope",
                    "unauthorized_client" => "unauthorized_client",
                    "invalid_grant" => "invalid_grant",
                    _ => "token_refused",
                },
                OAuthError::RateLimited { .. } => "rate_limited",
                OAuthError::Malformed(_) => "malformed",
                OAuthError::Timeout => "timeout",
                OAuthError::Transport(_) => "transport",
                OAuthError::Upstream { .. } => "upstream",
            },
            AcquireError::Inspect(_) => "inspect_failed",
            AcquireError::WrongClient { .. } => "wrong_client",
            AcquireError::MissingScope { .. } => "missing_scope",
            AcquireError::Stopped => "stopped",
            AcquireError::Interrupted => "interrupted",
        }
    }

    /// Whether retrying cannot help until someone changes the configuration: the client is
    /// refused, or its tokens are not what is required.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self.reason(),
            "invalid_client"
                | "invalid_scope"
                | "unauthorized_client"
                | "wrong_client"
                | "missing_scope"
        )
    }

    /// Whether a token was obtained but refused by validation.
    pub fn is_refused_token(&self) -> bool {
        matches!(
            self,
            AcquireError::WrongClient { .. } | AcquireError::MissingScope { .. }
        )
    }
}

/// Why the manager could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The webhook could not be set up.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// A setting is out of range.
    #[error("invalid token manager setting: {0}")]
    InvalidConfig(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_and_attention() {
        let refused = |error: &str| {
            AcquireError::Token(OAuthError::Token {
                status: 401,
                error: error.into(),
                description: None,
            })
        };
        assert_eq!(refused("invalid_client").reason(), "invalid_client");
        assert!(refused("invalid_client").needs_attention());
        assert!(refused("invalid_scope").needs_attention());
        assert_eq!(refused("temporarily_unavailable").reason(), "token_refused");
        assert!(!refused("temporarily_unavailable").needs_attention());
        assert!(!AcquireError::Token(OAuthError::Timeout).needs_attention());
        assert_eq!(
            AcquireError::Token(OAuthError::Upstream { status: 503 }).reason(),
            "upstream"
        );
        let missing = AcquireError::MissingScope {
            missing: vec!["users".into(), "x".into()],
            granted: vec![],
        };
        assert_eq!(
            missing.to_string(),
            "the token lacks the required scope(s) users, x"
        );
    }
}
