//! The browser session's records: the pending logins before sign-in, the signed-in user after
//! it, and the last sign-in failure. Only `backend` reads or writes them (sign-in in `signin`).

use genesys::{CsrfState, PkceVerifier};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::model::AppError;

/// Session key of the pending logins (pre-login).
pub(super) const PENDING_LOGINS: &str = "pending_logins";
/// Session key of the signed-in user.
pub(super) const SIGNED_IN: &str = "signed_in";
/// Session key of the last sign-in failure, shown once on `/auth/failed`.
pub(super) const AUTH_FAILURE: &str = "auth_failure";
/// Session key of a guest's chat sign-in in progress (state, verifier, nonce).
pub(super) const GUEST_CHAT_PENDING: &str = "guest_chat_pending";
/// Session key of a guest's Web Messaging session (jwt, refresh token, session token).
pub(super) const GUEST_CHAT: &str = "guest_chat";
/// Session key of a framed (Client App) session's host context: theme, language, conversation.
pub(super) const EMBED_CONTEXT: &str = "embed_context";
/// Session key of the handoff code a sign-in popup posts to its frame, once.
pub(super) const EMBED_HANDOFF: &str = "embed_handoff";
/// Session key of a guest invitation link waiting to be shown once to the staff who made it.
pub(super) const GUEST_INVITATION: &str = "guest_invitation";

/// One sign-in this browser started and has not finished.
#[derive(Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: CsrfState,
    pub verifier: PkceVerifier,
    /// The authorization server the login was started against (mix-up defence).
    pub issuer: String,
    pub return_to: String,
    pub created_unix: i64,
    /// Set when the login runs in a popup for a framed portal (Client App): the callback hands
    /// the sign-in to that pending frame instead of signing the popup in.
    #[serde(default)]
    pub embed_frame: Option<String>,
}

/// The signed-in user of a session. The tokens are in the grant store, under `grant_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedIn {
    pub grant_id: String,
    pub user_id: String,
    pub user_name: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub org_name: String,
    pub issuer: String,
    pub scopes: Vec<String>,
    pub signed_in_unix: i64,
}

/// The session store could not be read or written: the request can only be answered with
/// "try again shortly". Logged here, once, with the cause.
#[derive(Debug)]
pub struct StoreUnavailable;

impl StoreUnavailable {
    pub fn log(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "session store error");
        StoreUnavailable
    }
}

impl From<StoreUnavailable> for AppError {
    fn from(_: StoreUnavailable) -> Self {
        AppError::StoreUnavailable
    }
}

pub(super) fn store_error(e: impl std::fmt::Display) -> AppError {
    StoreUnavailable::log(e).into()
}

/// The reason the last sign-in of this browser failed, if one did.
pub async fn auth_failure(session: &Session) -> Result<Option<AppError>, AppError> {
    session
        .get::<AppError>(AUTH_FAILURE)
        .await
        .map_err(store_error)
}

/// Signs `session` in as `user` under a new id (a cookie planted before it is worth nothing
/// after), with the idle timeout, and without the login records that led here.
pub(super) async fn sign_session_in(
    session: &Session,
    user: &SignedIn,
    idle_timeout: std::time::Duration,
) -> Result<(), StoreUnavailable> {
    session.cycle_id().await.map_err(StoreUnavailable::log)?;
    let _ = session.remove_value(PENDING_LOGINS).await;
    let _ = session.remove_value(AUTH_FAILURE).await;
    session.set_expiry(Some(tower_sessions::Expiry::OnInactivity(
        time::Duration::seconds(idle_timeout.as_secs() as i64),
    )));
    session
        .insert(SIGNED_IN, user)
        .await
        .map_err(StoreUnavailable::log)?;
    Ok(())
}
