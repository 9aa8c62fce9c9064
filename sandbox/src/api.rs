//! The API host: bearer checks, per-token rate limits and injected faults in one guard, then
//! the users and tokens endpoints with Genesys' exact shapes and paging URIs.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use genesys::wire::{
    EntityRef, OAuthClientRef, SearchCriterion, SortOrder, StateFilter, TokenInfo, User,
    UserEntityListing, UserSearchRequest, UserState, UsersSearchResponse,
};
use rand::Rng;

use crate::org::Org;
use crate::ratelimit::RateStatus;
use crate::respond::ApiError;
use crate::store::TokenContext;
use crate::SandboxState;

const ALLOWED: HeaderName = HeaderName::from_static("inin-ratelimit-allowed");
const COUNT: HeaderName = HeaderName::from_static("inin-ratelimit-count");
const RESET: HeaderName = HeaderName::from_static("inin-ratelimit-reset");

/// The scopes that may read users.
const USERS_READ: &[&str] = &["users", "users:readonly"];
/// `/users/me` also answers to the basic-info scope.
const ME_READ: &[&str] = &["users", "users:readonly", "user-basic-info"];

const MAX_PAGE_SIZE: u32 = 500;
const MAX_SEARCH_PAGE_SIZE: u32 = 100;
const MAX_IDS: usize = 100;

fn rate_headers(response: &mut Response, rate: &RateStatus) {
    let h = response.headers_mut();
    h.insert(ALLOWED, HeaderValue::from(rate.allowed));
    h.insert(COUNT, HeaderValue::from(rate.count));
    h.insert(RESET, HeaderValue::from(rate.reset_secs));
}

fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
        .header(header::WWW_AUTHENTICATE, "Bearer realm=\"sandbox\"")
}

/// Checks the bearer token, counts the request against the token's limit and applies the
/// injected faults, in that order; the handlers find the `TokenContext` in the extensions.
pub(crate) async fn guard(State(s): State<SandboxState>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        })
        .filter(|t| !t.is_empty());
    let Some(bearer) = bearer else {
        return unauthorized(
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        )
        .into_response();
    };
    let Some(ctx) = s.store().validate(&bearer) else {
        return unauthorized("bad.credentials", "Invalid login credentials.").into_response();
    };
    let rate = s.inner.limiter.hit(&ctx.key);
    if rate.exceeded || s.inner.faults.roll_rate_limit() {
        let retry = if rate.exceeded { rate.reset_secs } else { 1 };
        let mut response = ApiError::templated(
            StatusCode::TOO_MANY_REQUESTS,
            "too.many.requests",
            "Rate limit exceeded the maximum. [{limit}] requests for [{window}] seconds",
            &[
                ("limit", rate.allowed.to_string()),
                ("window", "60".to_string()),
            ],
        )
        .header(header::RETRY_AFTER, retry.to_string())
        .into_response();
        rate_headers(&mut response, &rate);
        return response;
    }
    if s.inner.faults.roll_error() {
        let status = [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::GATEWAY_TIMEOUT,
        ][rand::thread_rng().gen_range(0..4)];
        let code = match status {
            StatusCode::INTERNAL_SERVER_ERROR => "internal.server.error",
            StatusCode::BAD_GATEWAY => "bad.gateway",
            StatusCode::SERVICE_UNAVAILABLE => "service.unavailable",
            _ => "gateway.timeout",
        };
        return ApiError::new(status, code, "The service is unavailable (sandbox fault).")
            .into_response();
    }
    req.extensions_mut().insert(ctx);
    let mut response = next.run(req).await;
    rate_headers(&mut response, &rate);
    response
}

