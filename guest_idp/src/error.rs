//! The errors of the guest provider's Rust API (admin actions, startup). Protocol errors that
//! reach a relying party are OAuth error responses instead (see `oauth_error`).

/// What went wrong in a call of [`crate::Idp`]. `Display` is written for the admin reading it.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// An input (a guest's field, a setting) breaks a rule; `field` names it.
    #[error("{field}: {message}")]
    Invalid {
        /// The field or setting at fault, e.g. `email` or `clients[0].redirect_uris`.
        field: String,
        /// What is wrong with it, in words.
        message: String,
    },
    /// No guest with that id.
    #[error("no such guest")]
    NotFound,
    /// The database failed; the text is sqlx's and never carries a secret.
    #[error("the guest store failed: {0}")]
    Store(String),
    /// The signing key could not be generated, read, written or used.
    #[error("the signing key failed: {0}")]
    Key(String),
}

impl IdpError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> IdpError {
        IdpError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for IdpError {
    fn from(e: sqlx::Error) -> Self {
        IdpError::Store(e.to_string())
    }
}
