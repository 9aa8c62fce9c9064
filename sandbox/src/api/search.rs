//! `POST /api/v2/users/search` and its `q64` page links: the criteria (EXACT, CONTAINS,
//! STARTS_WITH, QUERY_STRING) over Genesys' search fields, sorting and paging.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use genesys::{
    SearchCriterion, SearchSortOrder, SortOrder, StateFilter, User, UserSearchRequest, UserState,
    UsersSearchResponse,
};

use super::{expands_presence, page_count, parse_number, query_pairs, require_scope, USERS_READ};
use crate::org::Org;
use crate::respond::ApiError;
use crate::store::TokenContext;
use crate::SandboxState;

const MAX_SEARCH_PAGE_SIZE: u32 = 100;

/// One compiled search criterion.
struct Matcher {
    kind: MatchKind,
    fields: Vec<SearchField>,
    /// Lower-cased terms (one for every kind but `QUERY_STRING`, which matches all its words).
    terms: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum MatchKind {
    Exact,
    Contains,
    StartsWith,
    QueryString,
}

#[derive(Clone, Copy)]
enum SearchField {
    Id,
    Name,
    Email,
    Username,
    Department,
    Title,
    State,
}

impl SearchField {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "id" => Self::Id,
            "name" => Self::Name,
            "email" => Self::Email,
            "username" => Self::Username,
            "department" => Self::Department,
            "title" => Self::Title,
            "state" => Self::State,
            _ => return None,
        })
    }

    fn value(self, org: &Org, index: u32) -> String {
        let u = org.user(index);
        match self {
            Self::Id => u.id.to_string(),
            Self::Name => u.name.to_lowercase(),
            Self::Email | Self::Username => u.username.to_string(),
            Self::Department => org.department(u).to_lowercase(),
            Self::Title => org.title(u).to_lowercase(),
            Self::State => u.state.as_str().to_string(),
        }
    }
}

impl Matcher {
    fn compile(c: &SearchCriterion) -> Result<Matcher, ApiError> {
        let kind = match c.kind.as_str() {
            "EXACT" | "TERM" => MatchKind::Exact,
            "CONTAINS" => MatchKind::Contains,
            "STARTS_WITH" => MatchKind::StartsWith,
            "QUERY_STRING" => MatchKind::QueryString,
            other => {
                return Err(ApiError::bad_request(format!(
                    "The search type [{}] is not supported; use EXACT, CONTAINS, STARTS_WITH or QUERY_STRING.",
                    other.chars().take(40).collect::<String>()
                )))
            }
        };
        let fields = if c.fields.is_empty() {
            vec![SearchField::Name, SearchField::Email, SearchField::Username]
        } else {
            c.fields
                .iter()
                .map(|f| {
                    SearchField::parse(f).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "The search field [{}] is not supported.",
                            f.chars().take(40).collect::<String>()
                        ))
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let value = c.value.as_deref().unwrap_or("").trim().to_lowercase();
        if value.is_empty() {
            return Err(ApiError::bad_request("A search criterion needs a value."));
        }
        let terms = if kind == MatchKind::QueryString {
            value.split_whitespace().map(str::to_string).collect()
        } else {
            vec![value]
        };
        Ok(Matcher {
            kind,
            fields,
            terms,
        })
    }

    fn matches(&self, org: &Org, index: u32) -> bool {
        let values: Vec<String> = self.fields.iter().map(|f| f.value(org, index)).collect();
        self.terms.iter().all(|term| {
            values.iter().any(|v| match self.kind {
                MatchKind::Exact => v == term,
                MatchKind::Contains | MatchKind::QueryString => v.contains(term.as_str()),
                MatchKind::StartsWith => {
                    v.starts_with(term.as_str())
                        || v.split_whitespace().any(|w| w.starts_with(term.as_str()))
                }
            })
        })
    }

    fn targets_state(&self) -> bool {
        self.fields.iter().any(|f| matches!(f, SearchField::State))
    }
}

fn run_search(s: &SandboxState, request: UserSearchRequest) -> Result<Response, ApiError> {
    let page_size = parse_number(
        "pageSize",
        &request.page_size.to_string(),
        1,
        MAX_SEARCH_PAGE_SIZE,
    )?;
    let page_number = parse_number("pageNumber", &request.page_number.to_string(), 1, u32::MAX)?;
    let matchers = request
        .query
        .iter()
        .map(Matcher::compile)
        .collect::<Result<Vec<_>, _>>()?;
    let sort_field = match request.sort_by.as_deref() {
        None | Some("name") => SearchField::Name,
        Some(other) => SearchField::parse(other).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Cannot sort by [{}].",
                other.chars().take(40).collect::<String>()
            ))
        })?,
    };
    let org = s.org();
    // Deleted users are found only by a criterion on state.
    let include_deleted = matchers.iter().any(Matcher::targets_state);
    let mut found: Vec<u32> = org
        .sorted_slice(StateFilter::Any)
        .iter()
        .copied()
        .filter(|&i| include_deleted || org.user(i).state != UserState::Deleted)
        .filter(|&i| matchers.iter().all(|m| m.matches(org, i)))
        .collect();
    if !matches!(sort_field, SearchField::Name) {
        found.sort_by_cached_key(|&i| sort_field.value(org, i));
    }
    // `SCORE` (relevance): the sandbox scores every match alike, so ties keep the name order.
    let order = match request.sort_order.unwrap_or_default() {
        SearchSortOrder::Asc | SearchSortOrder::Score => SortOrder::Ascending,
        SearchSortOrder::Desc => SortOrder::Descending,
    };
    let total = found.len() as u64;
    let results: Vec<User> = Org::page(&found, order, page_size as usize, page_number as usize)
        .map(|i| {
            org.to_wire(
                i,
                expands_presence(request.expand.iter().map(String::as_str)),
            )
        })
        .collect();
    let pages = page_count(total, page_size);
    let link = |n: u32| {
        let mut r = request.clone();
        r.page_number = n;
        format!("/api/v2/users/search?q64={}", encode_q64(&r))
    };
    let answer = UsersSearchResponse {
        total,
        page_count: pages,
        page_size,
        page_number,
        previous_page: (page_number > 1).then(|| link(page_number - 1)),
        current_page: Some(link(page_number)),
        next_page: (page_number < pages).then(|| link(page_number + 1)),
        types: vec!["users".into()],
        results,
    };
    Ok(Json(answer).into_response())
}

