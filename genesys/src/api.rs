//! What Platform API calls take and return: the users listing query and search builder; the body
//! with its rate-limit headers and correlation id, or a typed error from Genesys' error body.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::wire::{ApiErrorBody, SearchCriterion, SortOrder, StateFilter, UserSearchRequest};

/// A successful API answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse<T> {
    /// The decoded body.
    pub body: T,
    /// The `inin-ratelimit-*` headers.
    pub rate_limit: RateLimitInfo,
    /// `inin-correlation-id`, for support.
    pub correlation_id: Option<String>,
}

/// The `inin-ratelimit-*` headers of an answer (each absent when not sent or not a number).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitInfo {
    /// `inin-ratelimit-allowed`: requests allowed in the current window.
    pub allowed: Option<u32>,
    /// `inin-ratelimit-count`: requests counted in the current window.
    pub count: Option<u32>,
    /// `inin-ratelimit-reset`: seconds until the window resets.
    pub reset: Option<Duration>,
}

impl RateLimitInfo {
    /// Reads the headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        RateLimitInfo {
            allowed: number("inin-ratelimit-allowed").and_then(|n| u32::try_from(n).ok()),
            count: number("inin-ratelimit-count").and_then(|n| u32::try_from(n).ok()),
            reset: number("inin-ratelimit-reset").map(Duration::from_secs),
        }
    }

    /// Requests left in the window, when both numbers are known.
    pub fn remaining(&self) -> Option<u32> {
        Some(self.allowed?.saturating_sub(self.count?))
    }
}

/// `inin-correlation-id`, if present and printable.
pub(crate) fn correlation_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("inin-correlation-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The largest page `GET /api/v2/users` serves.
pub const MAX_PAGE_SIZE: u32 = 500;

/// The query of `GET /api/v2/users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListQuery {
    /// Users per page, 1 to 500 (Genesys' default is 25).
    pub page_size: u32,
    /// The 1-based page number.
    pub page_number: u32,
    /// Sort order (by name).
    pub sort_order: SortOrder,
    /// Which users to list.
    pub state: StateFilter,
    /// Extra fields to expand (`presence`, `images`, ...).
    pub expand: Vec<String>,
    /// Only these user ids (repeated `id=` parameters).
    pub ids: Vec<String>,
}

impl Default for UserListQuery {
    /// Page 1 of 25 active users, ascending.
    fn default() -> Self {
        UserListQuery {
            page_size: 25,
            page_number: 1,
            sort_order: SortOrder::Ascending,
            state: StateFilter::Active,
            expand: Vec::new(),
            ids: Vec::new(),
        }
    }
}

impl UserListQuery {
    /// Page `page_number` (1-based) of `page_size` users in `state`, sorted by name in `sort`,
    /// each with its presence (`expand=presence`): a directory page.
    pub fn by_state(
        state: StateFilter,
        sort: SortOrder,
        page_number: u32,
        page_size: u32,
    ) -> UserListQuery {
        UserListQuery {
            page_size,
            page_number,
            sort_order: sort,
            state,
            expand: vec!["presence".into()],
            ids: Vec::new(),
        }
    }

    /// Checks the numbers before anything is sent.
    pub fn validate(&self) -> Result<(), ApiError> {
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            return Err(ApiError::InvalidRequest(format!(
                "page size must be 1 to {MAX_PAGE_SIZE}, not {}",
                self.page_size
            )));
        }
        if self.page_number < 1 {
            return Err(ApiError::InvalidRequest("page numbers start at 1".into()));
        }
        Ok(())
    }
}

