//! The provider's tables (prefix `guest_idp_`, SQLite or PostgreSQL): migrated on open, every secret stored
//! only as its SHA-256 hash. Submodules hold the queries, one per kind of record.

pub(crate) mod grants;
pub(crate) mod guests;

use sqlx::AnyPool;

use crate::error::IdpError;

/// Runs the provider's migrations (`guest_idp/migrations/<engine>`) that have not run yet. They
/// share sqlx's history table with the portal's own, so each set ignores the other's rows.
pub(crate) async fn migrate(pool: &AnyPool) -> Result<(), IdpError> {
    let postgres = pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("postgres");
    let mut migrator = if postgres {
        sqlx::migrate!("./migrations/postgres")
    } else {
        sqlx::migrate!("./migrations/sqlite")
    };
    migrator.set_ignore_missing(true);
    migrator
        .run(pool)
        .await
        .map_err(|e| IdpError::Store(format!("migration: {e}")))
}
/// Deletes expired invitations, sessions, codes and tokens. Spent refresh tokens are kept
/// until they expire and used codes a day longer: their presence is how a replay is
/// recognised (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
pub(crate) async fn purge_expired(pool: &AnyPool, now_ms: i64) -> Result<(), IdpError> {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    for (table, grace) in [
        ("guest_idp_invitations", 0),
        ("guest_idp_sessions", 0),
        ("guest_idp_codes", DAY_MS),
        ("guest_idp_access_tokens", 0),
        ("guest_idp_refresh_tokens", 0),
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE expires_ms <= $1"))
            .bind(now_ms - grace)
            .execute(pool)
            .await?;
    }
    Ok(())
}
