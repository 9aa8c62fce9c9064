//! The session's summary for the header and home page, the last sign-in failure, and the
//! connection check.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{request, session, summary};
use crate::model::{AppError, Json, SessionSummary, UpstreamCheck};

#[server(output = Json)]
pub async fn get_session_summary() -> Result<SessionSummary, AppError> {
    let (portal, session) = request::context().await?;
    summary::session_summary(&portal, &session).await
}

/// The reason the last sign-in of this browser failed, if one did.
#[server(output = Json)]
pub async fn get_auth_failure() -> Result<Option<AppError>, AppError> {
    session::auth_failure(&request::session().await?).await
}

#[server(output = Json)]
pub async fn check_upstream() -> Result<UpstreamCheck, AppError> {
    let (portal, session) = request::context().await?;
    summary::check_upstream(&portal, &session).await
}
