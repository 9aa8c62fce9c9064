//! The Genesys Cloud HTTP client: one reqwest client (redirects off, timeouts on), the grants on
//! the login host and the users and tokens endpoints on the api host, all through one retry loop.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use crate::api::{correlation_id, ApiError, ApiResponse, RateLimitInfo, UserListQuery};
use crate::environment::Environment;
use crate::oauth::{
    parse_token_response, AuthorizeRequest, ClientId, OAuthClientConfig, OAuthError, TokenSet,
};
use crate::retry::{
    parse_retry_after, Classify, GaveUp, Idempotency, RateGate, RetryClass, RetryPolicy,
};
use crate::secret::{AccessToken, AuthorizationCode, ClientSecret, PkceVerifier, RefreshToken};
use crate::wire::{TokenInfo, User, UserEntityListing, UserSearchRequest, UsersSearchResponse};

/// The largest API answer read (a 500-user page with every expansion is well below it).
const MAX_API_BODY: usize = 16 * 1024 * 1024;
/// The largest page `POST /api/v2/users/search` serves.
pub const MAX_SEARCH_PAGE_SIZE: u32 = 100;
/// The largest token endpoint answer read.
const MAX_TOKEN_BODY: usize = 64 * 1024;

/// How the client talks HTTP.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Time allowed to open a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time allowed for one request, from sending to the end of the body.
    pub request_timeout: Duration,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The retry policy of every call.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    /// Connect 5 s, request 15 s, `genesys-portal/<version>`, the default retry policy.
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            user_agent: concat!("genesys-portal/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
        }
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// The user agent is not a valid header value.
    #[error("invalid user agent")]
    InvalidUserAgent,
    /// reqwest could not build its client (TLS backend).
    #[error("could not build the HTTP client: {0}")]
    Http(String),
}

/// The Genesys Cloud client. Build it once and clone it freely: clones share one connection
/// pool. It holds no token: every call takes the token to use.
#[derive(Clone, Debug)]
pub struct GenesysClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    env: Environment,
    options: ClientOptions,
}

/// A complete answer, read within the size cap.
#[derive(Debug)]
struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// How one attempt failed, as the retry loop sees it.
#[derive(Debug)]
enum AttemptError {
    /// The connection could not be opened: nothing was sent.
    NotSent(String),
    /// The connection broke after the request may have been sent.
    Transport(String),
    /// The request timeout elapsed.
    Timeout,
    /// The body exceeded its cap.
    TooLarge(usize),
    /// A non-2xx answer.
    Status(RawResponse),
}

impl Classify for AttemptError {
    fn retry_class(&self) -> RetryClass {
        match self {
            AttemptError::NotSent(_) => RetryClass::NotSent,
            AttemptError::Transport(_) => RetryClass::Transient,
            // A slow upstream stays slow: retrying would multiply the wait past any page's
            // budget, so a timeout is reported at once.
            AttemptError::Timeout | AttemptError::TooLarge(_) => RetryClass::Permanent,
            AttemptError::Status(raw) => match raw.status.as_u16() {
                429 => RetryClass::RateLimited(
                    raw.headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now())),
                ),
                500 | 502 | 503 | 504 => RetryClass::Transient,
                _ => RetryClass::Permanent,
            },
        }
    }
}

impl AttemptError {
    fn from_reqwest(error: reqwest::Error) -> Self {
        if error.is_connect() {
            AttemptError::NotSent(describe(&error))
        } else if error.is_timeout() {
            AttemptError::Timeout
        } else {
            AttemptError::Transport(describe(&error))
        }
    }
}

/// A transport error with its causes, without the URL.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_connect() {
        "connection failed".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the answer broke off".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn oauth_error(gave_up: GaveUp<AttemptError>) -> OAuthError {
    match gave_up.error {
        AttemptError::NotSent(s) | AttemptError::Transport(s) => OAuthError::Transport(s),
        AttemptError::Timeout => OAuthError::Timeout,
        AttemptError::TooLarge(cap) => {
            OAuthError::Malformed(format!("the answer is larger than {cap} bytes"))
        }
        AttemptError::Status(raw) if raw.status == StatusCode::TOO_MANY_REQUESTS => {
            OAuthError::RateLimited {
                retry_after: gave_up.retry_after.unwrap_or(Duration::from_secs(1)),
            }
        }
        AttemptError::Status(raw) => OAuthError::from_status(raw.status.as_u16(), &raw.body),
    }
}

