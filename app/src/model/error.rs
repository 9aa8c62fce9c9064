//! The one error type the UI knows: every server function returns it, so a page can tell
//! "not signed in" from "rate limited, retry in 12 s" from "Genesys is down".

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in terms the user (or their Genesys admin) can act on. Never carries a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("You are not signed in.")]
    NotSignedIn,
    #[error("Your session has ended. Sign in again to continue.")]
    SessionExpired,
    #[error("Sign-in was cancelled: {description}")]
    AccessDenied { description: String },
    #[error("The sign-in could not be completed: {description}")]
    InvalidGrant { description: String },
    #[error("Genesys Cloud rejected this application's OAuth client: {description}")]
    InvalidClient { description: String },
    #[error("Genesys Cloud refused the sign-in ({code}): {description}")]
    OAuth { code: String, description: String },
    #[error("This sign-in response is not one this browser started.")]
    ForgedCallback,
    #[error("This sign-in was already completed by an earlier response to it.")]
    SignInCompleted,
    #[error("The portal's session store is not answering; your session is kept.")]
    StoreUnavailable,
    #[error("Your Genesys Cloud permissions do not allow this{}", scope_hint(.scope))]
    MissingScope {
        scope: Option<String>,
        message: String,
        context_id: Option<String>,
    },
    #[error("Genesys Cloud is rate limiting requests; try again in {retry_after_secs} s.")]
    RateLimited {
        retry_after_secs: u64,
        context_id: Option<String>,
    },
    #[error("Genesys Cloud did not answer in time.")]
    UpstreamTimeout,
    #[error("Genesys Cloud could not be reached: {detail}")]
    UpstreamUnavailable {
        detail: String,
        context_id: Option<String>,
    },
    #[error("Genesys Cloud answered with an error: {message}")]
    Upstream {
        status: u16,
        message: String,
        context_id: Option<String>,
    },
    #[error("{message}")]
    BadRequest { message: String },
    #[error("Not found.")]
    NotFound,
    #[error("This page is for the portal's admins (PORTAL_ADMINS).")]
    NotAdmin,
    #[error("This portal has no {what} configured.")]
    NotConfigured { what: String },
    #[error("Something went wrong on our side: {message}")]
    Internal { message: String },
}

fn scope_hint(scope: &Option<String>) -> String {
    match scope {
        Some(s) => format!(": the `{s}` scope is missing"),
        None => ".".to_string(),
    }
}

