//! `POST /api/v2/users/search` and its `q64` page links: the criteria (every type of
//! Genesys' `UserSearchCriteria` but `DATE_RANGE`, which it does not list) over Genesys'
//! search fields, sorting (`sortBy`/`sortOrder` or `sort[]`) and paging.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use genesys::{
    SearchCriterion, SearchSortOrder, SortOrder, StateFilter, User, UserSearchRequest, UserState,
    UsersSearchResponse,
};

use super::{page_count, parse_number, query_pairs, require_scope, wire_options, USERS_READ};
use crate::org::Org;
use crate::respond::ApiError;
use crate::store::TokenContext;
use crate::SandboxState;

const MAX_SEARCH_PAGE_SIZE: u32 = 100;

/// One compiled criterion: what it matches, and how it combines with its siblings.
struct Matcher {
    kind: MatchKind,
    fields: Vec<SearchField>,
    /// `value` and `values[]`, lower case (for `QUERY_STRING`, the words of `value`).
    terms: Vec<String>,
    /// `RANGE` bounds, lower case.
    start: Option<String>,
    end: Option<String>,
    operator: Operator,
    /// A `group` criterion's own criteria.
    group: Vec<Matcher>,
    /// A `REGEX` criterion's patterns, anchored and case-insensitive.
    patterns: Vec<regex::Regex>,
}

#[derive(Clone, Copy, PartialEq)]
enum MatchKind {
    Exact,
    Contains,
    StartsWith,
    /// A whole word of the field: "tom" matches "Smith, Tom".
    Term,
    /// Any of several whole words.
    Terms,
    RequiredFields,
    MatchAll,
    QueryString,
    Range,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
    /// A regular expression matching a whole word of the field, or the whole field.
    Regex,
    Group,
}

#[derive(Clone, Copy, PartialEq)]
enum Operator {
    And,
    Or,
    Not,
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
    JabberId,
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
            "chat.jabberId" | "jabberId" => Self::JabberId,
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
            Self::JabberId => format!("{}@{}", u.id.simple(), crate::org::JABBER_DOMAIN),
        }
    }
}

/// The longest `REGEX` value the sandbox compiles.
const MAX_REGEX_LEN: usize = 256;

