//! Requests every replica acts on, through the database: a named signal has a generation that
//! [`ReplicaSignals::raise`] moves; every replica polls it ([`ReplicaSignals::generation`])
//! and acts when it moved. "Rotate now" on the service page raises [`SERVICE_ROTATION`], so the
//! rotation reaches the service token of every replica, not only the one that served the click.

use sqlx::Row;

use super::{clock::now_unix, db::Db};

/// The service token's "rotate now".
pub const SERVICE_ROTATION: &str = "service-rotation";

#[derive(Clone)]
pub struct ReplicaSignals {
    db: Db,
}

impl ReplicaSignals {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Moves `name`'s generation on; returns the new one.
    pub async fn raise(&self, name: &str, by_replica: &str) -> Result<i64, sqlx::Error> {
        let row = sqlx::query(
            "INSERT INTO replica_signals (name, generation, at_unix, by_replica) VALUES ($1, 1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET generation = replica_signals.generation + 1, \
             at_unix = excluded.at_unix, by_replica = excluded.by_replica \
             RETURNING generation",
        )
        .bind(name)
        .bind(now_unix())
        .bind(by_replica)
        .fetch_one(self.db.pool())
        .await?;
        row.try_get(0)
    }

    /// `name`'s generation now (0 when it was never raised).
    pub async fn generation(&self, name: &str) -> Result<i64, sqlx::Error> {
        let row = sqlx::query("SELECT generation FROM replica_signals WHERE name = $1")
            .bind(name)
            .fetch_optional(self.db.pool())
            .await?;
        match row {
            Some(row) => row.try_get(0),
            None => Ok(0),
        }
    }
}
