//! The portal's database: SQLite in the data directory (one machine, the default) or
//! PostgreSQL (several replicas), both through sqlx's `Any` driver so that every query is
//! written once (`$1` placeholders, which both engines read). Each engine has its migrations
//! (`app/migrations/<engine>`), run at start; PostgreSQL's take an advisory lock, so replicas
//! starting together migrate once.

use std::time::Duration;

use sqlx::{any::AnyPoolOptions, AnyPool, Executor};

/// Which engine a [`Db`] runs on: the few statements that differ (row locks) ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A pool on the portal's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
}

/// How long a request waits for a connection before the store counts as down: short, so that
/// a request answers "try again shortly" within two seconds instead of hanging.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and runs the portal's migrations.
    pub async fn open(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        };
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT);
        if engine == Engine::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL: readers never wait for the writer. NORMAL keeps the database
                    // consistent through any crash; a power loss may drop the last commits.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await?;
        let db = Db { pool, engine };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), sqlx::Error> {
        let mut migrator = match self.engine {
            Engine::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Engine::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        // The guest provider keeps its own migrations in the same history table.
        migrator.set_ignore_missing(true);
        migrator.run(&self.pool).await.map_err(migrate_error)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The database answers (for `/readyz` and the store's health metric).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

fn migrate_error(e: sqlx::migrate::MigrateError) -> sqlx::Error {
    match e {
        sqlx::migrate::MigrateError::Execute(e) => e,
        other => sqlx::Error::Configuration(format!("migration: {other}").into()),
    }
}
