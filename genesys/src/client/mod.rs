//! The Genesys Cloud HTTP client: one reqwest client (redirects off, timeouts on), built once
//! and shared by the grants, users and tokens calls, which all go through one retry loop.

mod grants;
mod tokens;
mod transport;
mod users;
mod webdeployments;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use url::Url;

use crate::environment::Environment;
use crate::oauth::AuthorizeRequest;
use crate::retry::RetryPolicy;

pub use tokens::Reachability;
pub use users::MAX_SEARCH_PAGE_SIZE;
pub use webdeployments::{
    SignedData, WebDeploymentsAuthorizationResponse, WebDeploymentsOAuthExchangeRequest,
    WebDeploymentsOAuthRequestParameters, WebDeploymentsRefreshJwtRequest,
};

/// Idle keep-alive connections kept per host (Genesys has two: login and api). reqwest keeps
/// every one by default: a burst of concurrent calls (an export's pages, retries under 5xx)
/// left that many connections open, each holding a read buffer grown to its largest answer,
/// about 10 MB after five minutes of the fault soak (found with heaptrack).
pub const POOL_MAX_IDLE_PER_HOST: usize = 16;
/// How long an idle connection is kept (reqwest's default is 90 s).
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// Told about every attempt (for metrics); none by default.
    pub observer: Option<Arc<dyn CallObserver>>,
}

/// Told about every HTTP attempt the client makes, retries included: what `/metrics` counts.
pub trait CallObserver: Send + Sync + std::fmt::Debug {
    /// One attempt ended.
    fn observe(&self, call: &CallRecord<'_>);
}

/// One attempt, as a [`CallObserver`] sees it. No URL, query or header: only labels of low
/// cardinality.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallRecord<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path with every id replaced by `{id}` (`/api/v2/users/{id}`, `/oauth/token`).
    pub endpoint: &'a str,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// How it ended.
    pub outcome: CallOutcome,
    /// From sending to the end of the body.
    pub elapsed: Duration,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// A 2xx answer.
    Ok,
    /// A 4xx answer other than 429.
    ClientError,
    /// 429: Genesys' rate limit.
    RateLimited,
    /// A 5xx answer.
    ServerError,
    /// No answer: the connection failed or broke, or the time ran out.
    Transport,
    /// The answer's body was over its cap.
    TooLarge,
}

impl CallOutcome {
    /// The label value (`ok`, `client_error`, `rate_limited`, `server_error`, `transport`,
    /// `too_large`).
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::ClientError => "client_error",
            CallOutcome::RateLimited => "rate_limited",
            CallOutcome::ServerError => "server_error",
            CallOutcome::Transport => "transport",
            CallOutcome::TooLarge => "too_large",
        }
    }
}

/// A path as an endpoint label: each segment that carries an id (a digit and 8 or more
/// characters, or a UUID) becomes `{id}`, so the label's values stay few.
pub fn endpoint_label(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        let id_like = segment.len() >= 8 && segment.bytes().any(|b| b.is_ascii_digit());
        if id_like || segment.len() > 40 {
            out.push_str("{id}");
        } else {
            out.push_str(segment);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

impl Default for ClientOptions {
    /// Connect 5 s, request 15 s, `genesys-portal/<version>`, the default retry policy.
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            user_agent: concat!("genesys-portal/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            observer: None,
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

impl GenesysClient {
    /// Builds the client for `env`.
    pub fn new(env: Environment, options: ClientOptions) -> Result<Self, ClientBuildError> {
        HeaderValue::from_str(&options.user_agent)
            .map_err(|_| ClientBuildError::InvalidUserAgent)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
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
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A client of example.com hosts; the tests never send anything.
    pub(crate) fn client() -> GenesysClient {
        GenesysClient::new(
            Environment::custom("https://login.example.com", "https://api.example.com").unwrap(),
            ClientOptions::default(),
        )
        .unwrap()
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
}

#[cfg(test)]
mod endpoint_label_tests {
    use super::endpoint_label;

    #[test]
    fn ids_become_a_placeholder_and_names_stay() {
        assert_eq!(
            endpoint_label("/api/v2/users/8c1b2f6e-5a8e-4f1a-9b0e-3a2d1c4b5e6f"),
            "/api/v2/users/{id}"
        );
        assert_eq!(
            endpoint_label("/api/v2/users/search"),
            "/api/v2/users/search"
        );
        assert_eq!(endpoint_label("/api/v2/users/me"), "/api/v2/users/me");
        assert_eq!(endpoint_label("/oauth/token"), "/oauth/token");
        assert_eq!(
            endpoint_label("/api/v2/webdeployments/token/oauthcodegrantjwtexchange"),
            "/api/v2/webdeployments/token/oauthcodegrantjwtexchange"
        );
        assert_eq!(
            endpoint_label("/api/v2/conversations/12345678"),
            "/api/v2/conversations/{id}"
        );
        assert_eq!(endpoint_label(""), "/");
    }
}
