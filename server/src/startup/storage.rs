//! The session database (SQLite in `PORTAL_DATA_DIR`): the session store and the grant table
//! beside it, with the background jobs that delete expired sessions and orphaned grants.

use std::time::Duration;

use app::backend::grants::GrantStore;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};
use tower_sessions::ExpiredDeletion;
use tower_sessions_sqlx_store::SqliteStore;

use crate::config::Config;

pub struct Storage {
    pub sessions: SqliteStore,
    pub grants: GrantStore,
    /// The database itself, for the guest identity provider's tables.
    pub pool: SqlitePool,
}

/// Opens (creating when missing) the database and starts its clean-up jobs.
pub async fn open(config: &Config) -> Result<Storage, String> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("PORTAL_DATA_DIR `{}` cannot be created: {e}", dir.display()))?;
    let db_options = SqliteConnectOptions::new()
        .filename(dir.join("portal.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // In WAL mode NORMAL keeps the database consistent through any crash; a power loss may
        // drop the last commits (a sign-in then has to be redone). FULL waited for an fsync on
        // every commit, most of a sign-in's time (docs/BENCHMARKS.md, "Sign-in round trip").
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(db_options)
        .await
        .map_err(|e| {
            format!(
                "the session database in `{}` cannot be opened: {e}",
                dir.display()
            )
        })?;
    let sessions = SqliteStore::new(pool.clone());
    sessions
        .migrate()
        .await
        .map_err(|e| format!("session database migration failed: {e}"))?;
    let grants = GrantStore::new(pool.clone())
        .await
        .map_err(|e| format!("grant table: {e}"))?;
    tokio::spawn(
        sessions
            .clone()
            .continuously_delete_expired(Duration::from_secs(60)),
    );
    tokio::spawn(prune_grants(grants.clone()));
    Ok(Storage {
        sessions,
        grants,
        pool,
    })
}

/// Every five minutes, deletes the grants whose session can no longer exist.
async fn prune_grants(grants: GrantStore) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        if let Err(e) = grants.prune().await {
            tracing::warn!(error = %e, "grant pruning failed");
        }
    }
}