fn require_scope(ctx: &TokenContext, accepted: &[&str]) -> Result<(), ApiError> {
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
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The last value given for `key` (a repeated parameter's last occurrence wins).
fn last_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `expand=presence,...` (repeated or comma-separated).
fn expands_presence<'a>(values: impl Iterator<Item = &'a str>) -> bool {
    values
        .flat_map(|v| v.split(','))
        .any(|e| e.trim() == "presence")
}

fn parse_number(name: &str, value: &str, min: u32, max: u32) -> Result<u32, ApiError> {
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

fn page_count(total: u64, page_size: u32) -> u32 {
    u32::try_from(total.div_ceil(u64::from(page_size))).unwrap_or(u32::MAX)
}

/// `GET /api/v2/users`.
pub(crate) async fn list_users(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    require_scope(&ctx, USERS_READ)?;
    let pairs = query_pairs(query.as_deref());
    let get = |k: &str| last_value(&pairs, k);
    let page_size = get("pageSize")
        .map(|v| parse_number("pageSize", v, 1, MAX_PAGE_SIZE))
        .transpose()?
        .unwrap_or(25);
    let page_number = get("pageNumber")
        .map(|v| parse_number("pageNumber", v, 1, u32::MAX))
        .transpose()?
        .unwrap_or(1);
    let sort_order = match get("sortOrder") {
        None => None,
        Some(v) => Some(SortOrder::parse(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid sortOrder [{}]: use ascending or descending.",
                v.chars().take(40).collect::<String>()
            ))
        })?),
    };
    let state = match get("state") {
        None => None,
        Some(v) => Some(StateFilter::parse(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid state [{}]: use active, inactive, deleted or any.",
                v.chars().take(40).collect::<String>()
            ))
        })?),
    };
    let expand: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "expand")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let with_presence = expands_presence(expand.iter().copied());
    let ids: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "id")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if ids.len() > MAX_IDS {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_IDS} ids may be requested at once."
        )));
    }

    let org = s.org();
    let filter = state.unwrap_or_default();
    let order = sort_order.unwrap_or_default();
    let by_id;
    let matching: &[u32] = if ids.is_empty() {
        org.sorted_slice(filter)
    } else {
        let mut found: Vec<u32> = ids
            .iter()
            .filter_map(|id| org.index_of_id(id))
            .filter(|&i| filter.matches(org.user(i).state))
            .collect();
        org.sort_by_name(&mut found);
        found.dedup();
        by_id = found;
        &by_id
    };
    let total = matching.len() as u64;
    let entities: Vec<User> = Org::page(matching, order, page_size as usize, page_number as usize)
        .map(|i| org.to_wire(i, with_presence))
        .collect();

    // Every link keeps the request's filters, so following nextUri pages the same listing.
    let mut extra = url::form_urlencoded::Serializer::new(String::new());
    if let Some(o) = sort_order {
        extra.append_pair("sortOrder", o.as_str());
    }
    if let Some(st) = state {
        extra.append_pair("state", st.as_str());
    }
    if !expand.is_empty() {
        extra.append_pair("expand", &expand.join(","));
    }
    if !ids.is_empty() {
        extra.append_pair("id", &ids.join(","));
    }
    let extra = extra.finish();
    let uri = |n: u32| {
        let mut u = format!("/api/v2/users?pageSize={page_size}&pageNumber={n}");
        if !extra.is_empty() {
            u.push('&');
            u.push_str(&extra);
        }
        u
    };
    let pages = page_count(total, page_size);
    let listing = UserEntityListing {
        entities,
        page_size,
        page_number,
        total,
        page_count: pages,
        first_uri: Some(uri(1)),
        self_uri: Some(uri(page_number)),
        previous_uri: (page_number > 1).then(|| uri((page_number - 1).min(pages.max(1)))),
        next_uri: (page_number < pages).then(|| uri(page_number + 1)),
        last_uri: Some(uri(pages.max(1))),
    };
    Ok(Json(listing).into_response())
}

/// `GET /api/v2/users/me`.
pub(crate) async fn users_me(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    require_scope(&ctx, ME_READ)?;
    let Some(user_id) = &ctx.user_id else {
        // Like Genesys: a client-credentials token has no user behind it.
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not.a.user",
            "This request requires a user context. Client credentials cannot be used for requests to this resource.",
        ));
    };
    let org = s.org();
    let Some(index) = org.index_of_id(user_id) else {
        return Err(unauthorized(
            "bad.credentials",
            "Invalid login credentials.",
        ));
    };
    let pairs = query_pairs(query.as_deref());
    let with_presence = expands_presence(
        pairs
            .iter()
            .filter(|(k, _)| k == "expand")
            .map(|(_, v)| v.as_str()),
    );
    Ok(Json(org.to_wire(index, with_presence)).into_response())
}