fn api_error(gave_up: GaveUp<AttemptError>) -> ApiError {
    match gave_up.error {
        AttemptError::NotSent(s) | AttemptError::Transport(s) => ApiError::Transport(s),
        AttemptError::Timeout => ApiError::Timeout,
        AttemptError::TooLarge(cap) => {
            ApiError::Malformed(format!("the answer is larger than {cap} bytes"))
        }
        AttemptError::Status(raw) => ApiError::from_status(
            raw.status.as_u16(),
            &raw.headers,
            &raw.body,
            gave_up.retry_after,
        ),
    }
}

/// Reads a body, refusing to hold more than `cap` bytes.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Bytes, AttemptError> {
    if response
        .content_length()
        .is_some_and(|len| len > cap as u64)
    {
        return Err(AttemptError::TooLarge(cap));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(AttemptError::from_reqwest)? {
        if body.len() + chunk.len() > cap {
            return Err(AttemptError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn basic_auth(client_id: &ClientId, secret: &ClientSecret) -> HeaderValue {
    let encoded = STANDARD.encode(format!("{}:{}", client_id.as_str(), secret.secret()));
    let mut value =
        HeaderValue::from_str(&format!("Basic {encoded}")).expect("base64 is a valid header value");
    value.set_sensitive(true);
    value
}

impl GenesysClient {
    /// Builds the client for `env`.
    pub fn new(env: Environment, options: ClientOptions) -> Result<Self, ClientBuildError> {
        HeaderValue::from_str(&options.user_agent)
            .map_err(|_| ClientBuildError::InvalidUserAgent)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|e| ClientBuildError::Http(e.to_string()))?;
        Ok(GenesysClient {
            inner: Arc::new(Inner { http, env, options }),
        })
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> &Environment {
        &self.inner.env
    }

    /// The options this client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// The authorize URL for `request` on this client's login host.
    pub fn authorize_url(&self, request: &AuthorizeRequest) -> Url {
        request.url(&self.inner.env)
    }

    // -----------------------------------------------------------------------------------------
    // Plumbing

    /// Sends the request `build` makes (a fresh one per attempt) through the retry loop, and
    /// reads the whole answer.
    async fn send(
        &self,
        idempotency: Idempotency,
        gate: Option<&RateGate>,
        body_cap: usize,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<RawResponse, GaveUp<AttemptError>> {
        self.inner
            .options
            .retry
            .run(idempotency, gate, |_attempt| {
                let request = build();
                async move {
                    let response = request.send().await.map_err(AttemptError::from_reqwest)?;
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body = read_capped(response, body_cap).await?;
                    let raw = RawResponse {
                        status,
                        headers,
                        body,
                    };
                    if status.is_success() {
                        Ok(raw)
                    } else {
                        Err(AttemptError::Status(raw))
                    }
                }
            })
            .await
    }

    /// The one place a bearer token is attached: only to URLs whose scheme, host and port are
    /// the configured api base's.
    fn authorized(
        &self,
        method: Method,
        url: &Url,
        token: &AccessToken,
    ) -> Result<RequestBuilder, ApiError> {
        self.check_api_origin(url)?;
        let mut bearer =
            HeaderValue::from_str(&format!("Bearer {}", token.secret())).map_err(|_| {
                ApiError::InvalidRequest(
                    "the access token has characters a header cannot carry".into(),
                )
            })?;
        bearer.set_sensitive(true);
        Ok(self
            .inner
            .http
            .request(method, url.clone())
            .header(AUTHORIZATION, bearer)
            .header(ACCEPT, "application/json"))
    }

    /// Whether `url` has the api base's scheme, host and port.
    fn check_api_origin(&self, url: &Url) -> Result<(), ApiError> {
        if url.origin() == self.inner.env.api_base().origin() {
            Ok(())
        } else {
            let shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?"));
            Err(ApiError::ForeignHost(shown))
        }
    }

    /// One API call: the bearer check, the retry loop, and the decoding of the answer.
    async fn api_call<T: DeserializeOwned>(
        &self,
        token: &AccessToken,
        method: Method,
        url: Url,
        json_body: Option<Vec<u8>>,
        idempotency: Idempotency,
        gate: Option<&RateGate>,
    ) -> Result<ApiResponse<T>, ApiError> {
        // Checked once up front so a foreign URL fails without entering the loop.
        self.check_api_origin(&url)?;
        let raw = self
            .send(idempotency, gate, MAX_API_BODY, || {
                let request = self
                    .authorized(method.clone(), &url, token)
                    .expect("the URL was checked above");
                match &json_body {
                    Some(body) => request
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone()),
                    None => request,
                }
            })
            .await
            .map_err(api_error)?;
        let body = decode_json(&raw.body)?;
        Ok(ApiResponse {
            body,
            rate_limit: RateLimitInfo::from_headers(&raw.headers),
            correlation_id: correlation_id(&raw.headers),
        })
    }

    /// A token endpoint call: form body, optional HTTP Basic, the retry loop, strict parsing.
    async fn token_call(
        &self,
        form: &[(&str, &str)],
        basic: Option<HeaderValue>,
        idempotency: Idempotency,
    ) -> Result<TokenSet, OAuthError> {
        let url = self.inner.env.login_url("oauth/token");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        // Expiry counts from before the request left, so it errs early.
        let obtained_at = Instant::now();
        let raw = self
            .send(idempotency, None, MAX_TOKEN_BODY, || {
                let request = self
                    .inner
                    .http
                    .post(url.clone())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(ACCEPT, "application/json")
                    .body(body.clone());
                match &basic {
                    Some(value) => request.header(AUTHORIZATION, value.clone()),
                    None => request,
                }
            })
            .await
            .map_err(oauth_error)?;
        parse_token_response(&raw.body, obtained_at)
    }

    // -----------------------------------------------------------------------------------------
    // Grants

    /// Redeems an authorization code. A public client sends `client_id` and the verifier in
    /// the form; a confidential one authenticates with HTTP Basic and adds the verifier.
    ///
    /// Never retried once the request may have reached the server: the code is single-use.
    pub async fn exchange_code(
        &self,
        client: &OAuthClientConfig,
        code: AuthorizationCode,
        verifier: PkceVerifier,
    ) -> Result<TokenSet, OAuthError> {
        let redirect_uri = client.redirect_uri.as_str();
        match &client.client_secret {
            None => {
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.secret()),
                    ("code_verifier", verifier.secret()),
                    ("client_id", client.client_id.as_str()),
                    ("redirect_uri", redirect_uri),
                ];
                self.token_call(&form, None, Idempotency::SingleUse).await
            }
            Some(secret) => {
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.secret()),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", verifier.secret()),
                ];
                let basic = basic_auth(&client.client_id, secret);
                self.token_call(&form, Some(basic), Idempotency::SingleUse)
                    .await
            }
        }
    }

    /// Trades a refresh token for new tokens (HTTP Basic for a confidential client; a public
    /// client sends its `client_id` in the form). Retried only when the server certainly did
    /// not process it, since a server that rotates refresh tokens may have spent this one.
    pub async fn refresh(
        &self,
        client: &OAuthClientConfig,
        refresh_token: &RefreshToken,
    ) -> Result<TokenSet, OAuthError> {
        match &client.client_secret {
            Some(secret) => {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.secret()),
                ];
                let basic = basic_auth(&client.client_id, secret);
                self.token_call(&form, Some(basic), Idempotency::NotIdempotent)
                    .await
            }
            None => {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.secret()),
                    ("client_id", client.client_id.as_str()),
                ];
                self.token_call(&form, None, Idempotency::NotIdempotent)
                    .await
            }
        }
    }

    /// The client-credentials grant (server to server, no user). `scopes` are space-joined
    /// into `scope`, omitted when empty. Idempotent: a repeat only mints another token.
    pub async fn client_credentials(
        &self,
        client_id: &ClientId,
        secret: &ClientSecret,
        scopes: &[String],
    ) -> Result<TokenSet, OAuthError> {
        let scope = scopes.join(" ");
        let mut form = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        self.token_call(
            &form,
            Some(basic_auth(client_id, secret)),
            Idempotency::Idempotent,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Users and tokens

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

    /// `GET /api/v2/tokens/me`: what the token may do (scopes, OAuth client, org). Access
    /// tokens are opaque: this is how to inspect one.
    pub async fn token_info(
        &self,
        token: &AccessToken,
    ) -> Result<ApiResponse<TokenInfo>, ApiError> {
        let url = self.inner.env.api_url("api/v2/tokens/me");
        self.api_call(token, Method::GET, url, None, Idempotency::Idempotent, None)
            .await
    }

    /// `DELETE /api/v2/tokens/me`: revokes the calling token (idempotent: revoking twice
    /// revokes once; a 401 on a retry means it is gone).
    pub async fn revoke_token(&self, token: &AccessToken) -> Result<(), ApiError> {
        let url = self.inner.env.api_url("api/v2/tokens/me");
        self.check_api_origin(&url)?;
        self.send(Idempotency::Idempotent, None, MAX_API_BODY, || {
            self.authorized(Method::DELETE, &url, token)
                .expect("the URL was checked above")
        })
        .await
        .map_err(api_error)?;
        Ok(())
    }
}

/// Reachability, for health checks and the portal's "check the connection" button.
impl GenesysClient {
    /// One unauthenticated `GET /api/v2/tokens/me` on the api host, not retried: any HTTP
    /// answer (normally 401) proves the API reachable, and its status is returned.
    pub async fn ping(&self) -> Result<u16, ApiError> {
        let url = self.inner.env.api_url("api/v2/tokens/me");
        match self.inner.http.get(url).send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) if e.is_timeout() => Err(ApiError::Timeout),
            Err(e) => Err(ApiError::Transport(describe(&e))),
        }
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

/// Decodes a JSON body; the error names the position, not the content.
fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::Malformed(format!(
            "the body is not the expected JSON ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> GenesysClient {
        GenesysClient::new(
            Environment::custom("https://login.example.com", "https://api.example.com").unwrap(),
            ClientOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_bearer_token_only_goes_to_the_api_origin() {
        let c = client();
        let token = AccessToken::new("tok");
        let ok = Url::parse("https://api.example.com/api/v2/users/me").unwrap();
        let request = c
            .authorized(Method::GET, &ok, &token)
            .unwrap()
            .build()
            .unwrap();
        let auth = request.headers().get(AUTHORIZATION).unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth.to_str().unwrap(), "Bearer tok");
        for foreign in [
            "https://evil.example.com/api/v2/users",
            "http://api.example.com/api/v2/users",
            "https://api.example.com:8443/api/v2/users",
            "https://login.example.com/api/v2/users",
            "https://api.example.com.evil.com/",
        ] {
            let url = Url::parse(foreign).unwrap();
            assert!(
                matches!(
                    c.authorized(Method::GET, &url, &token),
                    Err(ApiError::ForeignHost(_))
                ),
                "{foreign}"
            );
        }
    }

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

    #[test]
    fn basic_auth_is_base64_of_id_and_secret() {
        let value = basic_auth(&ClientId::new("portal-web"), &ClientSecret::new("s3cret"));
        assert!(value.is_sensitive());
        assert_eq!(
            value.to_str().unwrap(),
            format!("Basic {}", STANDARD.encode("portal-web:s3cret"))
        );
    }

    #[test]
    fn user_agent_must_be_a_header_value() {
        let options = ClientOptions {
            user_agent: "bad\nagent".into(),
            ..ClientOptions::default()
        };
        assert!(matches!(
            GenesysClient::new(Environment::default(), options),
            Err(ClientBuildError::InvalidUserAgent)
        ));
    }

    #[test]
    fn attempt_errors_classify_for_the_retry_loop() {
        let status = |code: u16, retry_after: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(v) = retry_after {
                headers.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            }
            AttemptError::Status(RawResponse {
                status: StatusCode::from_u16(code).unwrap(),
                headers,
                body: Bytes::new(),
            })
        };
        assert_eq!(
            status(429, Some("7")).retry_class(),
            RetryClass::RateLimited(Some(Duration::from_secs(7)))
        );
        assert_eq!(
            status(429, None).retry_class(),
            RetryClass::RateLimited(None)
        );
        for code in [500, 502, 503, 504] {
            assert_eq!(status(code, None).retry_class(), RetryClass::Transient);
        }
        for code in [301, 302, 400, 401, 403, 404, 501] {
            assert_eq!(status(code, None).retry_class(), RetryClass::Permanent);
        }
        assert_eq!(
            AttemptError::NotSent("x".into()).retry_class(),
            RetryClass::NotSent
        );
        assert_eq!(
            AttemptError::Transport("x".into()).retry_class(),
            RetryClass::Transient
        );
        assert_eq!(AttemptError::Timeout.retry_class(), RetryClass::Permanent);
    }

    #[test]
    fn malformed_json_errors_do_not_quote_the_body() {
        let err = decode_json::<User>(br#"{"id":"secret-value","state":"weird"}"#).unwrap_err();
        assert!(!err.to_string().contains("secret-value"));
        assert!(!err.to_string().contains("weird"));
    }
}
