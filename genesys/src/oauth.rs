//! OAuth 2.0 against the Genesys Cloud login host: the authorize and logout URLs, the token set a
//! grant yields (parsed strictly, expiry on a monotonic clock) and the errors a grant can end in.

use std::fmt;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use crate::environment::Environment;
use crate::pkce::PkceChallenge;
use crate::secret::{AccessToken, ClientSecret, CsrfState, RefreshToken};
use crate::wire::TokenErrorBody;

/// Everything but the unreserved characters is percent-encoded in query values, so that a
/// space is `%20` (never `+`) and both form and URI decoders read the same value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An OAuth client id. Not a secret: it appears in authorize URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(pub String);

impl ClientId {
    /// Wraps a client id.
    pub fn new(id: impl Into<String>) -> Self {
        ClientId(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OAuth client registered in Genesys Cloud for signing users in.
#[derive(Debug, Clone)]
pub struct OAuthClientConfig {
    /// The client id.
    pub client_id: ClientId,
    /// The secret of a confidential client (code grant); `None` for a public PKCE client.
    pub client_secret: Option<ClientSecret>,
    /// The redirect URI registered for the client, sent byte for byte.
    pub redirect_uri: Url,
}

impl OAuthClientConfig {
    /// Whether this is a public client (no secret: PKCE only, no HTTP Basic).
    pub fn is_public(&self) -> bool {
        self.client_secret.is_none()
    }
}

/// The parameters of one authorization request (`GET /oauth/authorize`). A fresh state and
/// verifier belong to every login.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    client_id: ClientId,
    redirect_uri: Url,
    state: CsrfState,
    challenge: PkceChallenge,
    scopes: Vec<String>,
    org: Option<String>,
    provider: Option<String>,
}

impl AuthorizeRequest {
    /// A request for `client_id` returning to `redirect_uri`, bound to `state` and to the
    /// verifier behind `challenge`.
    pub fn new(
        client_id: ClientId,
        redirect_uri: Url,
        state: &CsrfState,
        challenge: &PkceChallenge,
    ) -> Self {
        AuthorizeRequest {
            client_id,
            redirect_uri,
            state: state.clone(),
            challenge: challenge.clone(),
            scopes: Vec::new(),
            org: None,
            provider: None,
        }
    }

    /// The request for a configured client.
    pub fn for_client(
        client: &OAuthClientConfig,
        state: &CsrfState,
        challenge: &PkceChallenge,
    ) -> Self {
        Self::new(
            client.client_id.clone(),
            client.redirect_uri.clone(),
            state,
            challenge,
        )
    }

    /// Scopes to ask for (space-joined; the parameter is omitted when there are none).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// The org name, so Genesys skips asking for it.
    pub fn org(mut self, org: impl Into<String>) -> Self {
        self.org = Some(org.into());
        self
    }

    /// An identity provider to sign in with (e.g. `okta`), for orgs using SSO.
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// The full authorize URL on `env`'s login host.
    pub fn url(&self, env: &Environment) -> Url {
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
        ];
        let scope = self.scopes.join(" ");
        if !scope.is_empty() {
            params.push(("scope", &scope));
        }
        params.push(("state", self.state.secret()));
        params.push(("code_challenge", self.challenge.as_str()));
        params.push(("code_challenge_method", self.challenge.method()));
        if let Some(org) = &self.org {
            params.push(("org", org));
        }
        if let Some(provider) = &self.provider {
            params.push(("provider", provider));
        }
        with_query(env.login_url("oauth/authorize"), &params)
    }
}

/// The Genesys sign-out URL: `GET https://login.{domain}/logout?client_id=..&redirect_uri=..`
/// ends the Genesys session and returns the browser to `redirect_uri`.
pub fn logout_url(env: &Environment, client_id: &ClientId, redirect_uri: &Url) -> Url {
    with_query(
        env.login_url("logout"),
        &[
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
        ],
    )
}

fn with_query(mut url: Url, params: &[(&str, &str)]) -> Url {
    let query = params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect::<Vec<_>>()
        .join("&");
    url.set_query(Some(&query));
    url
}

/// The tokens a grant yielded. Expiry is measured on the monotonic clock from just before the
/// request was sent, so it errs on the early side.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The bearer token for the api host.
    pub access_token: AccessToken,
    /// A refresh token (certain only for the confidential code grant).
    pub refresh_token: Option<RefreshToken>,
    /// The lifetime the server gave (`expires_in`).
    pub expires_in: Duration,
    /// When the token request was sent.
    pub obtained_at: Instant,
}