/// `GET /api/v2/users/{userId}` (`state=active` by default, which also finds inactive users;
/// `state=deleted` finds deleted ones).
pub(crate) async fn get_user(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
    Path(user_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    require_scope(&ctx, USERS_READ)?;
    let pairs = query_pairs(query.as_deref());
    let get = |k: &str| last_value(&pairs, k);
    let want_deleted = match get("state") {
        None | Some("active") => false,
        Some("deleted") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid state [{}]: use active or deleted.",
                other.chars().take(40).collect::<String>()
            )))
        }
    };
    let org = s.org();
    let found = org
        .index_of_id(&user_id)
        .filter(|&i| (org.user(i).state == UserState::Deleted) == want_deleted);
    let Some(index) = found else {
        return Err(ApiError::templated(
            StatusCode::NOT_FOUND,
            "not.found",
            "The user [{userId}] could not be found.",
            &[("userId", user_id.chars().take(64).collect())],
        ));
    };
    let with_presence = expands_presence(
        pairs
            .iter()
            .filter(|(k, _)| k == "expand")
            .map(|(_, v)| v.as_str()),
    );
    Ok(Json(org.to_wire(index, with_presence)).into_response())
}

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
    let order = request.sort_order.unwrap_or_default();
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
        let json = serde_json::to_vec(&r).unwrap_or_default();
        format!("/api/v2/users/search?q64={}", URL_SAFE.encode(json))
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

/// Reads a search body. Genesys' searches spell the order `ASC`/`DESC` (or `SCORE`, which the
/// sandbox treats as its default name order); listings spell it `ascending`/`descending`.
fn parse_search(body: &[u8]) -> Result<UserSearchRequest, ApiError> {
    let invalid = |e: serde_json::Error| {
        ApiError::bad_request(format!("The search request is not valid: {e}"))
    };
    let mut value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
    if let Some(obj) = value.as_object_mut() {
        if let Some(order) = obj
            .get("sortOrder")
            .and_then(|o| o.as_str())
            .map(str::to_string)
        {
            match SortOrder::parse(&order) {
                Some(o) => {
                    obj.insert("sortOrder".into(), serde_json::Value::from(o.as_str()));
                }
                None if order.eq_ignore_ascii_case("score") => {
                    obj.remove("sortOrder");
                }
                None => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid sortOrder [{}]: use ASC or DESC.",
                        order.chars().take(40).collect::<String>()
                    )))
                }
            }
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
    let json = URL_SAFE
        .decode(q64)
        .or_else(|_| STANDARD.decode(q64))
        .map_err(|_| ApiError::bad_request("q64 is not base64."))?;
    run_search(&s, parse_search(&json)?)
}

/// `GET /api/v2/tokens/me`.
pub(crate) async fn tokens_me(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
) -> Result<Response, ApiError> {
    let org = s.org();
    let org_ref = EntityRef {
        id: org.id.to_string(),
        name: Some(org.name.clone()),
        self_uri: Some(format!("/api/v2/organizations/{}", org.id)),
    };
    let client_name = s.client(&ctx.client_id).map(|c| c.name.clone());
    let info = TokenInfo {
        organization: org_ref.clone(),
        home_organization: Some(org_ref.clone()),
        authorized_scope: ctx.scopes.clone(),
        cloned_user: None,
        date_token_idles: Some(crate::org::iso_millis((ctx.expires_ms / 1000) as i64)),
        oauth_client: OAuthClientRef {
            self_uri: Some(format!("/api/v2/oauth/clients/{}", ctx.client_id)),
            id: ctx.client_id.clone(),
            name: client_name,
            organization: Some(EntityRef {
                id: org_ref.id.clone(),
                name: None,
                self_uri: None,
            }),
        },
    };
    Ok(Json(info).into_response())
}

/// `DELETE /api/v2/tokens/me`: revokes the calling token.
pub(crate) async fn delete_tokens_me(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
) -> Response {
    s.store().revoke_access(&ctx.key);
    StatusCode::NO_CONTENT.into_response()
}

/// Anything else: Genesys' 404 body.
pub(crate) async fn not_found(req: Request) -> Response {
    let path: String = req.uri().path().chars().take(200).collect();
    ApiError::templated(
        StatusCode::NOT_FOUND,
        "not.found",
        "No resource at {path}.",
        &[("path", path)],
    )
    .into_response()
}
