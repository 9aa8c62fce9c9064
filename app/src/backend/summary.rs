//! What the header and the home page show: the session's summary (never a token) and how long
//! Genesys Cloud takes to answer.

use tower_sessions::Session;

use super::{access::signed_in, portal::Portal};
use crate::model::{AppError, SessionSummary, UpstreamCheck};

pub async fn session_summary(
    portal: &Portal,
    session: &Session,
) -> Result<SessionSummary, AppError> {
    let user = match signed_in(portal, session).await {
        Ok(user) => user,
        Err(AppError::SessionExpired) => None,
        Err(e) => return Err(e),
    };
    Ok(SessionSummary {
        upstream: portal.upstream.clone(),
        is_admin: user.as_ref().is_some_and(|u| portal.admins.allows(u)),
        manages_guests: user
            .as_ref()
            .is_some_and(|u| portal.guest_managers.allows(u)),
        user_name: user.map(|u| u.user_name),
    })
}

/// One unauthenticated round trip to the API, timed.
/// Whether Genesys Cloud answers, for a signed-in user (an anonymous visitor could otherwise
/// make the portal call out on demand).
pub async fn check_upstream(portal: &Portal, session: &Session) -> Result<UpstreamCheck, AppError> {
    super::access::require_user(portal, session).await?;
    let r = portal.genesys.check_reachability().await;
    Ok(UpstreamCheck {
        reachable: r.reachable,
        millis: r.millis,
        detail: r.detail,
    })
}
