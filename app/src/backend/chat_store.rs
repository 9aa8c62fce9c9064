//! Guests' Web Messaging sessions, kept server-side in the portal's database: the current `jwt`,
//! the refresh token and the gateway session token of each, by guest, so the guest's browser
//! holds only a reference and staff can end a guest's sessions from the admin view. The three
//! tokens are sealed at rest like the grants' ([`super::sealing`]).

use std::sync::Arc;

use genesys::{GuestJwt, RefreshToken};
use sqlx::{any::AnyRow, Row};

use super::{db::Db, grants::GrantError, ids::random_id, sealing::Sealer};

/// One guest's messaging session.
pub struct GuestChat {
    pub id: String,
    pub guest_id: String,
    pub jwt: GuestJwt,
    pub refresh_token: RefreshToken,
    pub session_token: String,
    pub expires_unix: i64,
}

#[derive(Clone)]
pub struct ChatStore {
    db: Db,
    sealer: Arc<Sealer>,
}

const COLUMNS: &str = "id, guest_id, jwt, refresh_token, session_token, expires_at";

impl ChatStore {
    pub fn new(db: Db, sealer: Arc<Sealer>) -> Self {
        Self { db, sealer }
    }

    fn seal(&self, id: &str, column: &str, plain: &str) -> String {
        self.sealer
            .seal(plain, &format!("guest_chats/{id}/{column}"))
    }

    /// Keeps a new session; returns its id (what the browser's session refers to).
    pub async fn insert(
        &self,
        guest_id: &str,
        jwt: &GuestJwt,
        refresh_token: &RefreshToken,
        session_token: &str,
        expires_unix: i64,
    ) -> Result<String, GrantError> {
        let id = random_id();
        sqlx::query(&format!(
            "INSERT INTO guest_chats ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&id)
        .bind(guest_id)
        .bind(self.seal(&id, "jwt", jwt.secret()))
        .bind(self.seal(&id, "refresh_token", refresh_token.secret()))
        .bind(self.seal(&id, "session_token", session_token))
        .bind(expires_unix)
        .execute(self.db.pool())
        .await?;
        Ok(id)
    }

    pub async fn get(&self, id: &str) -> Result<Option<GuestChat>, GrantError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM guest_chats WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| self.chat(r)).transpose()
    }

    pub async fn of_guest(&self, guest_id: &str) -> Result<Vec<GuestChat>, GrantError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM guest_chats WHERE guest_id = $1"
        ))
        .bind(guest_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(|r| self.chat(r)).collect()
    }

    pub async fn update_jwt(
        &self,
        id: &str,
        jwt: &GuestJwt,
        expires_unix: i64,
    ) -> Result<(), GrantError> {
        sqlx::query("UPDATE guest_chats SET jwt = $1, expires_at = $2 WHERE id = $3")
            .bind(self.seal(id, "jwt", jwt.secret()))
            .bind(expires_unix)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    pub async fn delete(&self, id: &str) -> Result<(), GrantError> {
        sqlx::query("DELETE FROM guest_chats WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Reads a row (plaintext rows from before sealing are read as they are and sealed by
    /// their next write: a messaging session lives minutes).
    fn chat(&self, r: AnyRow) -> Result<GuestChat, GrantError> {
        let id: String = r.try_get(0)?;
        let open = |i: usize, column: &str| -> Result<String, GrantError> {
            let stored: String = r.try_get(i)?;
            Ok(self
                .sealer
                .open(&stored, &format!("guest_chats/{id}/{column}"))?
                .plain)
        };
        Ok(GuestChat {
            guest_id: r.try_get(1)?,
            jwt: GuestJwt::new(open(2, "jwt")?),
            refresh_token: RefreshToken::new(open(3, "refresh_token")?),
            session_token: open(4, "session_token")?,
            expires_unix: r.try_get(5)?,
            id,
        })
    }
}
