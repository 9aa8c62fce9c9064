//! One use of each sign-in state, across replicas: the callback claims the state in the
//! database before it redeems the code, so when one sign-in's callback arrives twice (a double
//! click, a retried request, two replicas), exactly one redeems it.

use sha2::{Digest, Sha256};

use super::{clock::now_unix, db::Db};

/// How long a claim is kept: longer than any pending login lives.
const KEEP_SECS: i64 = 24 * 3600;

#[derive(Clone)]
pub struct LoginClaims {
    db: Db,
}

impl LoginClaims {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Claims `state`: `true` for the first caller, `false` for every later one.
    pub async fn claim(&self, state: &str) -> Result<bool, sqlx::Error> {
        let r = sqlx::query(
            "INSERT INTO login_claims (state_hash, claimed_at) VALUES ($1, $2) \
             ON CONFLICT (state_hash) DO NOTHING",
        )
        .bind(hash(state))
        .bind(now_unix())
        .execute(self.db.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Whether `state` was claimed already (by this replica or another).
    pub async fn is_claimed(&self, state: &str) -> Result<bool, sqlx::Error> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT claimed_at FROM login_claims WHERE state_hash = $1")
                .bind(hash(state))
                .fetch_optional(self.db.pool())
                .await?;
        Ok(found.is_some())
    }

    /// Forgets claims older than any login they could answer.
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        let r = sqlx::query("DELETE FROM login_claims WHERE claimed_at < $1")
            .bind(now_unix() - KEEP_SECS)
            .execute(self.db.pool())
            .await?;
        Ok(r.rows_affected())
    }
}

fn hash(state: &str) -> String {
    Sha256::digest(state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