impl UserSearchRequest {
    /// Page `page_number` (1-based) of `page_size` users (at most
    /// [`MAX_SEARCH_PAGE_SIZE`](crate::MAX_SEARCH_PAGE_SIZE)) whose name or e-mail
    /// matches `text`, in `state`, sorted by name in `sort`, each with its presence: a
    /// directory search.
    ///
    /// In Genesys' search syntax: a `QUERY_STRING` criterion with `text` on the fields `name`
    /// and `email` (one criterion's fields are alternatives: either may match) and, unless
    /// `state` is [`StateFilter::Any`], an `EXACT` criterion on `state` with the state's wire
    /// value (`active`, `inactive`, `deleted`). Criteria without an `operator` must all match.
    /// `text` is sent as given: Genesys refuses a criterion without a value, so do not search
    /// for an empty text (list instead).
    pub fn by_name_or_email(
        text: &str,
        state: StateFilter,
        sort: SortOrder,
        page_number: u32,
        page_size: u32,
    ) -> UserSearchRequest {
        let mut query = vec![SearchCriterion {
            kind: "QUERY_STRING".into(),
            fields: vec!["name".into(), "email".into()],
            value: Some(text.to_owned()),
            ..Default::default()
        }];
        if state != StateFilter::Any {
            query.push(SearchCriterion {
                kind: "EXACT".into(),
                fields: vec!["state".into()],
                value: Some(state.as_str().into()),
                ..Default::default()
            });
        }
        UserSearchRequest {
            page_size,
            page_number,
            sort_order: Some(sort.into()),
            sort_by: Some("name".into()),
            query,
            sort: Vec::new(),
            expand: vec!["presence".into()],
            enforce_permissions: None,
        }
    }
}

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 401: the token is expired, revoked or unknown.
    #[error("not signed in to Genesys Cloud (the token was refused)")]
    Unauthorized {
        /// Genesys' error body, when it sent one (boxed: it is large and errors travel far).
        body: Option<Box<ApiErrorBody>>,
    },
    /// 403: the token lacks a scope or the user a permission.
    #[error("Genesys Cloud forbids this: {message}")]
    Forbidden {
        /// Genesys' message.
        message: String,
        /// Genesys' contextId, for support.
        context_id: Option<String>,
        /// The scopes Genesys said were missing, when it said so.
        missing_scopes: Vec<String>,
    },
    /// 404.
    #[error("not found in Genesys Cloud")]
    NotFound {
        /// Genesys' contextId, for support.
        context_id: Option<String>,
    },
    /// 400.
    #[error("Genesys Cloud rejected the request: {message}")]
    BadRequest {
        /// Genesys' message.
        message: String,
        /// Genesys' contextId, for support.
        context_id: Option<String>,
    },
    /// Another 4xx (409, 415, ...).
    #[error("Genesys Cloud refused the request (HTTP {status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Genesys' message.
        message: String,
        /// Genesys' contextId, for support.
        context_id: Option<String>,
    },
    /// 429 that was not worth waiting for (or still there after the retries).
    #[error("Genesys Cloud is rate limiting; try again in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// How long to wait before trying again.
        retry_after: Duration,
        /// Genesys' contextId, for support.
        context_id: Option<String>,
    },
    /// 5xx (after the retries, for idempotent calls).
    #[error("Genesys Cloud failed (HTTP {status}): {message}")]
    Upstream {
        /// The HTTP status.
        status: u16,
        /// Genesys' message, or a generic one.
        message: String,
        /// Genesys' contextId, for support.
        context_id: Option<String>,
    },
    /// A 3xx answer: redirects are never followed (they could carry the token elsewhere).
    #[error("Genesys Cloud answered with a redirect (HTTP {status}), which is not followed")]
    Redirect {
        /// The HTTP status.
        status: u16,
    },
    /// No answer within the request timeout.
    #[error("Genesys Cloud did not answer in time")]
    Timeout,
    /// The connection failed.
    #[error("could not reach Genesys Cloud: {0}")]
    Transport(String),
    /// A 2xx answer whose body is not what the endpoint returns, or is too large.
    #[error("unexpected answer from Genesys Cloud: {0}")]
    Malformed(String),
    /// A link (e.g. `nextUri`) pointing outside the configured api host; not followed.
    #[error("refusing to follow a link to another host: {0}")]
    ForeignHost(String),
    /// The request was refused before sending (bad page size, bad link).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A [`TokenProvider`](crate::TokenProvider) had no token to call with (its refresh failed,
    /// or the store that holds the tokens did not answer).
    #[error("no token to call Genesys Cloud with: {0}")]
    NoToken(String),
    /// The all-pages stream stopped: the listing has more pages than allowed.
    #[error("the listing has {page_count} pages, more than the {max_pages} allowed")]
    TooManyPages {
        /// `pageCount` of the listing.
        page_count: u32,
        /// The configured cap.
        max_pages: u32,
    },
}

impl ApiError {
    /// Genesys' contextId (to show the user for support), where the answer had one.
    pub fn context_id(&self) -> Option<&str> {
        match self {
            ApiError::Unauthorized { body } => body.as_ref().and_then(|b| b.context_id.as_deref()),
            ApiError::Forbidden { context_id, .. }
            | ApiError::NotFound { context_id }
            | ApiError::BadRequest { context_id, .. }
            | ApiError::Rejected { context_id, .. }
            | ApiError::RateLimited { context_id, .. }
            | ApiError::Upstream { context_id, .. } => context_id.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status, where there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::BadRequest { .. } => Some(400),
            ApiError::RateLimited { .. } => Some(429),
            ApiError::Rejected { status, .. }
            | ApiError::Upstream { status, .. }
            | ApiError::Redirect { status } => Some(*status),
            _ => None,
        }
    }