impl AppError {
    /// The HTTP status a page showing this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotSignedIn | AppError::SessionExpired => 401,
            AppError::AccessDenied { .. } | AppError::MissingScope { .. } => 403,
            AppError::InvalidGrant { .. }
            | AppError::OAuth { .. }
            | AppError::ForgedCallback
            | AppError::SignInCompleted
            | AppError::BadRequest { .. } => 400,
            AppError::StoreUnavailable => 503,
            AppError::InvalidClient { .. } => 502,
            AppError::RateLimited { .. } => 429,
            AppError::UpstreamTimeout => 504,
            AppError::UpstreamUnavailable { .. } => 503,
            AppError::Upstream { .. } => 502,
            AppError::NotFound => 404,
            AppError::NotAdmin => 403,
            AppError::NotConfigured { .. } => 501,
            AppError::Internal { .. } => 500,
        }
    }

    /// A stable name for the kind of error (the page's `data-kind`), for tests, monitoring and
    /// styling: unlike the wording, it does not change when the copy does.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::NotSignedIn => "not-signed-in",
            AppError::SessionExpired => "session-expired",
            AppError::AccessDenied { .. } => "access-denied",
            AppError::InvalidGrant { .. } => "invalid-grant",
            AppError::InvalidClient { .. } => "invalid-client",
            AppError::OAuth { .. } => "oauth",
            AppError::ForgedCallback => "forged-callback",
            AppError::SignInCompleted => "sign-in-completed",
            AppError::StoreUnavailable => "store-unavailable",
            AppError::MissingScope { .. } => "missing-scope",
            AppError::RateLimited { .. } => "rate-limited",
            AppError::UpstreamTimeout => "upstream-timeout",
            AppError::UpstreamUnavailable { .. } => "upstream-unavailable",
            AppError::Upstream { .. } => "upstream",
            AppError::BadRequest { .. } => "bad-request",
            AppError::NotFound => "not-found",
            AppError::NotAdmin => "not-admin",
            AppError::NotConfigured { .. } => "not-configured",
            AppError::Internal { .. } => "internal",
        }
    }

    /// A short headline for the error page.
    pub fn title(&self) -> &'static str {
        match self {
            AppError::NotSignedIn => "Sign in required",
            AppError::SessionExpired => "Session ended",
            AppError::AccessDenied { .. } => "Sign-in cancelled",
            AppError::InvalidGrant { .. } => "Sign-in expired",
            AppError::InvalidClient { .. } => "OAuth client misconfigured",
            AppError::OAuth { .. } => "Sign-in refused",
            AppError::ForgedCallback => "Unrecognised sign-in response",
            AppError::SignInCompleted => "Sign-in already completed",
            AppError::StoreUnavailable => "Briefly unavailable",
            AppError::MissingScope { .. } => "Permission missing",
            AppError::RateLimited { .. } => "Too many requests",
            AppError::UpstreamTimeout => "Genesys Cloud is slow",
            AppError::UpstreamUnavailable { .. } => "Genesys Cloud unreachable",
            AppError::Upstream { .. } => "Genesys Cloud error",
            AppError::BadRequest { .. } => "Invalid request",
            AppError::NotFound => "Not found",
            AppError::NotAdmin => "Admins only",
            AppError::NotConfigured { .. } => "Not set up",
            AppError::Internal { .. } => "Unexpected error",
        }
    }

    /// What the user (or their admin) can do about it.
    pub fn advice(&self) -> &'static str {
        match self {
            AppError::NotSignedIn | AppError::SessionExpired => "Sign in with Genesys Cloud to continue.",
            AppError::AccessDenied { .. } => "You declined to let genesys-portal use your Genesys Cloud account. Sign in again and choose Allow to continue.",
            AppError::InvalidGrant { .. } => "The sign-in code expired or was already used. Start the sign-in again.",
            AppError::InvalidClient { .. } => "Ask your Genesys Cloud admin to check the OAuth client in Admin > Integrations > OAuth: the client id and secret configured here, the grant type (Code Authorization or PKCE), and that the redirect URI matches this site's /auth/callback exactly.",
            AppError::OAuth { .. } => "Start the sign-in again. If it keeps failing, ask your Genesys Cloud admin to check the OAuth client.",
            AppError::ForgedCallback => "Nothing was changed. If you were signing in, start again from this site.",
            AppError::SignInCompleted => "Another response to the same sign-in arrived first (a second click or a retried request), and nothing was redeemed twice. Go to your dashboard: if you are not signed in there, start the sign-in again.",
            AppError::StoreUnavailable => "Nothing was lost and you are still signed in: the portal cannot reach its database for a moment. Try again in a few seconds.",
            AppError::MissingScope { .. } => "Ask your Genesys Cloud admin to add the scope to the OAuth client (Admin > Integrations > OAuth > Scope), then sign in again.",
            AppError::RateLimited { .. } => "Wait a moment and try again.",
            AppError::UpstreamTimeout | AppError::UpstreamUnavailable { .. } | AppError::Upstream { .. } => "Try again in a minute. If it persists, check status.mypurecloud.com and quote the context id below to Genesys support.",
            AppError::BadRequest { .. } => "Check the address and try again.",
            AppError::NotFound => "Check the address, or go back to the dashboard.",
            AppError::NotAdmin => "Ask whoever runs the portal to add your user id, username or email to PORTAL_ADMINS.",
            AppError::NotConfigured { .. } => "Whoever runs the portal can set it up: the README lists the settings.",
            AppError::Internal { .. } => "Try again. If it persists, contact the portal's operators.",
        }
    }

    /// Genesys' `contextId`, which support asks for.
    pub fn context_id(&self) -> Option<&str> {
        match self {
            AppError::MissingScope { context_id, .. }
            | AppError::RateLimited { context_id, .. }
            | AppError::UpstreamUnavailable { context_id, .. }
            | AppError::Upstream { context_id, .. } => context_id.as_deref(),
            _ => None,
        }
    }

    /// Whether the cure is signing in (again).
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            AppError::NotSignedIn
                | AppError::SessionExpired
                | AppError::InvalidGrant { .. }
                | AppError::AccessDenied { .. }
                | AppError::OAuth { .. }
                | AppError::ForgedCallback
        )
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        AppError::Internal {
            message: message.to_string(),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = super::codec::TextJson;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(detail) => AppError::UpstreamUnavailable {
                detail: format!("the portal server did not answer ({detail})"),
                context_id: None,
            },
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => {
                AppError::BadRequest { message: m }
            }
            other => AppError::Internal {
                message: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_the_kind_of_error() {
        assert_eq!(AppError::NotSignedIn.status(), 401);
        assert_eq!(AppError::NotAdmin.status(), 403);
        assert_eq!(
            AppError::NotConfigured {
                what: "service identity".into()
            }
            .status(),
            501
        );
        assert_eq!(
            AppError::RateLimited {
                retry_after_secs: 3,
                context_id: None
            }
            .status(),
            429
        );
        assert_eq!(
            AppError::MissingScope {
                scope: Some("users:readonly".into()),
                message: String::new(),
                context_id: None
            }
            .status(),
            403
        );
        assert_eq!(AppError::UpstreamTimeout.status(), 504);
        assert_eq!(AppError::StoreUnavailable.status(), 503);
        assert_eq!(AppError::SignInCompleted.status(), 400);
    }

    #[test]
    fn messages_name_the_wait_and_the_scope() {
        let e = AppError::RateLimited {
            retry_after_secs: 12,
            context_id: None,
        };
        assert!(e.to_string().contains("12 s"));
        let e = AppError::MissingScope {
            scope: Some("users:readonly".into()),
            message: String::new(),
            context_id: None,
        };
        assert!(e.to_string().contains("users:readonly"));
    }

    #[test]
    fn round_trips_as_json_for_server_functions() {
        let e = AppError::Upstream {
            status: 503,
            message: "down".into(),
            context_id: Some("abc".into()),
        };
        // The wire form the browser's copy decodes (externally tagged, field names as is):
        // pinned, so that a rename on one side only is caught.
        let wire = r#"{"Upstream":{"status":503,"message":"down","context_id":"abc"}}"#;
        assert_eq!(serde_json::to_string(&e).unwrap(), wire);
        assert_eq!(serde_json::from_str::<AppError>(wire).unwrap(), e);
        assert_eq!(
            serde_json::to_string(&AppError::NotSignedIn).unwrap(),
            r#""NotSignedIn""#
        );
    }
}
