//! The grant store: each signed-in session's tokens in the portal's database beside the
//! sessions (so a restart signs nobody out and every replica sees them), sealed at rest
//! ([`super::sealing`]), never sent to the browser.
//!
//! A refresh is single-flight across replicas: [`GrantStore::lock`] holds an in-process lock
//! (one waiter per replica goes to the database) and, on PostgreSQL, the grant's row lock
//! (`SELECT … FOR UPDATE` in a transaction) for exactly as long as the refresh, and re-reads
//! the grant under it, so no replica refreshes with a token read before another's refresh.
//! SQLite serves one machine, where the in-process lock is the whole story.
//!
//! On SQLite, where this process alone owns the database, the grants it has read or written
//! are also kept in memory, written through on every change: a page reads its grant without a
//! round trip to sqlx's worker thread (docs/BENCHMARKS.md). A refresh still reads the row under
//! its lock. On PostgreSQL another replica may change a grant at any time, so every read goes to
//! the row.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use genesys::{AccessToken, RefreshToken};
use sqlx::{any::AnyRow, Any, Row, Transaction};

use super::{
    clock::now_unix,
    db::{Db, Engine},
    ids::random_id,
    sealing::{Sealer, Unsealable},
};

/// Tokens of one signed-in session.
#[derive(Clone)]
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

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("grant store: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Unsealable(#[from] Unsealable),
}

/// Keeps grants in the database beside the sessions.
#[derive(Clone)]
pub struct GrantStore {
    db: Db,
    sealer: Arc<Sealer>,
    /// Hold the database row lock while refreshing (off only to show, in a test, the race it
    /// prevents).
    row_lock: bool,
    /// One lock per grant being refreshed on this replica.
    refresh_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// On SQLite: the grants as the database holds them, by id (see the module's docs).
    cache: Option<Arc<Mutex<HashMap<String, Grant>>>>,
}

const SELECT: &str = "SELECT access_token, refresh_token, expires_at FROM grants WHERE id = $1";

impl GrantStore {
    /// `memory`: on SQLite, keep the grants in memory too (see the module's docs).
    pub fn new(db: Db, sealer: Arc<Sealer>, row_lock: bool, memory: bool) -> Self {
        let cache = (memory && db.engine() == Engine::Sqlite).then(Arc::default);
        Self {
            db,
            sealer,
            row_lock,
            refresh_locks: Arc::default(),
            cache,
        }
    }

    fn cached(&self, id: &str) -> Option<Grant> {
        let cache = self.cache.as_ref()?;
        let cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(id).cloned()
    }

    fn remember(&self, id: &str, grant: Option<&Grant>) {
        if let Some(cache) = &self.cache {
            let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
            match grant {
                Some(grant) => cache.insert(id.to_string(), grant.clone()),
                None => cache.remove(id),
            };
        }
    }