    /// Whether the token is no good (401): refresh it or sign in again.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ApiError::Unauthorized { .. })
    }

    /// The error of a non-2xx answer. `retry_after` is what the retry loop settled on for a 429.
    pub(crate) fn from_status(
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> Self {
        let parsed = serde_json::from_slice::<ApiErrorBody>(body).ok();
        let context_id = parsed
            .as_ref()
            .and_then(|b| b.context_id.clone())
            .or_else(|| correlation_id(headers));
        let message = parsed
            .as_ref()
            .map(|b| b.message.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| default_message(status).to_owned());
        match status {
            300..=399 => ApiError::Redirect { status },
            400 => ApiError::BadRequest {
                message,
                context_id,
            },
            401 => ApiError::Unauthorized {
                body: parsed.map(Box::new),
            },
            403 => ApiError::Forbidden {
                missing_scopes: parsed.as_ref().map(missing_scopes).unwrap_or_default(),
                message,
                context_id,
            },
            404 => ApiError::NotFound { context_id },
            429 => ApiError::RateLimited {
                retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
                context_id,
            },
            _ if (400..500).contains(&status) => ApiError::Rejected {
                status,
                message,
                context_id,
            },
            _ => ApiError::Upstream {
                status,
                message,
                context_id,
            },
        }
    }
}

fn default_message(status: u16) -> &'static str {
    match status {
        400..=499 => "the request was refused",
        500..=599 => "the service failed",
        _ => "unexpected status",
    }
}

/// The scopes a 403 names, when it names them: Genesys' scope errors carry a code mentioning
/// scopes and list them as `[a, b]` in the message (or in `messageParams`).
fn missing_scopes(body: &ApiErrorBody) -> Vec<String> {
    let code_mentions_scope = body.code.as_deref().is_some_and(|c| c.contains("scope"));
    let message_mentions_scope = body.message.to_ascii_lowercase().contains("scope");
    if !code_mentions_scope && !message_mentions_scope {
        return Vec::new();
    }
    let from_params = body
        .message_params
        .iter()
        .flatten()
        .filter(|(k, _)| k.contains("scope"))
        .map(|(_, v)| v.as_str());
    for source in from_params.chain(std::iter::once(body.message.as_str())) {
        let listed = bracketed(source).unwrap_or(if source == body.message { "" } else { source });
        let scopes: Vec<String> = listed
            .split([',', ' '])
            .map(|s| s.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace()))
            .filter(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ":-_.".contains(c))
            })
            .map(str::to_owned)
            .collect();
        if !scopes.is_empty() {
            return scopes;
        }
    }
    Vec::new()
}

