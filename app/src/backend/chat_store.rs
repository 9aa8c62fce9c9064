//! Guests' Web Messaging sessions, kept server-side in the portal's database: the current `jwt`,
//! the refresh token and the gateway session token of each, by guest, so the guest's browser
//! holds only a reference and staff can end a guest's sessions from the admin view.

use genesys::{GuestJwt, RefreshToken};
use sqlx::{Row, SqlitePool};

use super::ids::random_id;

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
    pool: SqlitePool,
}

impl ChatStore {
    pub async fn new(pool: SqlitePool) -> Result<Self, sqlx::Error> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS guest_chats (
                id TEXT PRIMARY KEY NOT NULL,
                guest_id TEXT NOT NULL,
                jwt TEXT NOT NULL,
                refresh_token TEXT NOT NULL,
                session_token TEXT NOT NULL,
                expires_at INTEGER NOT NULL
            )",
        )
        .execute(&pool)
        .await?;
        sqlx::query("CREATE INDEX IF NOT EXISTS guest_chats_by_guest ON guest_chats (guest_id)")
            .execute(&pool)
            .await?;
        Ok(Self { pool })
    }

    /// Keeps a new session; returns its id (what the browser's session refers to).
    pub async fn insert(
        &self,
        guest_id: &str,
        jwt: &GuestJwt,
        refresh_token: &RefreshToken,
        session_token: &str,
        expires_unix: i64,
    ) -> Result<String, sqlx::Error> {
        let id = random_id();
        sqlx::query("INSERT INTO guest_chats (id, guest_id, jwt, refresh_token, session_token, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&id)
            .bind(guest_id)
            .bind(jwt.secret())
            .bind(refresh_token.secret())
            .bind(session_token)
            .bind(expires_unix)
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    pub async fn get(&self, id: &str) -> Result<Option<GuestChat>, sqlx::Error> {
        let row = sqlx::query("SELECT id, guest_id, jwt, refresh_token, session_token, expires_at FROM guest_chats WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(chat))
    }

    pub async fn of_guest(&self, guest_id: &str) -> Result<Vec<GuestChat>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, guest_id, jwt, refresh_token, session_token, expires_at FROM guest_chats WHERE guest_id = ?")
            .bind(guest_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(chat).collect())
    }

    pub async fn update_jwt(
        &self,
        id: &str,
        jwt: &GuestJwt,
        expires_unix: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE guest_chats SET jwt = ?, expires_at = ? WHERE id = ?")
            .bind(jwt.secret())
            .bind(expires_unix)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM guest_chats WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn chat(r: sqlx::sqlite::SqliteRow) -> GuestChat {
    GuestChat {
        id: r.get(0),
        guest_id: r.get(1),
        jwt: GuestJwt::new(r.get::<String, _>(2)),
        refresh_token: RefreshToken::new(r.get::<String, _>(3)),
        session_token: r.get(4),
        expires_unix: r.get(5),
    }
}
