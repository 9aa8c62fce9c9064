//! Queries on what a sign-in grants: authorization codes, access tokens and refresh tokens.
//! A `family_id` ties every token issued from one code together, so a replay revokes them all.

use sqlx::{AnyPool, Row};

use crate::error::IdpError;

/// A stored authorization code (its hash is the key).
pub(crate) struct CodeRecord {
    pub family_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scope: String,
    pub guest_id: String,
    pub auth_time: i64,
    pub expires_ms: i64,
}

pub(crate) async fn insert_code(
    pool: &AnyPool,
    code_hash: &str,
    c: &CodeRecord,
) -> Result<(), IdpError> {
    sqlx::query(
        "INSERT INTO guest_idp_codes (code_hash, family_id, client_id, redirect_uri, code_challenge,
         nonce, scope, guest_id, auth_time, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(code_hash)
    .bind(&c.family_id)
    .bind(&c.client_id)
    .bind(&c.redirect_uri)
    .bind(&c.code_challenge)
    .bind(&c.nonce)
    .bind(&c.scope)
    .bind(&c.guest_id)
    .bind(c.auth_time)
    .bind(c.expires_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// What redeeming a code found.
pub(crate) enum CodeUse {
    /// First use: the code is now spent.
    Fresh(CodeRecord),
    /// Already redeemed once: a replay; the family to revoke.
    Replayed(String),
    Unknown,
}

/// Marks the code used (atomically) and returns it; a second call sees `Replayed`.
pub(crate) async fn use_code(pool: &AnyPool, code_hash: &str) -> Result<CodeUse, IdpError> {
    let row = sqlx::query(
        "UPDATE guest_idp_codes SET used = 1 WHERE code_hash = $1 AND used = 0
         RETURNING family_id, client_id, redirect_uri, code_challenge, nonce, scope, guest_id, auth_time, expires_ms",
    )
    .bind(code_hash)
    .fetch_optional(pool)
    .await?;
    if let Some(r) = row {
        return Ok(CodeUse::Fresh(CodeRecord {
            family_id: r.try_get("family_id")?,
            client_id: r.try_get("client_id")?,
            redirect_uri: r.try_get("redirect_uri")?,
            code_challenge: r.try_get("code_challenge")?,
            nonce: r.try_get("nonce")?,
            scope: r.try_get("scope")?,
            guest_id: r.try_get("guest_id")?,
            auth_time: r.try_get("auth_time")?,
            expires_ms: r.try_get("expires_ms")?,
        }));
    }
    let family: Option<String> =
        sqlx::query_scalar("SELECT family_id FROM guest_idp_codes WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(pool)
            .await?;
    Ok(family.map_or(CodeUse::Unknown, CodeUse::Replayed))
}

/// Deletes every access and refresh token of a family, and marks the family's code revoked
/// (`used = 2`) so that tokens a concurrent request is still issuing are caught by
/// [`family_revoked`].
pub(crate) async fn revoke_family(pool: &AnyPool, family_id: &str) -> Result<(), IdpError> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE guest_idp_codes SET used = 2 WHERE family_id = $1")
        .bind(family_id)
        .execute(&mut *tx)
        .await?;
    for table in ["guest_idp_access_tokens", "guest_idp_refresh_tokens"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE family_id = $1"))
            .bind(family_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What an access or refresh token grants.
#[derive(Clone)]
pub(crate) struct TokenGrant {
    pub family_id: String,
    pub client_id: String,
    pub guest_id: String,
    pub scope: String,
    pub auth_time: i64,
}

pub(crate) async fn insert_access(
    pool: &AnyPool,
    hash: &str,
    g: &TokenGrant,
    expires_ms: i64,
) -> Result<(), IdpError> {
    sqlx::query(
        "INSERT INTO guest_idp_access_tokens (token_hash, family_id, client_id, guest_id, scope, expires_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash)
    .bind(&g.family_id)
    .bind(&g.client_id)
    .bind(&g.guest_id)
    .bind(&g.scope)
    .bind(expires_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// The live access token's guest id and scope.
pub(crate) async fn access(
    pool: &AnyPool,
    hash: &str,
    now_ms: i64,
) -> Result<Option<(String, String)>, IdpError> {
    let row = sqlx::query("SELECT guest_id, scope FROM guest_idp_access_tokens WHERE token_hash = $1 AND expires_ms > $2")
        .bind(hash)
        .bind(now_ms)
        .fetch_optional(pool)
        .await?;
    row.map(|r| Ok((r.try_get("guest_id")?, r.try_get("scope")?)))
        .transpose()
}

pub(crate) async fn insert_refresh(
    pool: &AnyPool,
    hash: &str,
    g: &TokenGrant,
    expires_ms: i64,
) -> Result<(), IdpError> {
    sqlx::query(
        "INSERT INTO guest_idp_refresh_tokens (token_hash, family_id, client_id, guest_id, scope, auth_time, expires_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hash)
    .bind(&g.family_id)
    .bind(&g.client_id)
    .bind(&g.guest_id)
    .bind(&g.scope)
    .bind(g.auth_time)
    .bind(expires_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// What presenting a refresh token found.
pub(crate) enum RefreshUse {
    /// Live and now spent (rotation): the grant it carried.
    Fresh(TokenGrant),
    /// Already spent: a replay (RFC 9700 §4.14.2); the family to revoke.
    Replayed(String),
    /// Unknown or expired.
    Invalid,
}

pub(crate) async fn use_refresh(
    pool: &AnyPool,
    hash: &str,
    now_ms: i64,
) -> Result<RefreshUse, IdpError> {
    let row = sqlx::query(
        "UPDATE guest_idp_refresh_tokens SET spent = 1 WHERE token_hash = $1 AND spent = 0 AND expires_ms > $2
         RETURNING family_id, client_id, guest_id, scope, auth_time",
    )
    .bind(hash)
    .bind(now_ms)
    .fetch_optional(pool)
    .await?;
    if let Some(r) = row {
        return Ok(RefreshUse::Fresh(TokenGrant {
            family_id: r.try_get("family_id")?,
            client_id: r.try_get("client_id")?,
            guest_id: r.try_get("guest_id")?,
            scope: r.try_get("scope")?,
            auth_time: r.try_get("auth_time")?,
        }));
    }
    let spent: Option<String> = sqlx::query_scalar(
        "SELECT family_id FROM guest_idp_refresh_tokens WHERE token_hash = $1 AND spent = 1",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    Ok(spent.map_or(RefreshUse::Invalid, RefreshUse::Replayed))
}

/// Undoes [`use_refresh`] for a request refused for the client's own mistake.
pub(crate) async fn unspend_refresh(pool: &AnyPool, hash: &str) -> Result<(), IdpError> {
    sqlx::query("UPDATE guest_idp_refresh_tokens SET spent = 0 WHERE token_hash = $1")
        .bind(hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Whether [`revoke_family`] ran for this family (checked after issuing new tokens).
pub(crate) async fn family_revoked(pool: &AnyPool, family_id: &str) -> Result<bool, IdpError> {
    let revoked: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM guest_idp_codes WHERE family_id = $1 AND used = 2")
            .bind(family_id)
            .fetch_optional(pool)
            .await?;
    Ok(revoked.is_some())
}
