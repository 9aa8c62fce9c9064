//! The API host: one guard (bearer check, per-token rate limit, injected faults) in front of
//! the users, search and tokens endpoints; here the scope check and query parsing they share.

mod conversations;
mod guard;
mod search;
mod tokens;
mod users;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::org::WireOptions;
use crate::respond::ApiError;
use crate::store::TokenContext;
use crate::SandboxState;

pub(crate) use conversations::{get_conversation, wire as conversation_wire};
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

/// The `expand` values Genesys documents for user answers. The ones the sandbox models add
/// their field; the others are accepted and add nothing. Anything else is a 400, as Genesys
/// checks its enumerations.
const USER_EXPANDS: &[&str] = &[
    "routingStatus",
    "presence",
    "integrationPresence",
    "conversationSummary",
    "outOfOffice",
    "geolocation",
    "station",
    "authorization",
    "lasttokenissued",
    "dateLastLogin",
    "authorization.unusedRoles",
    "team",
    "workPlanBidRanks",
    "externalContactsSettings",
    "profileSkills",
    "certifications",
    "locations",
    "groups",
    "skills",
    "languages",
    "languagePreference",
    "employerInfo",
    "biography",
    "dateWelcomeSent",
];

/// What a user answer carries, from its `expand` values (repeated or comma-separated).
pub(super) fn wire_options<'a>(
    s: &SandboxState,
    headers: &HeaderMap,
    expand: impl Iterator<Item = &'a str>,
) -> Result<WireOptions, ApiError> {
    let mut opts = WireOptions {
        base: own_base(s, headers),
        sparse: s.inner.faults.sparse_users(),
        ..WireOptions::default()
    };
    for value in expand.flat_map(|v| v.split(',')).map(str::trim) {
        match value {
            "" => {}
            "presence" => opts.presence = true,
            "routingStatus" => opts.routing_status = true,
            "geolocation" => opts.geolocation = true,
            "station" => opts.station = true,
            "authorization" => opts.authorization = true,
            "authorization.unusedRoles" => {
                opts.authorization = true;
                opts.unused_roles = true;
            }
            "dateLastLogin" => opts.date_last_login = true,
            v if USER_EXPANDS.contains(&v) => {}
            other => {
                return Err(ApiError::templated(
                    StatusCode::BAD_REQUEST,
                    "bad.request",
                    "Value [{value}] is not valid for field type [expand]. Allowable values are: {allowed}",
                    &[
                        ("value", other.chars().take(40).collect()),
                        ("allowed", USER_EXPANDS.join(", ")),
                    ],
                ))
            }
        }
    }
    Ok(opts)
}

/// The sandbox's own base URL: the configured public one, else the `Host` the request came to.
fn own_base(s: &SandboxState, headers: &HeaderMap) -> String {
    if let Some(url) = &s.inner.public_base_url {
        return url.as_str().trim_end_matches('/').to_string();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
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
