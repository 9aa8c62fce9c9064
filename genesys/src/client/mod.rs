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