    pub async fn insert(
        &self,
        grant: &Grant,
        delete_after_unix: i64,
    ) -> Result<String, GrantError> {
        let id = random_id();
        let (access, refresh) = self.seal(&id, grant);
        sqlx::query("INSERT INTO grants (id, access_token, refresh_token, expires_at, delete_after) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(access)
            .bind(refresh)
            .bind(grant.expires_at_unix)
            .bind(delete_after_unix)
            .execute(self.db.pool())
            .await?;
        self.remember(&id, Some(grant));
        Ok(id)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Grant>, GrantError> {
        if let Some(grant) = self.cached(id) {
            return Ok(Some(grant));
        }
        let row = sqlx::query(SELECT)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let (grant, reseal) = self.open(id, &row)?;
        if reseal {
            // A plaintext row from before sealing, or one sealed under the previous key.
            if let Err(e) = self.write(self.db.pool(), id, &grant).await {
                tracing::warn!(error = %e, "could not re-seal a grant");
            }
        }
        self.remember(id, Some(&grant));
        Ok(Some(grant))
    }

    pub async fn update(&self, id: &str, grant: &Grant) -> Result<(), GrantError> {
        self.write(self.db.pool(), id, grant).await
    }

    async fn write<'e, E>(&self, executor: E, id: &str, grant: &Grant) -> Result<(), GrantError>
    where
        E: sqlx::Executor<'e, Database = Any>,
    {
        let (access, refresh) = self.seal(id, grant);
        sqlx::query(
            "UPDATE grants SET access_token = $1, refresh_token = $2, expires_at = $3 WHERE id = $4",
        )
        .bind(access)
        .bind(refresh)
        .bind(grant.expires_at_unix)
        .bind(id)
        .execute(executor)
        .await?;
        self.remember(id, Some(grant));
        Ok(())
    }

    fn seal(&self, id: &str, grant: &Grant) -> (String, Option<String>) {
        let access = self.sealer.seal(
            grant.access_token.secret(),
            &format!("grants/{id}/access_token"),
        );
        let refresh = grant.refresh_token.as_ref().map(|t| {
            self.sealer
                .seal(t.secret(), &format!("grants/{id}/refresh_token"))
        });
        (access, refresh)
    }

    fn open(&self, id: &str, row: &AnyRow) -> Result<(Grant, bool), GrantError> {
        let access = self.sealer.open(
            &row.try_get::<String, _>(0)?,
            &format!("grants/{id}/access_token"),
        )?;
        let refresh = match row.try_get::<Option<String>, _>(1)? {
            Some(stored) => Some(
                self.sealer
                    .open(&stored, &format!("grants/{id}/refresh_token"))?,
            ),
            None => None,
        };
        let reseal = access.reseal || refresh.as_ref().is_some_and(|r| r.reseal);
        Ok((
            Grant {
                access_token: AccessToken::new(access.plain),
                refresh_token: refresh.map(|r| RefreshToken::new(r.plain)),
                expires_at_unix: row.try_get(2)?,
            },
            reseal,
        ))
    }

    pub async fn delete(&self, id: &str) -> Result<(), GrantError> {
        self.remember(id, None);
        sqlx::query("DELETE FROM grants WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Removes grants whose session can no longer exist.
    pub async fn prune(&self) -> Result<u64, GrantError> {
        let r = sqlx::query("DELETE FROM grants WHERE delete_after < $1")
            .bind(now_unix())
            .execute(self.db.pool())
            .await?;
        // The cache does not know which rows went: it is read again as pages need it.
        if let Some(cache) = &self.cache {
            cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
        Ok(r.rows_affected())
    }

    /// Signed-in sessions: grants whose session may still be alive.
    pub async fn count_live(&self) -> Result<i64, GrantError> {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM grants WHERE delete_after >= $1")
                .bind(now_unix())
                .fetch_one(self.db.pool())
                .await?
                .try_get::<i64, _>(0)?,
        )
    }

    /// The engine the grants (and sessions) are kept in.
    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    pub async fn ping(&self) -> bool {
        self.db.ping().await
    }

    /// Takes the grant's refresh lock (this replica's, then the database row's) and reads the
    /// grant again under it. Dropping the lock without [`LockedGrant::replace`] changes nothing.
    pub async fn lock(&self, id: &str) -> Result<LockedGrant, GrantError> {
        let local = self.local_lock(id).lock_owned().await;
        let mut tx = None;
        let row = if self.row_lock && self.db.engine() == Engine::Postgres {
            let mut t = self.db.pool().begin().await?;
            let row = sqlx::query(&format!("{SELECT} FOR UPDATE"))
                .bind(id)
                .fetch_optional(&mut *t)
                .await?;
            tx = Some(t);
            row
        } else {
            sqlx::query(SELECT)
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?
        };
        let grant = match row {
            Some(row) => Some(self.open(id, &row)?.0),
            None => None,
        };
        Ok(LockedGrant {
            store: self.clone(),
            id: id.to_string(),
            grant,
            tx,
            _local: local,
        })
    }

    fn local_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(id.to_string()).or_default().clone()
    }
}

/// A grant read under its refresh lock; the lock is released when this is dropped.
pub struct LockedGrant {
    store: GrantStore,
    id: String,
    /// The grant as it is now (`None`: signed out, or pruned).
    pub grant: Option<Grant>,
    tx: Option<Transaction<'static, Any>>,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

impl LockedGrant {
    /// Writes the refreshed grant and releases the lock.
    pub async fn replace(mut self, grant: &Grant) -> Result<(), GrantError> {
        match self.tx.take() {
            Some(mut tx) => {
                self.store.write(&mut *tx, &self.id, grant).await?;
                tx.commit().await?;
            }
            None => {
                self.store
                    .write(self.store.db.pool(), &self.id, grant)
                    .await?
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(access: &str, expires_at_unix: i64) -> Grant {
        Grant {
            access_token: AccessToken::new(access),
            refresh_token: Some(RefreshToken::new(format!("{access}-refresh"))),
            expires_at_unix,
        }
    }

    async fn store(dir: &std::path::Path) -> GrantStore {
        let url = format!("sqlite://{}?mode=rwc", dir.join("portal.db").display());
        let db = Db::open(&url, 2).await.unwrap();
        let key = super::super::sealing::TokenKey::generate();
        GrantStore::new(db, Arc::new(Sealer::new(&key, None)), true, true)
    }

    async fn row_access(store: &GrantStore, id: &str) -> Option<String> {
        let row = sqlx::query(SELECT)
            .bind(id)
            .fetch_optional(store.db.pool())
            .await
            .unwrap()?;
        Some(
            store
                .open(id, &row)
                .unwrap()
                .0
                .access_token
                .secret()
                .to_string(),
        )
    }

    /// On SQLite a page's read is answered from memory, and every change goes to the row and
    /// to memory alike: what a read answers is always what the database holds.
    #[tokio::test]
    async fn on_sqlite_reads_come_from_memory_and_every_change_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        let id = s.insert(&grant("a1", 100), now_unix() + 600).await.unwrap();
        // The row goes: a read that still answers it came from memory.
        sqlx::query("DELETE FROM grants WHERE id = $1")
            .bind(&id)
            .execute(s.db.pool())
            .await
            .unwrap();
        let read = s.get(&id).await.unwrap().expect("read from memory");
        assert_eq!(read.access_token.secret(), "a1");
        // Put it back; an update, and a refresh under the lock, reach the row and the reads.
        let id = s.insert(&grant("a1", 100), now_unix() + 600).await.unwrap();
        s.update(&id, &grant("a2", 200)).await.unwrap();
        assert_eq!(row_access(&s, &id).await.as_deref(), Some("a2"));
        assert_eq!(
            s.get(&id).await.unwrap().unwrap().access_token.secret(),
            "a2"
        );
        let locked = s.lock(&id).await.unwrap();
        assert_eq!(locked.grant.as_ref().unwrap().access_token.secret(), "a2");
        locked.replace(&grant("a3", 300)).await.unwrap();
        assert_eq!(row_access(&s, &id).await.as_deref(), Some("a3"));
        let read = s.get(&id).await.unwrap().unwrap();
        assert_eq!(
            (read.access_token.secret(), read.expires_at_unix),
            ("a3", 300)
        );
        // Signed out: gone from both.
        s.delete(&id).await.unwrap();
        assert!(s.get(&id).await.unwrap().is_none());
        assert!(row_access(&s, &id).await.is_none());
    }

    /// A prune forgets what it cannot tell apart: a pruned grant is not answered from memory.
    #[tokio::test]
    async fn a_pruned_grant_is_not_answered_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        let old = s.insert(&grant("old", 100), now_unix() - 1).await.unwrap();
        let live = s
            .insert(&grant("live", 100), now_unix() + 600)
            .await
            .unwrap();
        assert_eq!(s.prune().await.unwrap(), 1);
        assert!(s.get(&old).await.unwrap().is_none());
        assert_eq!(
            s.get(&live).await.unwrap().unwrap().access_token.secret(),
            "live"
        );
    }
}
