//! Queries on guests, their invitations, their browser sessions at the provider and the
//! audit trail.

use std::collections::BTreeMap;

use sqlx::{AnyPool, Row};

use crate::audit::AuditEntry;
use crate::error::IdpError;
use crate::guests::Guest;

const GUEST_COLUMNS: &str =
    "id, given_name, family_name, email, attributes, disabled, created_unix, last_sign_in_unix";

fn guest_from_row(row: &sqlx::any::AnyRow) -> Result<Guest, IdpError> {
    let attributes: String = row.try_get("attributes")?;
    let attributes: BTreeMap<String, String> = serde_json::from_str(&attributes)
        .map_err(|e| IdpError::Store(format!("stored attributes are unreadable: {e}")))?;
    Ok(Guest {
        id: row.try_get("id")?,
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        email: row.try_get("email")?,
        attributes,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_unix: row.try_get("created_unix")?,
        last_sign_in_unix: row.try_get("last_sign_in_unix")?,
    })
}

pub(crate) async fn insert(pool: &AnyPool, g: &Guest) -> Result<(), IdpError> {
    let attributes =
        serde_json::to_string(&g.attributes).map_err(|e| IdpError::Store(e.to_string()))?;
    sqlx::query(
        "INSERT INTO guest_idp_guests (id, given_name, family_name, email, attributes, disabled, created_unix)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&g.id)
    .bind(&g.given_name)
    .bind(&g.family_name)
    .bind(&g.email)
    .bind(attributes)
    .bind(g.disabled as i64)
    .bind(g.created_unix)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn get(pool: &AnyPool, id: &str) -> Result<Option<Guest>, IdpError> {
    let row = sqlx::query(&format!(
        "SELECT {GUEST_COLUMNS} FROM guest_idp_guests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(guest_from_row).transpose()
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_pattern(search: &str) -> String {
    let mut p = String::from("%");
    for c in search.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub(crate) async fn search(
    pool: &AnyPool,
    search: &str,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Guest>, u64), IdpError> {
    // SQLite's lower() folds ASCII only; Rust lowercases the pattern, so non-ASCII letters
    // match case-sensitively beyond ASCII. Good enough for names and addresses.
    let filter = "lower(given_name || ' ' || family_name || ' ' || email) LIKE $1 ESCAPE '\\'";
    let pattern = like_pattern(search);
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM guest_idp_guests WHERE {filter}"
    ))
    .bind(&pattern)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query(&format!(
        "SELECT {GUEST_COLUMNS} FROM guest_idp_guests WHERE {filter}
         ORDER BY created_unix DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let guests = rows
        .iter()
        .map(guest_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((guests, u64::try_from(total).unwrap_or(0)))
}

pub(crate) async fn set_disabled(
    pool: &AnyPool,
    id: &str,
    disabled: bool,
) -> Result<bool, IdpError> {
    let done = sqlx::query("UPDATE guest_idp_guests SET disabled = $1 WHERE id = $2")
        .bind(disabled as i64)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn touch_sign_in(pool: &AnyPool, id: &str, at_unix: i64) -> Result<(), IdpError> {
    sqlx::query("UPDATE guest_idp_guests SET last_sign_in_unix = $1 WHERE id = $2")
        .bind(at_unix)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Removes the guest and everything issued to it, in one transaction.
pub(crate) async fn delete(pool: &AnyPool, id: &str) -> Result<bool, IdpError> {
    let mut tx = pool.begin().await?;
    for table in [
        "guest_idp_invitations",
        "guest_idp_sessions",
        "guest_idp_codes",
        "guest_idp_access_tokens",
        "guest_idp_refresh_tokens",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE guest_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let done = sqlx::query("DELETE FROM guest_idp_guests WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the guest's sessions and revokes its refresh and access tokens (on disabling).
pub(crate) async fn revoke_all(pool: &AnyPool, id: &str) -> Result<(), IdpError> {
    let mut tx = pool.begin().await?;
    for table in [
        "guest_idp_sessions",
        "guest_idp_codes",
        "guest_idp_access_tokens",
        "guest_idp_refresh_tokens",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE guest_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores a new invitation and drops the guest's earlier unused ones.
pub(crate) async fn replace_invitation(
    pool: &AnyPool,
    guest_id: &str,
    token_hash: &str,
    expires_ms: i64,
) -> Result<(), IdpError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM guest_idp_invitations WHERE guest_id = $1 AND used_ms IS NULL")
        .bind(guest_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO guest_idp_invitations (token_hash, guest_id, expires_ms) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(guest_id)
    .bind(expires_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The state of an invitation at the moment it is opened.
pub(crate) enum InvitationUse {
    /// It was valid and is now used; the guest it belongs to.
    Accepted(String),
    Unknown,
    AlreadyUsed,
    Expired,
}

/// Marks the invitation used if it is unused and unexpired (atomic: two parallel openings
/// cannot both succeed).
pub(crate) async fn use_invitation(
    pool: &AnyPool,
    token_hash: &str,
    now_ms: i64,
) -> Result<InvitationUse, IdpError> {
    let accepted: Option<String> = sqlx::query_scalar(
        "UPDATE guest_idp_invitations SET used_ms = $1
         WHERE token_hash = $2 AND used_ms IS NULL AND expires_ms > $3 RETURNING guest_id",
    )
    .bind(now_ms)
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(pool)
    .await?;
    if let Some(guest_id) = accepted {
        return Ok(InvitationUse::Accepted(guest_id));
    }
    let row = sqlx::query("SELECT used_ms FROM guest_idp_invitations WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        None => InvitationUse::Unknown,
        Some(r) if r.try_get::<Option<i64>, _>("used_ms")?.is_some() => InvitationUse::AlreadyUsed,
        Some(_) => InvitationUse::Expired,
    })
}

pub(crate) async fn insert_session(
    pool: &AnyPool,
    id_hash: &str,
    guest_id: &str,
    auth_time: i64,
    expires_ms: i64,
) -> Result<(), IdpError> {
    sqlx::query("INSERT INTO guest_idp_sessions (id_hash, guest_id, auth_time, expires_ms) VALUES ($1, $2, $3, $4)")
        .bind(id_hash)
        .bind(guest_id)
        .bind(auth_time)
        .bind(expires_ms)
        .execute(pool)
        .await?;
    Ok(())
}

/// The live session's guest id and `auth_time`.
pub(crate) async fn session(
    pool: &AnyPool,
    id_hash: &str,
    now_ms: i64,
) -> Result<Option<(String, i64)>, IdpError> {
    let row = sqlx::query(
        "SELECT guest_id, auth_time FROM guest_idp_sessions WHERE id_hash = $1 AND expires_ms > $2",
    )
    .bind(id_hash)
    .bind(now_ms)
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((r.try_get("guest_id")?, r.try_get("auth_time")?)))
        .transpose()
}

pub(crate) async fn delete_session(
    pool: &AnyPool,
    id_hash: &str,
) -> Result<Option<String>, IdpError> {
    let guest: Option<String> =
        sqlx::query_scalar("DELETE FROM guest_idp_sessions WHERE id_hash = $1 RETURNING guest_id")
            .bind(id_hash)
            .fetch_optional(pool)
            .await?;
    Ok(guest)
}

pub(crate) async fn insert_audit(pool: &AnyPool, e: &AuditEntry) -> Result<(), IdpError> {
    sqlx::query("INSERT INTO guest_idp_audit (at_unix, actor, action, guest_id, detail, replica) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(e.at_unix)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.guest_id)
        .bind(&e.detail)
        .bind(&e.replica)
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn audit(
    pool: &AnyPool,
    guest_id: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEntry>, IdpError> {
    let rows = sqlx::query(
        "SELECT at_unix, actor, action, guest_id, detail, replica FROM guest_idp_audit
         WHERE ($1 IS NULL OR guest_id = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(guest_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                at_unix: r.try_get("at_unix")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                guest_id: r.try_get("guest_id")?,
                detail: r.try_get("detail")?,
                replica: r.try_get("replica")?,
            })
        })
        .collect()
}
