//! The grant store: each signed-in session's tokens in SQLite beside the sessions (so a
//! restart signs nobody out), never sent to the browser, with one refresh lock per grant.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use genesys::{AccessToken, RefreshToken};
use sqlx::{Row, SqlitePool};

use super::{clock::now_unix, ids::random_id};

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

    /// Signed-in sessions: grants whose session may still be alive.
    pub async fn count_live(&self) -> Result<i64, sqlx::Error> {
        sqlx::query("SELECT COUNT(*) FROM grants WHERE delete_after >= ?")
            .bind(now_unix())
            .fetch_one(&self.pool)
            .await
            .map(|row| row.get::<i64, _>(0))
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub(super) fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(id.to_string()).or_default().clone()
    }
}
