//! Who is calling and with which token: the signed-in user of a session (within its absolute
//! timeout) and a valid access token for them, refreshed single-flight when it is about to expire.

use std::sync::Arc;

use genesys::AccessToken;
use tower_sessions::Session;

use super::{
    clock::now_unix,
    errors::{from_api, from_oauth},
    grants::Grant,
    portal::Portal,
    session::{store_error, SignedIn, SIGNED_IN},
};
use crate::model::AppError;

/// The signed-in user of this session, if any (checking the absolute timeout).
pub async fn signed_in(portal: &Portal, session: &Session) -> Result<Option<SignedIn>, AppError> {
    let Some(user) = session
        .get::<SignedIn>(SIGNED_IN)
        .await
        .map_err(store_error)?
    else {
        // Ended a moment ago by another part of this same page: say why, consistently.
        if super::request::RequestScope::current().is_some_and(|r| r.session_ended()) {
            return Err(AppError::SessionExpired);
        }
        return Ok(None);
    };
    if now_unix() - user.signed_in_unix > portal.settings.absolute_timeout.as_secs() as i64 {
        end_session(portal, session, &user).await;
        return Err(AppError::SessionExpired);
    }
    Ok(Some(user))
}

/// The signed-in user, or why there is none.
pub async fn require_user(portal: &Portal, session: &Session) -> Result<SignedIn, AppError> {
    signed_in(portal, session)
        .await?
        .ok_or(AppError::NotSignedIn)
}

/// Destroys the session and its grant server-side.
pub async fn end_session(portal: &Portal, session: &Session, user: &SignedIn) {
    if let Some(request) = super::request::RequestScope::current() {
        request.mark_session_ended();
    }
    drop_grant(portal, &user.grant_id).await;
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "could not delete session");
    }
}

/// Deletes a sign-in's grant and its exports (running or downloadable): when its session
/// ends, and when a new sign-in of the same browser replaces it.
pub async fn drop_grant(portal: &Portal, grant_id: &str) {
    if let Err(e) = portal.exports.forget_owner(grant_id).await {
        tracing::error!(error = %e, "could not delete a sign-in's exports");
    }
    if let Err(e) = portal.grants.delete(grant_id).await {
        tracing::error!(error = %e, "could not delete grant");
    }
}

/// The margin before expiry at which a token is refreshed.
fn refresh_margin(portal: &Portal) -> i64 {
    portal.settings.refresh_margin.as_secs() as i64
}

/// A valid access token for this session's user, refreshing it first when it is about to expire.
/// Refreshes are single-flight per session: concurrent requests wait for the one refresh and use
/// its result. `invalid_grant` ends the session.
pub async fn access_token(
    portal: &Portal,
    session: &Session,
) -> Result<(SignedIn, AccessToken), AppError> {
    let user = signed_in(portal, session)
        .await?
        .ok_or(AppError::NotSignedIn)?;
    let grant = portal
        .grants
        .get(&user.grant_id)
        .await
        .map_err(store_error)?;
    let Some(grant) = grant else {
        // Logged out elsewhere, or pruned: the session is dead.
        let _ = session.flush().await;
        return Err(AppError::SessionExpired);
    };
    if grant.seconds_left() > refresh_margin(portal) {
        return Ok((user, grant.access_token));
    }
    let token = refresh(portal, session, &user, None).await?;
    Ok((user, token))
}

/// Calls the API with the session's token. If Genesys answers 401 although the token should
/// still be valid (revoked, or expired early), refreshes once and tries again.
pub async fn with_user_token<T, F, Fut>(
    portal: &Portal,
    session: &Session,
    call: F,
) -> Result<(SignedIn, T), AppError>
where
    F: Fn(AccessToken) -> Fut,
    Fut: std::future::Future<Output = Result<T, genesys::ApiError>>,
{
    let (user, token) = access_token(portal, session).await?;
    let rejected = token.clone();
    match call(token).await {
        Err(e) if e.is_unauthorized() => {
            let fresh = refresh(portal, session, &user, Some(&rejected)).await?;
            let value = call(fresh).await.map_err(from_api)?;
            Ok((user, value))
        }
        other => Ok((user, other.map_err(from_api)?)),
    }
}