/// `POST /api/v2/users/search`.
pub(crate) async fn search_users(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_scope(&ctx, USERS_READ)?;
    run_search(&s, parse_search(&body)?)
}

/// Reads a search body. A search spells its order `ASC`, `DESC` or `SCORE` (upper case, as
/// Genesys' own SDK models do), never a listing's `ascending`/`descending`: anything else is a
/// 400, so a client that sends a listing's spelling fails here as it would against Genesys.
fn parse_search(body: &[u8]) -> Result<UserSearchRequest, ApiError> {
    let invalid = |e: serde_json::Error| {
        ApiError::bad_request(format!("The search request is not valid: {e}"))
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
    if let Some(order) = value.get("sortOrder").filter(|o| !o.is_null()) {
        let known = order
            .as_str()
            .is_some_and(|o| ["ASC", "DESC", "SCORE"].contains(&o));
        if !known {
            let shown: String = order.to_string().chars().take(40).collect();
            return Err(ApiError::bad_request(format!(
                "Invalid value for sortOrder: {shown}. Allowed values: ASC, DESC, SCORE."
            )));
        }
    }
    serde_json::from_value(value).map_err(invalid)
}

/// `GET /api/v2/users/search?q64=...`: the `nextPage`/`previousPage` links of a search.
pub(crate) async fn search_users_q64(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    require_scope(&ctx, USERS_READ)?;
    let pairs = query_pairs(query.as_deref());
    let q64 = pairs
        .iter()
        .find(|(k, _)| k == "q64")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| ApiError::bad_request("q64 is required."))?;
    run_search(&s, parse_search(&decode_q64(q64)?)?)
}

/// The largest search a `q64` link may unpack to (a gzip bomb stops here).
const MAX_Q64_JSON: u64 = 64 * 1024;

/// A search as Genesys writes it into its paging links: the JSON body, gzipped, in base64url.
pub(crate) fn encode_q64(request: &UserSearchRequest) -> String {
    use std::io::Write;
    let json = serde_json::to_vec(request).unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(&json);
    URL_SAFE.encode(gz.finish().unwrap_or_default())
}

/// The JSON body of a `q64` link: base64 (url-safe or standard) of a gzip stream, at most
/// [`MAX_Q64_JSON`] bytes once unpacked.
fn decode_q64(q64: &str) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let packed = URL_SAFE
        .decode(q64)
        .or_else(|_| STANDARD.decode(q64))
        .map_err(|_| ApiError::bad_request("q64 is not base64."))?;
    if !packed.starts_with(&[0x1f, 0x8b]) {
        return Err(ApiError::bad_request("q64 is not a gzipped search."));
    }
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(packed.as_slice())
        .take(MAX_Q64_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|_| ApiError::bad_request("q64 is not a gzipped search."))?;
    if json.len() as u64 > MAX_Q64_JSON {
        return Err(ApiError::bad_request("q64 is too large."));
    }
    Ok(json)
}