fn bracketed(s: &str) -> Option<&str> {
    let start = s.find('[')?;
    let end = start + s[start..].find(']')?;
    Some(&s[start + 1..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn rate_limit_headers_are_read() {
        let info = RateLimitInfo::from_headers(&headers(&[
            ("inin-ratelimit-allowed", "300"),
            ("inin-ratelimit-count", "12"),
            ("inin-ratelimit-reset", "37"),
        ]));
        assert_eq!(info.allowed, Some(300));
        assert_eq!(info.count, Some(12));
        assert_eq!(info.reset, Some(Duration::from_secs(37)));
        assert_eq!(info.remaining(), Some(288));
        let none = RateLimitInfo::from_headers(&headers(&[("inin-ratelimit-allowed", "lots")]));
        assert_eq!(none, RateLimitInfo::default());
        assert_eq!(none.remaining(), None);
    }

    #[test]
    fn page_size_is_validated() {
        for ok in [1, 25, 500] {
            assert!(UserListQuery {
                page_size: ok,
                ..Default::default()
            }
            .validate()
            .is_ok());
        }
        for bad in [0, 501, u32::MAX] {
            let err = UserListQuery {
                page_size: bad,
                ..Default::default()
            }
            .validate()
            .unwrap_err();
            assert!(matches!(err, ApiError::InvalidRequest(_)));
        }
        assert!(UserListQuery {
            page_number: 0,
            ..Default::default()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn a_listing_by_state_expands_presence() {
        let query = UserListQuery::by_state(StateFilter::Inactive, SortOrder::Descending, 3, 50);
        assert_eq!(
            query,
            UserListQuery {
                page_size: 50,
                page_number: 3,
                sort_order: SortOrder::Descending,
                state: StateFilter::Inactive,
                expand: vec!["presence".into()],
                ids: Vec::new(),
            }
        );
        assert!(query.validate().is_ok());
    }

    #[test]
    fn a_search_by_name_or_email_in_any_state_has_one_criterion() {
        let request = UserSearchRequest::by_name_or_email(
            "ana lima",
            StateFilter::Any,
            SortOrder::Ascending,
            2,
            25,
        );
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({
                "pageSize": 25,
                "pageNumber": 2,
                "sortOrder": "ASC",
                "sortBy": "name",
                "query": [{"type": "QUERY_STRING", "fields": ["name", "email"], "value": "ana lima"}],
                "expand": ["presence"],
            })
        );
    }

    #[test]
    fn a_search_in_one_state_adds_an_exact_state_criterion() {
        for (state, wire) in [
            (StateFilter::Active, "active"),
            (StateFilter::Inactive, "inactive"),
            (StateFilter::Deleted, "deleted"),
        ] {
            let request =
                UserSearchRequest::by_name_or_email("ana", state, SortOrder::Descending, 1, 100);
            assert_eq!(
                request.query,
                vec![
                    SearchCriterion {
                        kind: "QUERY_STRING".into(),
                        fields: vec!["name".into(), "email".into()],
                        value: Some("ana".into()),
                        ..Default::default()
                    },
                    SearchCriterion {
                        kind: "EXACT".into(),
                        fields: vec!["state".into()],
                        value: Some(wire.into()),
                        ..Default::default()
                    },
                ]
            );
            assert_eq!(request.sort_order, Some(crate::wire::SearchSortOrder::Desc));
            assert_eq!((request.page_number, request.page_size), (1, 100));
        }
    }

    const BODY_403: &str = r#"{"message":"Unable to perform the requested action. You must have at least one of the following scopes: [users, users:readonly]","code":"missing.any.scopes","status":403,"messageParams":{},"contextId":"ctx-403","details":[],"errors":[]}"#;

    #[test]
    fn errors_keep_message_and_context_id() {
        let h = headers(&[("inin-correlation-id", "corr-1")]);
        let e = ApiError::from_status(403, &h, BODY_403.as_bytes(), None);
        match &e {
            ApiError::Forbidden {
                message,
                missing_scopes,
                ..
            } => {
                assert!(message.starts_with("Unable to perform"));
                assert_eq!(
                    missing_scopes,
                    &vec!["users".to_string(), "users:readonly".to_string()]
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.context_id(), Some("ctx-403"));
        assert_eq!(e.status(), Some(403));

        let e = ApiError::from_status(404, &h, b"", None);
        assert_eq!(
            e,
            ApiError::NotFound {
                context_id: Some("corr-1".into())
            }
        );
        let e = ApiError::from_status(400, &h, br#"{"message":"bad page","contextId":"c4"}"#, None);
        assert_eq!(
            e,
            ApiError::BadRequest {
                message: "bad page".into(),
                context_id: Some("c4".into())
            }
        );
        let e = ApiError::from_status(
            401,
            &h,
            br#"{"message":"expired","code":"bad.credentials","status":401}"#,
            None,
        );
        assert!(e.is_unauthorized());
        assert_eq!(e.status(), Some(401));
        let e = ApiError::from_status(503, &HeaderMap::new(), b"<html>down</html>", None);
        assert_eq!(
            e,
            ApiError::Upstream {
                status: 503,
                message: "the service failed".into(),
                context_id: None
            }
        );
        let e = ApiError::from_status(429, &h, b"{}", Some(Duration::from_secs(30)));
        assert_eq!(
            e.to_string(),
            "Genesys Cloud is rate limiting; try again in 30 s"
        );
        assert_eq!(e.context_id(), Some("corr-1"));
        assert_eq!(
            ApiError::from_status(302, &h, b"", None),
            ApiError::Redirect { status: 302 }
        );
        assert_eq!(
            ApiError::from_status(409, &h, b"", None).status(),
            Some(409)
        );
    }

    #[test]
    fn missing_scopes_come_from_params_or_message_only_when_about_scopes() {
        let from_params = ApiErrorBody {
            message: "Missing scope".into(),
            code: Some("missing.scope".into()),
            message_params: Some([("scopes".to_string(), "users:readonly".to_string())].into()),
            ..Default::default()
        };
        assert_eq!(missing_scopes(&from_params), vec!["users:readonly"]);
        let permission = ApiErrorBody {
            message: "You are missing the following permission(s): [directory:user:view]".into(),
            code: Some("missing.permissions".into()),
            ..Default::default()
        };
        assert!(missing_scopes(&permission).is_empty());
    }
}
