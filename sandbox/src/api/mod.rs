//! The API host: one guard (bearer check, per-token rate limit, injected faults) in front of
//! the users, search and tokens endpoints; here the scope check and query parsing they share.

mod guard;
mod search;
mod tokens;
mod users;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::respond::ApiError;
use crate::store::TokenContext;

pub(crate) use guard::{guard, injected_fault};
pub(crate) use search::{search_users, search_users_q64};
pub(crate) use tokens::{delete_tokens_me, tokens_me};
pub(crate) use users::{get_user, list_users, users_me};

/// The scopes that may read users.
const USERS_READ: &[&str] = &["users", "users:readonly"];

pub(super) fn require_scope(ctx: &TokenContext, accepted: &[&str]) -> Result<(), ApiError> {
    if ctx.scopes.iter().any(|s| accepted.contains(&s.as_str())) {
        return Ok(());
    }
    Err(ApiError::templated(
        StatusCode::FORBIDDEN,
        "missing.any.scopes",
        "This request requires one of the following scopes: {scopes}. The token has: {granted}.",
        &[
            ("scopes", accepted.join(", ")),
            ("granted", ctx.scopes.join(", ")),
        ],
    ))
}

/// The query of a listing, with repeated keys kept.
pub(super) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The last value given for `key` (a repeated parameter's last occurrence wins).
pub(super) fn last_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `expand=presence,...` (repeated or comma-separated).
pub(super) fn expands_presence<'a>(values: impl Iterator<Item = &'a str>) -> bool {
    values
        .flat_map(|v| v.split(','))
        .any(|e| e.trim() == "presence")
}

pub(super) fn parse_number(name: &str, value: &str, min: u32, max: u32) -> Result<u32, ApiError> {
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::templated(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "The value [{value}] of {name} is not valid. It must be between {min} and {max}.",
            &[
                ("value", value.chars().take(40).collect()),
                ("name", name.to_string()),
                ("min", min.to_string()),
                ("max", max.to_string()),
            ],
        )),
    }
}

pub(super) fn page_count(total: u64, page_size: u32) -> u32 {
    u32::try_from(total.div_ceil(u64::from(page_size))).unwrap_or(u32::MAX)
}

/// Anything else: Genesys' 404 body.
pub(crate) async fn not_found(req: Request) -> Response {
    not_found_response(req.uri().path())
}

/// Genesys' 404 body for `path`.
pub(crate) fn not_found_response(path: &str) -> Response {
    let path: String = path.chars().take(200).collect();
    ApiError::templated(
        StatusCode::NOT_FOUND,
        "not.found",
        "No resource at {path}.",
        &[("path", path)],
    )
    .into_response()
}