/// Refreshes the session's grant, single-flight (see [`refresh_grant`]); a sign-in that is
/// over (refresh token refused, or none to refresh with) ends the session.
async fn refresh(
    portal: &Portal,
    session: &Session,
    user: &SignedIn,
    rejected: Option<&AccessToken>,
) -> Result<AccessToken, AppError> {
    match refresh_grant(portal, user, rejected).await? {
        Some(token) => Ok(token),
        None => {
            end_session(portal, session, user).await;
            Err(AppError::SessionExpired)
        }
    }
}

/// Refreshes a sign-in's grant, single-flight. With `rejected`, the refresh is forced unless
/// another request already replaced that token; without it, only an expiring token is refreshed.
/// `Ok(None)`: the sign-in is over (the refresh token was refused, or a public PKCE client
/// has none and the token is spent).
async fn refresh_grant(
    portal: &Portal,
    user: &SignedIn,
    rejected: Option<&AccessToken>,
) -> Result<Option<AccessToken>, AppError> {
    // This replica's lock, then the row's: another request (here or on another replica) may
    // have refreshed while this one waited, so the grant is read again under the lock.
    let locked = portal
        .grants
        .lock(&user.grant_id)
        .await
        .map_err(store_error)?;
    let Some(grant) = locked.grant.as_ref() else {
        return Err(AppError::SessionExpired);
    };
    let still_current = rejected.is_some_and(|t| grant.access_token.ct_eq(t.secret()));
    if !still_current && grant.seconds_left() > refresh_margin(portal) {
        return Ok(Some(grant.access_token.clone()));
    }
    let Some(refresh_token) = grant.refresh_token.as_ref() else {
        if !still_current && grant.seconds_left() > 0 {
            return Ok(Some(grant.access_token.clone()));
        }
        return Ok(None);
    };
    match portal
        .genesys
        .refresh(&portal.oauth_client, refresh_token)
        .await
    {
        Ok(tokens) => {
            let fresh = Grant {
                access_token: tokens.access_token,
                // Keep the old refresh token when the server does not rotate it.
                refresh_token: tokens.refresh_token.or_else(|| grant.refresh_token.clone()),
                expires_at_unix: now_unix() + tokens.expires_in.as_secs() as i64,
            };
            locked.replace(&fresh).await.map_err(store_error)?;
            tracing::info!(user = %user.user_id, "refreshed session tokens");
            Ok(Some(fresh.access_token))
        }
        Err(e) if e.is_invalid_grant() => {
            tracing::info!(user = %user.user_id, "refresh token rejected (invalid_grant): ending session");
            Ok(None)
        }
        Err(e) => {
            tracing::warn!(error = %e, "token refresh failed");
            if !still_current && grant.seconds_left() > 0 {
                Ok(Some(grant.access_token.clone()))
            } else {
                Err(from_oauth(e))
            }
        }
    }
}

/// A signed-in user's tokens for work that outlives its request (an export): the grant's
/// token, refreshed single-flight exactly as a page's request refreshes it, and replaced when
/// Genesys refuses it. When the sign-in is over the work fails with the 401; the session
/// itself ends at its next request.
pub struct GrantTokens {
    portal: Arc<Portal>,
    user: SignedIn,
}

impl GrantTokens {
    pub fn new(portal: Arc<Portal>, user: SignedIn) -> Self {
        Self { portal, user }
    }
}

impl genesys::TokenProvider for GrantTokens {
    fn token(
        &self,
        refused: Option<&AccessToken>,
    ) -> futures::future::BoxFuture<'static, Result<AccessToken, genesys::ApiError>> {
        let (portal, user, refused) = (self.portal.clone(), self.user.clone(), refused.cloned());
        Box::pin(async move {
            match refresh_grant(&portal, &user, refused.as_ref()).await {
                Ok(Some(token)) => Ok(token),
                Ok(None) | Err(AppError::SessionExpired) => {
                    Err(genesys::ApiError::Unauthorized { body: None })
                }
                Err(e) => Err(genesys::ApiError::NoToken(e.to_string())),
            }
        })
    }
}