/// A `REGEX` value as Elasticsearch's `regexp` query reads one: the pattern must match the
/// whole term (anchored), case-insensitively. Compiled with a size limit (and the `regex`
/// crate runs in linear time), so a hostile pattern is a 400, never a slow search.
fn compile_regex(pattern: &str) -> Result<regex::Regex, ApiError> {
    if pattern.chars().count() > MAX_REGEX_LEN {
        return Err(ApiError::bad_request(format!(
            "A REGEX value is at most {MAX_REGEX_LEN} characters."
        )));
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .case_insensitive(true)
        .size_limit(256 * 1024)
        .dfa_size_limit(256 * 1024)
        .build()
        .map_err(|_| {
            ApiError::bad_request(format!(
                "The REGEX value [{}] is not a valid regular expression.",
                shown(pattern)
            ))
        })
}

fn shown(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The whole words of a field's value (letters and digits, any script).
fn words(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

impl Matcher {
    fn compile(c: &SearchCriterion) -> Result<Matcher, ApiError> {
        let operator = match c.operator.as_deref() {
            None | Some("AND") => Operator::And,
            Some("OR") => Operator::Or,
            Some("NOT") => Operator::Not,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "Invalid operator [{}]: use AND, OR or NOT.",
                    shown(other)
                )))
            }
        };
        if !c.group.is_empty() {
            if !c.kind.is_empty() {
                return Err(ApiError::bad_request(
                    "A criterion is either a group or has a type, not both.",
                ));
            }
            let group = c
                .group
                .iter()
                .map(Matcher::compile)
                .collect::<Result<_, _>>()?;
            return Ok(Matcher {
                kind: MatchKind::Group,
                fields: Vec::new(),
                terms: Vec::new(),
                start: None,
                end: None,
                operator,
                group,
                patterns: Vec::new(),
            });
        }
        let kind = match c.kind.as_str() {
            "EXACT" => MatchKind::Exact,
            "CONTAINS" => MatchKind::Contains,
            "STARTS_WITH" => MatchKind::StartsWith,
            "TERM" => MatchKind::Term,
            "TERMS" => MatchKind::Terms,
            "REQUIRED_FIELDS" => MatchKind::RequiredFields,
            "MATCH_ALL" => MatchKind::MatchAll,
            "QUERY_STRING" => MatchKind::QueryString,
            "RANGE" => MatchKind::Range,
            "LESS_THAN" => MatchKind::LessThan,
            "GREATER_THAN" => MatchKind::GreaterThan,
            "LESS_THAN_EQUAL_TO" => MatchKind::LessThanOrEqual,
            "GREATER_THAN_EQUAL_TO" => MatchKind::GreaterThanOrEqual,
            "REGEX" => MatchKind::Regex,
            "DATE_RANGE" => return Err(ApiError::bad_request(
                "DATE_RANGE is not a user search type: UserSearchCriteria.type has no DATE_RANGE.",
            )),
            "" => return Err(ApiError::bad_request("A search criterion needs a type.")),
            other => {
                return Err(ApiError::bad_request(format!(
                    "The search type [{}] is not supported.",
                    shown(other)
                )))
            }
        };
        let fields: Vec<SearchField> = c
            .fields
            .iter()
            .map(|f| {
                SearchField::parse(f).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "The search field [{}] is not supported.",
                        shown(f)
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let fields = match (fields.is_empty(), kind) {
            (true, MatchKind::QueryString | MatchKind::MatchAll) => {
                vec![SearchField::Name, SearchField::Email, SearchField::Username]
            }
            (true, _) => {
                return Err(ApiError::bad_request(
                    "This search criterion needs its fields.",
                ))
            }
            (false, _) => fields,
        };
        let mut terms: Vec<String> = c
            .value
            .iter()
            .chain(&c.values)
            .map(|v| v.trim().to_lowercase())
            .filter(|v| !v.is_empty())
            .collect();
        if kind == MatchKind::QueryString {
            terms = terms
                .iter()
                .flat_map(|t| t.split_whitespace().map(str::to_string))
                .collect();
        }
        let bound = |v: &Option<String>| v.as_deref().map(|v| v.trim().to_lowercase());
        let (start, end) = (bound(&c.start_value), bound(&c.end_value));
        let needs_terms = !matches!(
            kind,
            MatchKind::RequiredFields | MatchKind::MatchAll | MatchKind::Range
        );
        if needs_terms && terms.is_empty() {
            return Err(ApiError::bad_request("A search criterion needs a value."));
        }
        if kind == MatchKind::Range && start.is_none() && end.is_none() {
            return Err(ApiError::bad_request(
                "A RANGE criterion needs startValue, endValue or both.",
            ));
        }
        let patterns = if kind == MatchKind::Regex {
            terms
                .iter()
                .map(|t| compile_regex(t))
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(Matcher {
            kind,
            fields,
            terms,
            start,
            end,
            operator,
            group: Vec::new(),
            patterns,
        })
    }

    fn matches(&self, org: &Org, index: u32) -> bool {
        if self.kind == MatchKind::Group {
            return all_match(&self.group, org, index);
        }
        let values: Vec<String> = self.fields.iter().map(|f| f.value(org, index)).collect();
        let any_value = |test: &dyn Fn(&str) -> bool| values.iter().any(|v| test(v));
        let any_term = |test: &dyn Fn(&str, &str) -> bool| {
            self.terms.iter().any(|t| any_value(&|v| test(v, t)))
        };
        match self.kind {
            MatchKind::Exact => any_term(&|v, t| v == t),
            MatchKind::Contains => any_term(&|v, t| v.contains(t)),
            MatchKind::StartsWith => {
                any_term(&|v, t| v.starts_with(t) || words(v).any(|w| w.starts_with(t)))
            }
            MatchKind::Term | MatchKind::Terms => any_term(&|v, t| words(v).any(|w| w == t)),
            MatchKind::QueryString => self
                .terms
                .iter()
                .all(|t| any_value(&|v| v.contains(t.as_str()))),
            MatchKind::RequiredFields => values.iter().all(|v| !v.is_empty()),
            MatchKind::MatchAll => true,
            MatchKind::Range => any_value(&|v| {
                self.start.as_deref().is_none_or(|s| v >= s)
                    && self.end.as_deref().is_none_or(|e| v <= e)
            }),
            MatchKind::LessThan => any_term(&|v, t| v < t),
            MatchKind::LessThanOrEqual => any_term(&|v, t| v <= t),
            MatchKind::GreaterThan => any_term(&|v, t| v > t),
            MatchKind::GreaterThanOrEqual => any_term(&|v, t| v >= t),
            MatchKind::Regex => self
                .patterns
                .iter()
                .any(|p| any_value(&|v| p.is_match(v) || words(v).any(|w| p.is_match(w)))),
            MatchKind::Group => unreachable!("handled above"),
        }
    }

    fn targets_state(&self) -> bool {
        self.fields.iter().any(|f| matches!(f, SearchField::State))
            || self.group.iter().any(Matcher::targets_state)
    }
}

/// Criteria combined as Genesys combines them: every `AND` criterion matches, at least one
/// `OR` criterion matches (when there are any), and no `NOT` criterion matches.
fn all_match(criteria: &[Matcher], org: &Org, index: u32) -> bool {
    let of = |op: Operator| criteria.iter().filter(move |m| m.operator == op);
    of(Operator::And).all(|m| m.matches(org, index))
        && (of(Operator::Or).next().is_none() || of(Operator::Or).any(|m| m.matches(org, index)))
        && !of(Operator::Not).any(|m| m.matches(org, index))
}

fn run_search(
    s: &SandboxState,
    headers: &HeaderMap,
    request: UserSearchRequest,
) -> Result<Response, ApiError> {
    let page_size = parse_number(
        "pageSize",
        &request.page_size.to_string(),
        1,
        MAX_SEARCH_PAGE_SIZE,
    )?;
    let page_number = parse_number("pageNumber", &request.page_number.to_string(), 1, u32::MAX)?;
    if request.query.is_empty() {
        return Err(ApiError::bad_request(
            "A search needs at least one criterion in query (MATCH_ALL matches everyone).",
        ));
    }
    let matchers = request
        .query
        .iter()
        .map(Matcher::compile)
        .collect::<Result<Vec<_>, _>>()?;
    let opts = wire_options(s, headers, request.expand.iter().map(String::as_str))?;
    let sort_field = match request.sort_by.as_deref() {
        None | Some("name") => SearchField::Name,
        Some(other) => SearchField::parse(other).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Cannot sort by [{}].",
                other.chars().take(40).collect::<String>()
            ))
        })?,
    };
    let keys = request
        .sort
        .iter()
        .map(|k| {
            let field = SearchField::parse(&k.sort_by).ok_or_else(|| {
                ApiError::bad_request(format!("Cannot sort by [{}].", shown(&k.sort_by)))
            })?;
            Ok((field, k.sort_order == Some(SearchSortOrder::Desc)))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let org = s.org();
    // Deleted users are found only by a criterion on state.
    let include_deleted = matchers.iter().any(Matcher::targets_state);
    let mut found: Vec<u32> = org
        .sorted_slice(StateFilter::Any)
        .iter()
        .copied()
        .filter(|&i| include_deleted || org.user(i).state != UserState::Deleted)
        .filter(|&i| all_match(&matchers, org, i))
        .collect();
    let order = if keys.is_empty() {
        if !matches!(sort_field, SearchField::Name) {
            found.sort_by_cached_key(|&i| sort_field.value(org, i));
        }
        // `SCORE` (relevance): the sandbox scores every match alike, so ties keep the name order.
        match request.sort_order.unwrap_or_default() {
            SearchSortOrder::Asc | SearchSortOrder::Score => SortOrder::Ascending,
            SearchSortOrder::Desc => SortOrder::Descending,
        }
    } else {
        // `sort[]`: the first key decides, each later key breaks the ties left, and the name
        // (ascending) breaks the rest; `sortBy`/`sortOrder` are not used.
        found.sort_by_cached_key(|&i| {
            keys.iter()
                .map(|&(field, desc)| {
                    let v = field.value(org, i);
                    if desc {
                        Err(std::cmp::Reverse(v))
                    } else {
                        Ok(v)
                    }
                })
                .collect::<Vec<_>>()
        });
        SortOrder::Ascending
    };
    let total = found.len() as u64;
    let results: Vec<User> = Org::page(&found, order, page_size as usize, page_number as usize)
        .map(|i| org.to_wire(i, &opts))
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
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_scope(&ctx, USERS_READ)?;
    run_search(&s, &headers, parse_search(&body)?)
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
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    require_scope(&ctx, USERS_READ)?;
    let pairs = query_pairs(query.as_deref());
    let q64 = pairs
        .iter()
        .find(|(k, _)| k == "q64")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| ApiError::bad_request("q64 is required."))?;
    run_search(&s, &headers, parse_search(&decode_q64(q64)?)?)
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