impl TokenSet {
    /// When the access token expires.
    pub fn expires_at(&self) -> Instant {
        self.obtained_at + self.expires_in
    }

    /// Whether the access token expires within `margin` from now (or already has).
    pub fn expires_within(&self, margin: Duration) -> bool {
        Instant::now() + margin >= self.expires_at()
    }
}

/// The longest `expires_in` accepted: a year. Genesys allows 300 s to 48 h per client.
const MAX_EXPIRES_IN: u64 = 365 * 24 * 3600;

/// Parses a token endpoint's 2xx body strictly. The reasons never quote the body: it may hold
/// a token.
pub(crate) fn parse_token_response(
    body: &[u8],
    obtained_at: Instant,
) -> Result<TokenSet, OAuthError> {
    let malformed = |reason: &str| OAuthError::Malformed(reason.to_owned());
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| malformed("the token response is not JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| malformed("the token response is not a JSON object"))?;
    let access_token = match object.get("access_token") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => AccessToken::new(s.as_str()),
        Some(_) => return Err(malformed("access_token is not a non-empty string")),
        None => return Err(malformed("access_token is missing")),
    };
    match object.get("token_type") {
        Some(serde_json::Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
        Some(_) => return Err(malformed("token_type is not bearer")),
        None => return Err(malformed("token_type is missing")),
    }
    let expires_in = match object.get("expires_in") {
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(secs) if (1..=MAX_EXPIRES_IN).contains(&secs) => Duration::from_secs(secs),
            _ => {
                return Err(malformed(
                    "expires_in is not a whole number of seconds between 1 and a year",
                ))
            }
        },
        Some(_) => return Err(malformed("expires_in is not a number")),
        None => return Err(malformed("expires_in is missing")),
    };
    let refresh_token = match object.get("refresh_token") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.is_empty() => None,
        Some(serde_json::Value::String(s)) => Some(RefreshToken::new(s.as_str())),
        Some(_) => return Err(malformed("refresh_token is not a string")),
    };
    Ok(TokenSet {
        access_token,
        refresh_token,
        expires_in,
        obtained_at,
    })
}

/// Why a grant failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// The token endpoint refused (RFC 6749 §5.2), e.g. `invalid_grant` for a used or expired
    /// code or a revoked refresh token, `invalid_client` for a wrong secret.
    #[error("the token endpoint refused ({status} {error}){}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Token {
        /// The HTTP status (400 or 401).
        status: u16,
        /// The RFC 6749 error code.
        error: String,
        /// Genesys' `description` or the standard `error_description`.
        description: Option<String>,
    },
    /// 429 from the token endpoint.
    #[error("the token endpoint is rate limiting; try again in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// How long to wait before trying again.
        retry_after: Duration,
    },
    /// A 2xx answer that is not a valid token response (the reason never quotes the body).
    #[error("malformed token response: {0}")]
    Malformed(String),
    /// No answer within the request timeout.
    #[error("the token endpoint did not answer in time")]
    Timeout,
    /// The connection failed.
    #[error("could not reach the token endpoint: {0}")]
    Transport(String),
    /// Any other answer (5xx, a redirect, a 4xx without an OAuth error body).
    #[error("the token endpoint answered HTTP {status}")]
    Upstream {
        /// The HTTP status.
        status: u16,
    },
}

