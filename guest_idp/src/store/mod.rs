//! The provider's SQLite tables (prefix `guest_idp_`): created on open, every secret stored
//! only as its SHA-256 hash. Submodules hold the queries, one per kind of record.

pub(crate) mod grants;
pub(crate) mod guests;

use sqlx::SqlitePool;

use crate::error::IdpError;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS guest_idp_guests (
        id TEXT PRIMARY KEY,
        given_name TEXT NOT NULL,
        family_name TEXT NOT NULL,
        email TEXT NOT NULL,
        attributes TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_unix INTEGER NOT NULL,
        last_sign_in_unix INTEGER
    )",
    "CREATE TABLE IF NOT EXISTS guest_idp_invitations (
        token_hash TEXT PRIMARY KEY,
        guest_id TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        used_ms INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS guest_idp_invitations_guest ON guest_idp_invitations (guest_id)",
    "CREATE TABLE IF NOT EXISTS guest_idp_sessions (
        id_hash TEXT PRIMARY KEY,
        guest_id TEXT NOT NULL,
        auth_time INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS guest_idp_sessions_guest ON guest_idp_sessions (guest_id)",
    "CREATE TABLE IF NOT EXISTS guest_idp_codes (
        code_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        nonce TEXT,
        scope TEXT NOT NULL,
        guest_id TEXT NOT NULL,
        auth_time INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        used INTEGER NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS guest_idp_codes_guest ON guest_idp_codes (guest_id)",
    "CREATE TABLE IF NOT EXISTS guest_idp_access_tokens (
        token_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        guest_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS guest_idp_access_family ON guest_idp_access_tokens (family_id)",
    "CREATE INDEX IF NOT EXISTS guest_idp_access_guest ON guest_idp_access_tokens (guest_id)",
    "CREATE TABLE IF NOT EXISTS guest_idp_refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        guest_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        auth_time INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        spent INTEGER NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS guest_idp_refresh_family ON guest_idp_refresh_tokens (family_id)",
    "CREATE INDEX IF NOT EXISTS guest_idp_refresh_guest ON guest_idp_refresh_tokens (guest_id)",
    "CREATE TABLE IF NOT EXISTS guest_idp_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_unix INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        guest_id TEXT,
        detail TEXT
    )",
    "CREATE INDEX IF NOT EXISTS guest_idp_audit_guest ON guest_idp_audit (guest_id, id)",
];

/// Creates the tables that are missing.
pub(crate) async fn migrate(pool: &SqlitePool) -> Result<(), IdpError> {
    for statement in SCHEMA {
        sqlx::query(statement).execute(pool).await?;
    }
    Ok(())
}

/// Deletes expired invitations, sessions, codes and tokens. Spent refresh tokens are kept
/// until they expire and used codes a day longer: their presence is how a replay is
/// recognised (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
pub(crate) async fn purge_expired(pool: &SqlitePool, now_ms: i64) -> Result<(), IdpError> {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    for (table, grace) in [
        ("guest_idp_invitations", 0),
        ("guest_idp_sessions", 0),
        ("guest_idp_codes", DAY_MS),
        ("guest_idp_access_tokens", 0),
        ("guest_idp_refresh_tokens", 0),
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE expires_ms <= ?"))
            .bind(now_ms - grace)
            .execute(pool)
            .await?;
    }
    Ok(())
}
