//! `/api/v2/tokens/me` on the api host: inspecting and revoking a token, and the unauthenticated
//! ping (with its timed [`Reachability`]) that shows whether the API answers at all.

use std::time::Instant;

use reqwest::Method;

use super::transport::{api_error, describe, MAX_API_BODY};
use super::GenesysClient;
use crate::api::{ApiError, ApiResponse};
use crate::retry::Idempotency;
use crate::secret::AccessToken;
use crate::wire::TokenInfo;

/// Whether the api host answered [`GenesysClient::check_reachability`], how fast, and what it
/// said, for health checks and the portal's "check the connection" button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reachability {
    /// Whether any HTTP answer came back (normally a 401: the ping carries no token).
    pub reachable: bool,
    /// Milliseconds from sending the ping to its answer or failure.
    pub millis: u64,
    /// `the API answered HTTP 401`, or why the API could not be reached.
    pub detail: String,
}

impl GenesysClient {
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

    /// [`GenesysClient::ping`], timed: reachable on any HTTP answer, with its status in the
    /// detail; unreachable with the error's text otherwise.
    pub async fn check_reachability(&self) -> Reachability {
        let started = Instant::now();
        let answer = self.ping().await;
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match answer {
            Ok(status) => Reachability {
                reachable: true,
                millis,
                detail: format!("the API answered HTTP {status}"),
            },
            Err(error) => Reachability {
                reachable: false,
                millis,
                detail: summarise(&error),
            },
        }
    }
}

/// Why the API could not be reached, in one phrase: the error chain (socket addresses, OS
/// error numbers, library internals) stays in the server's log, never on a page.
fn summarise(error: &ApiError) -> String {
    let ApiError::Transport(chain) = error else {
        return match error {
            ApiError::Timeout => "no answer in time".into(),
            _ => "the request failed".into(),
        };
    };
    tracing::debug!(error = %chain, "Genesys Cloud is unreachable");
    let chain = chain.to_ascii_lowercase();
    let phrase = if chain.contains("dns") || chain.contains("lookup") || chain.contains("resolve") {
        "the host name did not resolve"
    } else if chain.contains("refused") {
        "the connection was refused"
    } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("ssl") {
        "the TLS handshake failed"
    } else if chain.contains("reset") || chain.contains("broke off") {
        "the connection was cut"
    } else {
        "the connection failed"
    };
    phrase.into()
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::client::ClientOptions;
    use crate::environment::Environment;

    fn client_of(api_base: &str) -> GenesysClient {
        GenesysClient::new(
            Environment::custom(api_base, api_base).unwrap(),
            ClientOptions::default(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn any_answer_is_reachable_and_named_by_its_status() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            socket
                .write_all(
                    b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await
                .unwrap();
        });
        let check = client_of(&base).check_reachability().await;
        assert!(check.reachable);
        assert_eq!(check.detail, "the API answered HTTP 401");
    }

    #[tokio::test]
    async fn no_answer_is_unreachable_and_says_why() {
        // A port that was just free: nothing listens there.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let client = client_of(&format!("http://{addr}"));
        let check = client.check_reachability().await;
        assert!(!check.reachable);
        // One phrase, not the error chain (no address, no OS error number).
        assert_eq!(check.detail, "the connection was refused");
        // The full chain is still there for the log.
        let chain = client.ping().await.unwrap_err().to_string();
        assert!(chain.len() > check.detail.len() + 20, "{chain}");
    }
}
