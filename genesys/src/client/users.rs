//! The users endpoints on the api host: the signed-in user, one user, a page of the listing (and
//! the next one, by its link), and a page of a search.

use reqwest::Method;
use url::Url;

use super::GenesysClient;
use crate::api::{ApiError, ApiResponse, UserListQuery};
use crate::retry::{Idempotency, RateGate};
use crate::secret::AccessToken;
use crate::wire::{User, UserEntityListing, UserSearchRequest, UsersSearchResponse};

/// The largest page `POST /api/v2/users/search` serves.
pub const MAX_SEARCH_PAGE_SIZE: u32 = 100;

impl GenesysClient {
    /// `GET /api/v2/users/me`: the signed-in user, with `expand` (e.g. `presence`).
    pub async fn users_me(
        &self,
        token: &AccessToken,
        expand: &[&str],
    ) -> Result<ApiResponse<User>, ApiError> {
        let mut url = self.inner.env.api_url("api/v2/users/me");
        push_expand(&mut url, expand.iter().copied());
        self.api_call(token, Method::GET, url, None, Idempotency::Idempotent, None)
            .await
    }

    /// `GET /api/v2/users/{userId}`.
    pub async fn get_user(
        &self,
        token: &AccessToken,
        id: &str,
        expand: &[&str],
    ) -> Result<ApiResponse<User>, ApiError> {
        if id.is_empty() {
            return Err(ApiError::InvalidRequest("empty user id".into()));
        }
        let mut url = self.inner.env.api_url("api/v2/users/");
        url.path_segments_mut()
            .expect("http URLs have path segments")
            .pop_if_empty()
            .push(id);
        push_expand(&mut url, expand.iter().copied());
        self.api_call(token, Method::GET, url, None, Idempotency::Idempotent, None)
            .await
    }

    /// `GET /api/v2/conversations/{conversationId}` (scope `conversations` or
    /// `conversations:readonly`).
    pub async fn conversation(
        &self,
        token: &AccessToken,
        id: &str,
    ) -> Result<ApiResponse<crate::wire::Conversation>, ApiError> {
        if id.is_empty() {
            return Err(ApiError::InvalidRequest("empty conversation id".into()));
        }
        let mut url = self.inner.env.api_url("api/v2/conversations/");
        url.path_segments_mut()
            .expect("http URLs have path segments")
            .pop_if_empty()
            .push(id);
        self.api_call(token, Method::GET, url, None, Idempotency::Idempotent, None)
            .await
    }

    /// The URL of `GET /api/v2/users` for `query`.
    pub fn list_users_url(&self, query: &UserListQuery) -> Url {
        let mut url = self.inner.env.api_url("api/v2/users");
        url.query_pairs_mut()
            .append_pair("pageSize", &query.page_size.to_string())
            .append_pair("pageNumber", &query.page_number.to_string())
            .append_pair("sortOrder", query.sort_order.as_str())
            .append_pair("state", query.state.as_str());
        for id in &query.ids {
            url.query_pairs_mut().append_pair("id", id);
        }
        push_expand(&mut url, query.expand.iter().map(String::as_str));
        url
    }

    /// `GET /api/v2/users`: one page of users.
    pub async fn list_users(
        &self,
        token: &AccessToken,
        query: &UserListQuery,
    ) -> Result<ApiResponse<UserEntityListing>, ApiError> {
        self.list_users_gated(token, query, None).await
    }

    pub(crate) async fn list_users_gated(
        &self,
        token: &AccessToken,
        query: &UserListQuery,
        gate: Option<&RateGate>,
    ) -> Result<ApiResponse<UserEntityListing>, ApiError> {
        query.validate()?;
        let url = self.list_users_url(query);
        self.api_call(token, Method::GET, url, None, Idempotency::Idempotent, gate)
            .await
    }

    /// Follows a listing's `nextUri` (a path on the api host). A link to any other host is
    /// refused with [`ApiError::ForeignHost`]; `Ok(None)` when there is no next page.
    pub async fn next_users_page(
        &self,
        token: &AccessToken,
        listing: &UserEntityListing,
    ) -> Result<Option<ApiResponse<UserEntityListing>>, ApiError> {
        let Some(next) = listing.next_uri.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let url = self.resolve_link(next)?;
        self.api_call(token, Method::GET, url, None, Idempotency::Idempotent, None)
            .await
            .map(Some)
    }

    /// Resolves a link from an answer: an absolute path joins onto the api host's origin,
    /// anything else must already be on it.
    pub fn resolve_link(&self, link: &str) -> Result<Url, ApiError> {
        let api = self.inner.env.api_base();
        let url = api
            .join(link)
            .map_err(|_| ApiError::InvalidRequest("the link is not a URL".into()))?;
        self.check_api_origin(&url)?;
        Ok(url)
    }

    /// `POST /api/v2/users/search`. A search is read-only, so although it is a POST it is
    /// retried like a GET (5xx and transport errors included).
    pub async fn search_users(
        &self,
        token: &AccessToken,
        request: &UserSearchRequest,
    ) -> Result<ApiResponse<UsersSearchResponse>, ApiError> {
        if !(1..=MAX_SEARCH_PAGE_SIZE).contains(&request.page_size) || request.page_number < 1 {
            return Err(ApiError::InvalidRequest(format!(
                "search page size must be 1 to {MAX_SEARCH_PAGE_SIZE} and page numbers start at 1"
            )));
        }
        let body =
            serde_json::to_vec(request).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        let url = self.inner.env.api_url("api/v2/users/search");
        self.api_call(
            token,
            Method::POST,
            url,
            Some(body),
            Idempotency::Idempotent,
            None,
        )
        .await
    }
}

/// `expand=a,b` (comma-joined, as Genesys documents it); nothing when empty.
fn push_expand<'a>(url: &mut Url, expand: impl Iterator<Item = &'a str>) {
    let joined = expand
        .filter(|e| !e.is_empty())
        .collect::<Vec<_>>()
        .join(",");
    if !joined.is_empty() {
        url.query_pairs_mut().append_pair("expand", &joined);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::client;

    #[test]
    fn links_resolve_only_onto_the_api_host() {
        let c = client();
        assert_eq!(
            c.resolve_link("/api/v2/users?pageSize=25&pageNumber=2")
                .unwrap()
                .as_str(),
            "https://api.example.com/api/v2/users?pageSize=25&pageNumber=2"
        );
        for foreign in [
            "https://evil.com/api/v2/users?pageNumber=2",
            "//evil.com/api/v2/users",
            "http://api.example.com/api/v2/users",
            "https://api.example.com@evil.com/",
        ] {
            assert!(
                matches!(c.resolve_link(foreign), Err(ApiError::ForeignHost(_))),
                "{foreign}"
            );
        }
    }

    #[test]
    fn list_users_url_carries_every_parameter() {
        let c = client();
        let query = UserListQuery {
            page_size: 100,
            page_number: 3,
            sort_order: crate::wire::SortOrder::Descending,
            state: crate::wire::StateFilter::Any,
            expand: vec!["presence".into(), "images".into()],
            ids: vec!["a b".into(), "c&d".into()],
        };
        assert_eq!(
            c.list_users_url(&query).as_str(),
            "https://api.example.com/api/v2/users?pageSize=100&pageNumber=3&sortOrder=descending&state=any&id=a+b&id=c%26d&expand=presence%2Cimages"
        );
    }
}
