//! `GET /api/v2/users` (paged, filtered, by ids), `/users/me` and `/users/{userId}`, with
//! Genesys' listing shape and paging URIs that keep the request's filters.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use genesys::{SortOrder, StateFilter, User, UserEntityListing, UserState};

use super::guard::unauthorized;
use super::{
    last_value, page_count, parse_number, query_pairs, require_scope, wire_options, USERS_READ,
};
use crate::org::Org;
use crate::respond::ApiError;
use crate::store::TokenContext;
use crate::SandboxState;

/// `/users/me` also answers to the basic-info scope.
const ME_READ: &[&str] = &["users", "users:readonly", "user-basic-info"];

const MAX_PAGE_SIZE: u32 = 500;
const MAX_IDS: usize = 100;
/// Users per page at most when an integration's presence is asked for.
const MAX_INTEGRATION_PRESENCE_PAGE: u32 = 100;
/// `integrationPresenceSource` values Genesys documents.
const PRESENCE_SOURCES: &[&str] = &["MicrosoftTeams", "ZoomPhone", "EightByEight", "RingCentral"];

/// Every value of a repeated or comma-separated parameter.
fn list_param<'a>(pairs: &'a [(String, String)], key: &'a str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect()
}

/// `GET /api/v2/users`.
pub(crate) async fn list_users(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
    headers: HeaderMap,
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
    let expand = list_param(&pairs, "expand");
    let mut opts = wire_options(&s, &headers, expand.iter().copied())?;
    let ids = list_param(&pairs, "id");
    let jabber_ids = list_param(&pairs, "jabberId");
    if !ids.is_empty() && !jabber_ids.is_empty() {
        return Err(ApiError::bad_request(
            "The id and jabberId parameters cannot be used together.",
        ));
    }
    if ids.len() > MAX_IDS || jabber_ids.len() > MAX_IDS {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_IDS} ids may be requested at once."
        )));
    }
    let presence_source = match get("integrationPresenceSource") {
        None => None,
        Some(v) => Some(*PRESENCE_SOURCES.iter().find(|p| **p == v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid integrationPresenceSource [{}]: use {}.",
                v.chars().take(40).collect::<String>(),
                PRESENCE_SOURCES.join(", ")
            ))
        })?),
    };
    // Only read together with expand=presence, and then at most 100 users a page.
    if presence_source.is_some() && opts.presence {
        if page_size > MAX_INTEGRATION_PRESENCE_PAGE {
            return Err(ApiError::bad_request(format!(
                "With integrationPresenceSource, pageSize may be at most {MAX_INTEGRATION_PRESENCE_PAGE}."
            )));
        }
        opts.presence_source = presence_source;
    }

    let org = s.org();
    let filter = state.unwrap_or_default();
    let order = sort_order.unwrap_or_default();
    let by_id;
    let matching: &[u32] = if ids.is_empty() && jabber_ids.is_empty() {
        org.sorted_slice(filter)
    } else {
        let mut found: Vec<u32> = ids
            .iter()
            .filter_map(|id| org.index_of_id(id))
            .chain(jabber_ids.iter().filter_map(|j| org.index_of_jabber_id(j)))
            .filter(|&i| filter.matches(org.user(i).state))
            .collect();
        org.sort_by_name(&mut found);
        found.dedup();
        by_id = found;
        &by_id
    };
    let total = matching.len() as u64;
    let entities: Vec<User> = Org::page(matching, order, page_size as usize, page_number as usize)
        .map(|i| org.to_wire(i, &opts))
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
    if !jabber_ids.is_empty() {
        extra.append_pair("jabberId", &jabber_ids.join(","));
    }
    if let Some(p) = presence_source {
        extra.append_pair("integrationPresenceSource", p);
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
    headers: HeaderMap,
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
    let opts = wire_options(&s, &headers, list_param(&pairs, "expand").into_iter())?;
    Ok(Json(org.to_wire(index, &opts)).into_response())
}

/// `GET /api/v2/users/{userId}` (`state=active` by default, which also finds inactive users;
/// `state=deleted` finds deleted ones).
pub(crate) async fn get_user(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
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
    let opts = wire_options(&s, &headers, list_param(&pairs, "expand").into_iter())?;
    Ok(Json(org.to_wire(index, &opts)).into_response())
}
