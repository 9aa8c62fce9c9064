//! Server-side sessions: the pending logins of a browser before sign-in, the signed-in session
//! after it, and the grant store that keeps each session's tokens (never sent to the browser).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use genesys::{AccessToken, CsrfState, PkceVerifier, RefreshToken};
use serde::{Deserialize, Serialize};
use sqlx::{Row, SqlitePool};
use tower_sessions::Session;

use crate::{error::AppError, state::Portal};

/// Session key of the pending logins (pre-login).
pub const PENDING_LOGINS: &str = "pending_logins";
/// Session key of the signed-in user.
pub const SIGNED_IN: &str = "signed_in";
/// Session key of the last sign-in failure, shown once on `/auth/failed`.
pub const AUTH_FAILURE: &str = "auth_failure";

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One sign-in this browser started and has not finished.
#[derive(Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: CsrfState,
    pub verifier: PkceVerifier,
    /// The authorization server the login was started against (mix-up defence).
    pub issuer: String,
    pub return_to: String,
    pub created_unix: i64,
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

/// Tokens of one signed-in session.
pub struct Grant {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    /// Wall-clock expiry, so it survives a restart (computed from `expires_in` at receipt).
    pub expires_at_unix: i64,
}

impl Grant {
    pub fn seconds_left(&self) -> i64 {
        self.expires_at_unix - now_unix()
    }
}

/// Keeps grants in SQLite beside the sessions, so a restart signs nobody out.
#[derive(Clone)]
pub struct GrantStore {
    pool: SqlitePool,
    /// One lock per grant being refreshed: refreshes of one session are single-flight.
    refresh_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl GrantStore {
    pub async fn new(pool: SqlitePool) -> Result<Self, sqlx::Error> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS grants (
                id TEXT PRIMARY KEY NOT NULL,
                access_token TEXT NOT NULL,
                refresh_token TEXT,
                expires_at INTEGER NOT NULL,
                delete_after INTEGER NOT NULL
            )",
        )
        .execute(&pool)
        .await?;
        Ok(Self {
            pool,
            refresh_locks: Arc::default(),
        })
    }

    pub async fn insert(
        &self,
        grant: &Grant,
        delete_after_unix: i64,
    ) -> Result<String, sqlx::Error> {
        let id = random_id();
        sqlx::query("INSERT INTO grants (id, access_token, refresh_token, expires_at, delete_after) VALUES (?, ?, ?, ?, ?)")
            .bind(&id)
            .bind(grant.access_token.secret())
            .bind(grant.refresh_token.as_ref().map(|t| t.secret().to_string()))
            .bind(grant.expires_at_unix)
            .bind(delete_after_unix)
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Grant>, sqlx::Error> {
        let row =
            sqlx::query("SELECT access_token, refresh_token, expires_at FROM grants WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| Grant {
            access_token: AccessToken::new(r.get::<String, _>(0)),
            refresh_token: r.get::<Option<String>, _>(1).map(RefreshToken::new),
            expires_at_unix: r.get(2),
        }))
    }

    pub async fn update(&self, id: &str, grant: &Grant) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE grants SET access_token = ?, refresh_token = ?, expires_at = ? WHERE id = ?",
        )
        .bind(grant.access_token.secret())
        .bind(grant.refresh_token.as_ref().map(|t| t.secret().to_string()))
        .bind(grant.expires_at_unix)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM grants WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes grants whose session can no longer exist.
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        let r = sqlx::query("DELETE FROM grants WHERE delete_after < ?")
            .bind(now_unix())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(id.to_string()).or_default().clone()
    }
}

/// A 128-bit random identifier, hex encoded.
pub fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn store_error(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "session store error");
    AppError::internal("the session store is unavailable")
}

/// The signed-in user of this session, if any (checking the absolute timeout).
pub async fn signed_in(portal: &Portal, session: &Session) -> Result<Option<SignedIn>, AppError> {
    let Some(user) = session
        .get::<SignedIn>(SIGNED_IN)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    if now_unix() - user.signed_in_unix > portal.settings.absolute_timeout.as_secs() as i64 {
        end_session(portal, session, &user).await;
        return Err(AppError::SessionExpired);
    }
    Ok(Some(user))
}

/// Destroys the session and its grant server-side.
pub async fn end_session(portal: &Portal, session: &Session, user: &SignedIn) {
    if let Err(e) = portal.grants.delete(&user.grant_id).await {
        tracing::error!(error = %e, "could not delete grant");
    }
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "could not delete session");
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
    use crate::genesys_errors::from_api;
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

/// Refreshes the session's grant, single-flight. With `rejected`, the refresh is forced unless
/// another request already replaced that token; without it, only an expiring token is refreshed.
async fn refresh(
    portal: &Portal,
    session: &Session,
    user: &SignedIn,
    rejected: Option<&AccessToken>,
) -> Result<AccessToken, AppError> {
    let lock = portal.grants.lock_for(&user.grant_id);
    let _guard = lock.lock().await;
    // Another request may have refreshed while this one waited: read again.
    let grant = portal
        .grants
        .get(&user.grant_id)
        .await
        .map_err(store_error)?
        .ok_or(AppError::SessionExpired)?;
    let still_current = rejected.is_some_and(|t| grant.access_token.ct_eq(t.secret()));
    if !still_current && grant.seconds_left() > refresh_margin(portal) {
        return Ok(grant.access_token);
    }
    let Some(refresh_token) = grant.refresh_token.as_ref() else {
        if !still_current && grant.seconds_left() > 0 {
            return Ok(grant.access_token);
        }
        // A public PKCE client has no refresh token: sign in again.
        end_session(portal, session, user).await;
        return Err(AppError::SessionExpired);
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
                refresh_token: tokens.refresh_token.or(grant.refresh_token),
                expires_at_unix: now_unix() + tokens.expires_in.as_secs() as i64,
            };
            portal
                .grants
                .update(&user.grant_id, &fresh)
                .await
                .map_err(store_error)?;
            tracing::info!(user = %user.user_id, "refreshed session tokens");
            Ok(fresh.access_token)
        }
        Err(e) if e.is_invalid_grant() => {
            tracing::info!(user = %user.user_id, "refresh token rejected (invalid_grant): ending session");
            end_session(portal, session, user).await;
            Err(AppError::SessionExpired)
        }
        Err(e) => {
            tracing::warn!(error = %e, "token refresh failed");
            if !still_current && grant.seconds_left() > 0 {
                Ok(grant.access_token)
            } else {
                Err(crate::genesys_errors::from_oauth(e))
            }
        }
    }
}
