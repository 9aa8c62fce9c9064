//! The plumbing under every call: one request through the retry loop with its body read within
//! a cap, the bearer token attached only for the api origin, and the error each failure becomes.

use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::GenesysClient;
use crate::api::{correlation_id, ApiError, ApiResponse, RateLimitInfo};
use crate::oauth::{parse_token_response, OAuthError, TokenSet};
use crate::retry::{parse_retry_after, Classify, GaveUp, Idempotency, RateGate, RetryClass};
use crate::secret::AccessToken;

/// The largest API answer read (a 500-user page with every expansion is well below it).
pub(super) const MAX_API_BODY: usize = 16 * 1024 * 1024;
/// The largest token endpoint answer read.
const MAX_TOKEN_BODY: usize = 64 * 1024;

/// A complete answer, read within the size cap.
#[derive(Debug)]
pub(super) struct RawResponse {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

/// How one attempt failed, as the retry loop sees it.
#[derive(Debug)]
pub(super) enum AttemptError {
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
pub(super) fn describe(error: &reqwest::Error) -> String {
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

pub(super) fn oauth_error(gave_up: GaveUp<AttemptError>) -> OAuthError {
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

pub(super) fn api_error(gave_up: GaveUp<AttemptError>) -> ApiError {
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

/// One attempt: send, read the whole answer (up to its cap), sort 2xx from the rest.
async fn attempt(
    client: reqwest::Client,
    request: reqwest::Request,
    body_cap: usize,
) -> Result<RawResponse, AttemptError> {
    let response = client
        .execute(request)
        .await
        .map_err(AttemptError::from_reqwest)?;
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

fn outcome_of(result: &Result<RawResponse, AttemptError>) -> super::CallOutcome {
    use super::CallOutcome;
    match result {
        Ok(_) => CallOutcome::Ok,
        Err(AttemptError::Status(raw)) if raw.status.as_u16() == 429 => CallOutcome::RateLimited,
        Err(AttemptError::Status(raw)) if raw.status.is_server_error() => CallOutcome::ServerError,
        Err(AttemptError::Status(_)) => CallOutcome::ClientError,
        Err(AttemptError::TooLarge(_)) => CallOutcome::TooLarge,
        Err(AttemptError::NotSent(_) | AttemptError::Transport(_) | AttemptError::Timeout) => {
            CallOutcome::Transport
        }
    }
}

impl GenesysClient {
    /// Sends the request `build` makes (a fresh one per attempt) through the retry loop, and
    /// reads the whole answer.
    pub(super) async fn send(
        &self,
        idempotency: Idempotency,
        gate: Option<&RateGate>,
        body_cap: usize,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<RawResponse, GaveUp<AttemptError>> {
        let observer = self.inner.options.observer.as_deref();
        self.inner
            .options
            .retry
            .run(idempotency, gate, |_attempt| {
                let request = build();
                async move {
                    let started = std::time::Instant::now();
                    let (client, built) = request.build_split();
                    let seen = match (&built, observer) {
                        (Ok(r), Some(_)) => Some((
                            r.method().to_string(),
                            super::endpoint_label(r.url().path()),
                        )),
                        _ => None,
                    };
                    let result = match built {
                        Ok(built) => attempt(client, built, body_cap).await,
                        Err(e) => Err(AttemptError::from_reqwest(e)),
                    };
                    if let (Some(observer), Some((method, endpoint))) = (observer, seen) {
                        observer.observe(&super::CallRecord {
                            method: &method,
                            endpoint: &endpoint,
                            status: match &result {
                                Ok(raw) | Err(AttemptError::Status(raw)) => {
                                    Some(raw.status.as_u16())
                                }
                                Err(_) => None,
                            },
                            outcome: outcome_of(&result),
                            elapsed: started.elapsed(),
                        });
                    }
                    result
                }
            })
            .await
    }

    /// The one place a bearer token is attached: only to URLs whose scheme, host and port are
    /// the configured api base's.
    pub(super) fn authorized(
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
    pub(super) fn check_api_origin(&self, url: &Url) -> Result<(), ApiError> {
        if url.origin() == self.inner.env.api_base().origin() {
            Ok(())
        } else {
            let shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?"));
            Err(ApiError::ForeignHost(shown))
        }
    }

    /// One API call: the bearer check, the retry loop, and the decoding of the answer.
    pub(super) async fn api_call<T: DeserializeOwned>(
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
    pub(super) async fn token_call(
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
    use crate::client::tests::client;
    use crate::wire::User;

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
