//! The portal's database (`PORTAL_DATABASE_URL`: SQLite in `PORTAL_DATA_DIR` by default, or
//! PostgreSQL for replicas): the session store, the grant table and the rest of the portal's
//! tables, the token sealing key, and the background jobs that delete expired sessions,
//! orphaned grants and old sign-in claims.

use std::{path::Path, sync::Arc, time::Duration};

use app::backend::{
    claims::LoginClaims,
    db::{Db, ACQUIRE_TIMEOUT},
    grants::GrantStore,
    sealing::{Sealer, TokenKey},
};
use async_trait::async_trait;
use sqlx::{
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tower_sessions::{
    session::{Id, Record},
    session_store, ExpiredDeletion, SessionStore,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::config::{Config, DatabaseConfig};

pub struct Storage {
    pub sessions: Sessions,
    pub grants: GrantStore,
    pub claims: LoginClaims,
    /// The database itself, for the other stores (guest chats, the guest provider).
    pub db: Db,
    pub sealer: Arc<Sealer>,
}

/// The session store of the configured engine (tower-sessions-sqlx-store's), behind a
/// breaker: once the database has failed, calls in the next [`Breaker::OPEN_FOR`] fail at once
/// instead of each waiting out the pool's acquire timeout, so a page whose header and body both
/// read the session still answers "briefly unavailable" within two seconds.
///
/// On SQLite, where this process alone owns the database, the sessions it has loaded or saved
/// are also kept in memory, written through: a page loads its session without a round trip to
/// sqlx's worker thread (docs/BENCHMARKS.md). An entry past its expiry is never served. On
/// PostgreSQL another replica may sign a session out at any time, so every load reads the row.
#[derive(Debug, Clone)]
pub struct Sessions {
    engine: SessionEngine,
    breaker: Arc<Breaker>,
    cache: Option<Arc<std::sync::Mutex<std::collections::HashMap<Id, Record>>>>,
}

impl Sessions {
    fn cached(&self, id: &Id) -> Option<Record> {
        let cache = self
            .cache
            .as_ref()?
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        cache
            .get(id)
            .filter(|r| r.expiry_date > time::OffsetDateTime::now_utc())
            .cloned()
    }

    fn remember(&self, id: &Id, record: Option<&Record>) {
        if let Some(cache) = &self.cache {
            let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
            match record {
                Some(record) => cache.insert(*id, record.clone()),
                None => cache.remove(id),
            };
        }
    }
}

#[derive(Debug, Clone)]
enum SessionEngine {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// When the store last failed (milliseconds since the Unix epoch; 0: not lately).
#[derive(Debug, Default)]
pub struct Breaker {
    failed_at_ms: std::sync::atomic::AtomicU64,
}

impl Breaker {
    const OPEN_FOR: Duration = Duration::from_secs(2);

    fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn open(&self) -> bool {
        let at = self.failed_at_ms.load(std::sync::atomic::Ordering::Relaxed);
        at != 0 && Self::now_ms().saturating_sub(at) < Self::OPEN_FOR.as_millis() as u64
    }

    async fn call<T>(
        &self,
        f: impl std::future::Future<Output = session_store::Result<T>>,
    ) -> session_store::Result<T> {
        if self.open() {
            return Err(session_store::Error::Backend(
                "the session store failed a moment ago; not retried yet".into(),
            ));
        }
        let result = f.await;
        let at = match &result {
            Err(session_store::Error::Backend(_)) => Self::now_ms(),
            _ => 0,
        };
        self.failed_at_ms
            .store(at, std::sync::atomic::Ordering::Relaxed);
        result
    }
}

macro_rules! each_engine {
    ($self:ident, $s:ident => $call:expr) => {
        $self.breaker.call(async {
            match &$self.engine {
                SessionEngine::Sqlite($s) => $call.await,
                SessionEngine::Postgres($s) => $call.await,
            }
        })
    };
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        each_engine!(self, s => s.create(record)).await?;
        self.remember(&record.id, Some(record));
        Ok(())
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        each_engine!(self, s => s.save(record)).await?;
        self.remember(&record.id, Some(record));
        Ok(())
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(record) = self.cached(id) {
            return Ok(Some(record));
        }
        let record = each_engine!(self, s => s.load(id)).await?;
        if let Some(record) = &record {
            self.remember(id, Some(record));
        }
        Ok(record)
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.remember(id, None);
        each_engine!(self, s => s.delete(id)).await
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        if let Some(cache) = &self.cache {
            let now = time::OffsetDateTime::now_utc();
            let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.retain(|_, r| r.expiry_date > now);
        }
        match &self.engine {
            SessionEngine::Sqlite(s) => s.delete_expired().await,
            SessionEngine::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// Connections per pool: SQLite serialises writers anyway; on PostgreSQL a refresh holds its
/// connection for the length of the upstream call, so there is room for those.
const SQLITE_CONNECTIONS: u32 = 8;
const POSTGRES_CONNECTIONS: u32 = 16;

/// Opens (creating when missing) the database, migrates it, and starts its clean-up jobs.
pub async fn open(config: &Config) -> Result<Storage, String> {
    let dir = &config.data_dir;
    create_private_dir(dir)
        .map_err(|e| format!("PORTAL_DATA_DIR `{}` cannot be created: {e}", dir.display()))?;
    let (sessions, max) = match &config.database {
        DatabaseConfig::Sqlite(file) => {
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_private_dir(parent).map_err(|e| {
                    format!(
                        "the database folder `{}` cannot be created: {e}",
                        parent.display()
                    )
                })?;
            }
            let options = SqliteConnectOptions::new()
                .filename(file)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // In WAL mode NORMAL keeps the database consistent through any crash; a power
                // loss may drop the last commits (a sign-in then has to be redone). FULL waited
                // for an fsync on every commit, most of a sign-in's time (docs/BENCHMARKS.md).
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(SQLITE_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await
                .map_err(|e| format!("the database `{}` cannot be opened: {e}", file.display()))?;
            let store = SqliteStore::new(pool);
            store
                .migrate()
                .await
                .map_err(|e| format!("session table migration failed: {e}"))?;
            make_private_files(file);
            (SessionEngine::Sqlite(store), SQLITE_CONNECTIONS)
        }
        DatabaseConfig::Postgres(url) => {
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect(&url.0)
                .await
                .map_err(|e| {
                    format!("PostgreSQL at PORTAL_DATABASE_URL ({url:?}) cannot be reached: {e}")
                })?;
            let store = PostgresStore::new(pool);
            store
                .migrate()
                .await
                .map_err(|e| format!("session table migration failed: {e}"))?;
            (SessionEngine::Postgres(store), POSTGRES_CONNECTIONS)
        }
    };
    let cache =
        (config.sqlite_memory && matches!(sessions, SessionEngine::Sqlite(_))).then(Arc::default);
    let sessions = Sessions {
        engine: sessions,
        breaker: Arc::default(),
        cache,
    };
    let db = Db::open(&config.database.url(), max)
        .await
        .map_err(|e| format!("the portal's tables: {e}"))?;
    let key = match &config.token_key {
        Some(key) => key.clone(),
        None => local_key(&dir.join("token.key"))?,
    };
    let sealer = Arc::new(Sealer::new(&key, config.token_key_old.as_ref()));
    let grants = GrantStore::new(
        db.clone(),
        sealer.clone(),
        config.refresh_row_lock,
        config.sqlite_memory,
    );
    let claims = LoginClaims::new(db.clone());
    tokio::spawn(
        sessions
            .clone()
            .continuously_delete_expired(Duration::from_secs(60)),
    );
    tokio::spawn(prune(grants.clone(), claims.clone()));
    Ok(Storage {
        sessions,
        grants,
        claims,
        db,
        sealer,
    })
}

/// Creates `dir` (and its parents) readable by this user only; tightens an existing one.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// The SQLite file and its journal, readable by this user only.
fn make_private_files(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600));
    }
}

/// The sealing key of a single-machine portal with no `PORTAL_TOKEN_KEY`: read from
/// `token.key` in the data directory, generated there (mode 0600) on first start.
fn local_key(path: &Path) -> Result<TokenKey, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::read_to_string(path) {
        Ok(text) => TokenKey::parse(&text).map_err(|why| {
            format!(
                "the token key `{}` {why}: restore it from a backup, or set PORTAL_TOKEN_KEY (deleting it signs everyone out)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = TokenKey::generate();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("the token key `{}` cannot be written: {e}", path.display()))?;
            file.write_all(format!("{}\n", key.to_base64()).as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(|e| format!("the token key `{}` cannot be written: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "generated the token encryption key");
            Ok(key)
        }
        Err(e) => Err(format!("the token key `{}` cannot be read: {e}", path.display())),
    }
}

/// Every five minutes, deletes the grants whose session can no longer exist and the sign-in
/// claims no callback can need.
async fn prune(grants: GrantStore, claims: LoginClaims) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        if let Err(e) = grants.prune().await {
            tracing::warn!(error = %e, "grant pruning failed");
        }
        if let Err(e) = claims.prune().await {
            tracing::warn!(error = %e, "sign-in claim pruning failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite_sessions(dir: &Path) -> (Sessions, sqlx::SqlitePool) {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("portal.db"))
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap();
        let store = SqliteStore::new(pool.clone());
        store.migrate().await.unwrap();
        let sessions = Sessions {
            engine: SessionEngine::Sqlite(store),
            breaker: Arc::default(),
            cache: Some(Arc::default()),
        };
        (sessions, pool)
    }

    fn record(expiry: time::OffsetDateTime) -> Record {
        let mut data = std::collections::HashMap::new();
        data.insert("user".to_string(), serde_json::json!("ada"));
        Record {
            id: Id::default(),
            data,
            expiry_date: expiry,
        }
    }

    /// On SQLite a load is answered from memory, written through on every change; a sign-out
    /// (delete) and an expiry are never answered from it.
    #[tokio::test]
    async fn sqlite_sessions_load_from_memory_written_through_and_never_past_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let (sessions, pool) = sqlite_sessions(dir.path()).await;
        let mut r = record(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
        sessions.create(&mut r).await.unwrap();
        // The rows go: a load that still answers came from memory.
        sqlx::query("DELETE FROM tower_sessions")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(sessions.load(&r.id).await.unwrap().unwrap().data, r.data);
        // A save reaches the table and the loads.
        r.data.insert("user".into(), serde_json::json!("grace"));
        sessions.save(&r).await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tower_sessions")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 1);
        assert_eq!(
            sessions.load(&r.id).await.unwrap().unwrap().data["user"],
            "grace"
        );
        // Signed out: gone.
        sessions.delete(&r.id).await.unwrap();
        assert!(sessions.load(&r.id).await.unwrap().is_none());
        // Expired in memory: not served, and the table does not have it either.
        let mut old = record(time::OffsetDateTime::now_utc() + time::Duration::milliseconds(300));
        sessions.create(&mut old).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(sessions.load(&old.id).await.unwrap().is_none());
        sessions.delete_expired().await.unwrap();
        assert!(sessions.cache.as_ref().unwrap().lock().unwrap().is_empty());
    }
}