impl OAuthError {
    /// `invalid_grant`: the code, or the refresh token, is no good any more (a session holding
    /// it should end).
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, OAuthError::Token { error, .. } if error == "invalid_grant")
    }

    /// `invalid_client`: the client id or secret is wrong (a configuration problem).
    pub fn is_invalid_client(&self) -> bool {
        matches!(self, OAuthError::Token { error, .. } if error == "invalid_client")
    }

    /// The HTTP status, where there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            OAuthError::Token { status, .. } | OAuthError::Upstream { status } => Some(*status),
            OAuthError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The error of a non-2xx token endpoint answer other than 429.
    pub(crate) fn from_status(status: u16, body: &[u8]) -> OAuthError {
        if (400..500).contains(&status) {
            if let Ok(parsed) = serde_json::from_slice::<TokenErrorBody>(body) {
                if !parsed.error.is_empty() {
                    return OAuthError::Token {
                        status,
                        description: parsed.best_description().map(str::to_owned),
                        error: parsed.error,
                    };
                }
            }
        }
        OAuthError::Upstream { status }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::PkceVerifier;

    fn env() -> Environment {
        Environment::from_region("mypurecloud.ie").unwrap()
    }

    fn query(url: &Url) -> Vec<(String, String)> {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn authorize_url_has_every_parameter() {
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let challenge = PkceChallenge::s256(&verifier);
        let state = CsrfState::new("st+at/e=&x");
        let redirect = Url::parse("https://portal.example.com/auth/callback?x=1&y=a b").unwrap();
        let url = AuthorizeRequest::new(
            ClientId::new("client id&"),
            redirect.clone(),
            &state,
            &challenge,
        )
        .scopes(["users:readonly", "openid"])
        .org("my org")
        .provider("okta")
        .url(&env());
        assert_eq!(
            url.origin().ascii_serialization(),
            "https://login.mypurecloud.ie"
        );
        assert_eq!(url.path(), "/oauth/authorize");
        let q = query(&url);
        let expected: Vec<(String, String)> = [
            ("response_type", "code"),
            ("client_id", "client id&"),
            ("redirect_uri", redirect.as_str()),
            ("scope", "users:readonly openid"),
            ("state", "st+at/e=&x"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
            ("org", "my org"),
            ("provider", "okta"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(q, expected);
        let raw = url.query().unwrap();
        assert!(raw.contains("scope=users%3Areadonly%20openid"), "{raw}");
        assert!(raw.contains("state=st%2Bat%2Fe%3D%26x"), "{raw}");
        assert!(!raw.contains('+') && !raw.contains(' '), "{raw}");
    }

    #[test]
    fn authorize_url_omits_empty_scope_and_optional_parameters() {
        let state = CsrfState::generate();
        let verifier = PkceVerifier::generate();
        let client = OAuthClientConfig {
            client_id: ClientId::new("abc"),
            client_secret: None,
            redirect_uri: Url::parse("http://127.0.0.1:3000/auth/callback").unwrap(),
        };
        assert!(client.is_public());
        let url = AuthorizeRequest::for_client(&client, &state, &PkceChallenge::s256(&verifier))
            .url(&env());
        let keys: Vec<String> = query(&url).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "state",
                "code_challenge",
                "code_challenge_method"
            ]
        );
        assert!(query(&url).contains(&(
            "redirect_uri".into(),
            "http://127.0.0.1:3000/auth/callback".into()
        )));
    }

    #[test]
    fn logout_url_is_on_the_login_host() {
        let url = logout_url(
            &env(),
            &ClientId::new("abc"),
            &Url::parse("https://portal.example.com/").unwrap(),
        );
        assert_eq!(
            url.as_str(),
            "https://login.mypurecloud.ie/logout?client_id=abc&redirect_uri=https%3A%2F%2Fportal.example.com%2F"
        );
    }

    fn parse(body: &str) -> Result<TokenSet, OAuthError> {
        parse_token_response(body.as_bytes(), Instant::now())
    }

    #[test]
    fn token_responses_parse() {
        let t = parse(r#"{"access_token":"at","token_type":"Bearer","expires_in":86399,"refresh_token":"rt"}"#).unwrap();
        assert_eq!(t.access_token.secret(), "at");
        assert_eq!(t.refresh_token.unwrap().secret(), "rt");
        assert_eq!(t.expires_in, Duration::from_secs(86399));
        let t = parse(r#"{"access_token":"at","token_type":"bearer","expires_in":300,"extra":1}"#)
            .unwrap();
        assert!(t.refresh_token.is_none());
        let t = parse(
            r#"{"access_token":"at","token_type":"BEARER","expires_in":300,"refresh_token":null}"#,
        )
        .unwrap();
        assert!(t.refresh_token.is_none());
    }

    #[test]
    fn token_responses_are_strict_and_never_quote_the_body() {
        for body in [
            "",
            "not json at-secret",
            "[\"at-secret\"]",
            r#"{"token_type":"bearer","expires_in":300}"#,
            r#"{"access_token":"","token_type":"bearer","expires_in":300}"#,
            r#"{"access_token":42,"token_type":"bearer","expires_in":300}"#,
            r#"{"access_token":"at-secret","expires_in":300}"#,
            r#"{"access_token":"at-secret","token_type":"mac","expires_in":300}"#,
            r#"{"access_token":"at-secret","token_type":"bearer"}"#,
            r#"{"access_token":"at-secret","token_type":"bearer","expires_in":"300"}"#,
            r#"{"access_token":"at-secret","token_type":"bearer","expires_in":-5}"#,
            r#"{"access_token":"at-secret","token_type":"bearer","expires_in":1.5}"#,
            r#"{"access_token":"at-secret","token_type":"bearer","expires_in":0}"#,
            r#"{"access_token":"at-secret","token_type":"bearer","expires_in":99999999999}"#,
            r#"{"access_token":"at-secret","token_type":"bearer","expires_in":300,"refresh_token":7}"#,
        ] {
            match parse(body) {
                Err(OAuthError::Malformed(reason)) => {
                    assert!(!reason.contains("secret"), "{reason}");
                    assert!(!OAuthError::Malformed(reason)
                        .to_string()
                        .contains("at-secret"));
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn expiry_is_monotonic_with_a_margin() {
        let now = Instant::now();
        let body = r#"{"access_token":"a","token_type":"bearer","expires_in":300}"#;
        let t = parse_token_response(body.as_bytes(), now).unwrap();
        assert_eq!(t.expires_at(), now + Duration::from_secs(300));
        assert!(!t.expires_within(Duration::from_secs(60)));
        assert!(t.expires_within(Duration::from_secs(301)));
        let old = TokenSet {
            obtained_at: now - Duration::from_secs(290),
            ..t
        };
        assert!(old.expires_within(Duration::from_secs(60)));
    }

    #[test]
    fn token_errors_keep_the_code_and_description() {
        let e = OAuthError::from_status(
            400,
            br#"{"error":"invalid_grant","description":"code expired"}"#,
        );
        assert_eq!(
            e,
            OAuthError::Token {
                status: 400,
                error: "invalid_grant".into(),
                description: Some("code expired".into())
            }
        );
        assert!(e.is_invalid_grant() && !e.is_invalid_client());
        assert_eq!(
            e.to_string(),
            "the token endpoint refused (400 invalid_grant): code expired"
        );
        let e = OAuthError::from_status(
            401,
            br#"{"error":"invalid_client","error_description":"bad"}"#,
        );
        assert!(e.is_invalid_client());
        assert_eq!(e.status(), Some(401));
        assert_eq!(
            OAuthError::from_status(400, b"<html>"),
            OAuthError::Upstream { status: 400 }
        );
        assert_eq!(
            OAuthError::from_status(503, br#"{"error":"x"}"#),
            OAuthError::Upstream { status: 503 }
        );
        assert_eq!(
            OAuthError::RateLimited {
                retry_after: Duration::from_secs(12)
            }
            .to_string(),
            "the token endpoint is rate limiting; try again in 12 s"
        );
    }
}
