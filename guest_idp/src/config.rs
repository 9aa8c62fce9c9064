//! The provider's settings: issuer, registered relying parties, lifetimes and rate limits,
//! checked once at startup with every bad setting named.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::error::IdpError;
use crate::secret::ClientSecret;

/// The scopes this provider knows (OIDC Core §5.4, §11).
pub const SUPPORTED_SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

/// Everything the provider needs to run.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// The issuer identifier (OIDC Discovery §3), e.g. `http://127.0.0.1:3000/guest-idp`,
    /// without a trailing slash. Every endpoint lives under it.
    pub issuer: Url,
    /// The relying parties allowed to use the provider (Genesys' Messenger integration).
    pub clients: Vec<RelyingParty>,
    /// Where signing keys lived before they moved to the database: a `guest-idp-keys/` found
    /// here is imported into an empty key table, then deleted.
    pub data_dir: PathBuf,
    /// Seals the private keys in the database (none: stored as PEM).
    pub key_vault: Option<std::sync::Arc<dyn crate::KeyVault>>,
    /// How long a rotated key is in the JWKS before it signs: at least twice the interval
    /// at which every instance on the database calls [`crate::Idp::reload_keys`], when there
    /// are several. 0 for one instance.
    pub key_publish_ahead: Duration,
    /// This instance's name (the portal's replica id), written with every audit entry.
    pub instance: Option<String>,
    /// `true`: the cookie is `__Host-guest-session` with `Secure`; `false` (plain-HTTP
    /// loopback development only): `guest-session`.
    pub secure_cookie: bool,
    /// Where an opened invitation lands (a same-origin path), e.g. `/guest`.
    pub after_sign_in_path: String,
    /// How long an invitation link can be opened.
    pub invitation_ttl: Duration,
    /// The guest's browser session at the provider (absolute lifetime).
    pub session_ttl: Duration,
    /// An authorization code's lifetime (at most 60 s).
    pub code_ttl: Duration,
    /// Access and ID token lifetime.
    pub access_token_ttl: Duration,
    /// Refresh token lifetime (renewed at each rotation).
    pub refresh_token_ttl: Duration,
    /// Request budgets per remote address and per client.
    pub rate_limits: RateLimits,
}

impl IdpConfig {
    /// The defaults: invitations 7 days, sessions 12 h, codes 60 s, access tokens 15 min,
    /// refresh tokens 30 days, `Secure` cookies unless the issuer is plain HTTP.
    pub fn new(issuer: Url, data_dir: PathBuf) -> IdpConfig {
        let secure_cookie = issuer.scheme() == "https";
        IdpConfig {
            issuer,
            clients: Vec::new(),
            data_dir,
            key_vault: None,
            key_publish_ahead: Duration::ZERO,
            instance: None,
            secure_cookie,
            after_sign_in_path: "/guest".to_owned(),
            invitation_ttl: Duration::from_secs(7 * 24 * 3600),
            session_ttl: Duration::from_secs(12 * 3600),
            code_ttl: Duration::from_secs(60),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            rate_limits: RateLimits::default(),
        }
    }

    /// Checks every setting; the error names all the bad ones at once.
    pub(crate) fn validate(&self) -> Result<(), IdpError> {
        let mut problems: Vec<(String, String)> = Vec::new();
        let mut bad = |field: &str, message: &str| problems.push((field.into(), message.into()));
        let issuer = &self.issuer;
        let loopback_http = issuer.scheme() == "http"
            && matches!(issuer.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if issuer.scheme() != "https" && !loopback_http {
            bad(
                "issuer",
                "must be https (plain http only on localhost or 127.0.0.1)",
            );
        }
        if issuer.query().is_some() || issuer.fragment().is_some() || issuer.path().ends_with('/') {
            bad(
                "issuer",
                "must have no query, no fragment and no trailing slash",
            );
        }
        if !self.secure_cookie && !loopback_http {
            bad(
                "secure_cookie",
                "may be false only for an http loopback issuer",
            );
        }
        if !self.after_sign_in_path.starts_with('/')
            || self.after_sign_in_path.starts_with("//")
            || self.after_sign_in_path.contains('\\')
        {
            bad(
                "after_sign_in_path",
                "must be a same-origin path like /guest",
            );
        }
        if self.code_ttl.is_zero() || self.code_ttl > Duration::from_secs(60) {
            bad("code_ttl", "must be between 1 ms and 60 s");
        }
        for (name, ttl) in [
            ("invitation_ttl", self.invitation_ttl),
            ("session_ttl", self.session_ttl),
            ("access_token_ttl", self.access_token_ttl),
            ("refresh_token_ttl", self.refresh_token_ttl),
        ] {
            if ttl.is_zero() {
                bad(name, "must not be zero");
            }
        }
        for (i, client) in self.clients.iter().enumerate() {
            client.check(i, &self.clients, &mut bad);
        }
        if problems.is_empty() {
            return Ok(());
        }
        let field = problems[0].0.clone();
        let message = problems
            .iter()
            .map(|(f, m)| format!("{f} {m}"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(IdpError::Invalid { field, message })
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<&RelyingParty> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }
}

/// A registered relying party (OAuth client; confidential: it has a secret).
#[derive(Debug, Clone)]
pub struct RelyingParty {
    /// The `client_id`.
    pub client_id: String,
    /// The client secret (`client_secret_basic` or `client_secret_post`).
    pub client_secret: ClientSecret,
    /// The redirect URIs, compared exactly (RFC 9700 §4.1.3); also the allowed
    /// `post_logout_redirect_uri` values.
    pub redirect_uris: Vec<String>,
    /// The scopes the client may request (a subset of [`SUPPORTED_SCOPES`], with `openid`).
    pub allowed_scopes: Vec<String>,
}

impl RelyingParty {
    fn check(&self, i: usize, all: &[RelyingParty], bad: &mut impl FnMut(&str, &str)) {
        let field = |f: &str| format!("clients[{i}].{f}");
        if self.client_id.is_empty() || self.client_id.len() > 200 || self.client_id.contains(':') {
            bad(
                &field("client_id"),
                "must be 1 to 200 characters without ':'",
            );
        }
        if all.iter().filter(|c| c.client_id == self.client_id).count() > 1 {
            bad(&field("client_id"), "is registered twice");
        }
        if self.client_secret.secret().len() < 16 {
            bad(&field("client_secret"), "must be at least 16 characters");
        }
        if self.redirect_uris.is_empty() {
            bad(&field("redirect_uris"), "must name at least one URI");
        }
        for uri in &self.redirect_uris {
            match Url::parse(uri) {
                Ok(u) if u.fragment().is_none() && matches!(u.scheme(), "https" | "http") => {}
                _ => bad(
                    &field("redirect_uris"),
                    "must be absolute http(s) URIs without fragment",
                ),
            }
        }
        if !self.allowed_scopes.iter().any(|s| s == "openid")
            || self
                .allowed_scopes
                .iter()
                .any(|s| !SUPPORTED_SCOPES.contains(&s.as_str()))
        {
            bad(
                &field("allowed_scopes"),
                "must include openid and only openid, email, profile, offline_access",
            );
        }
    }
}

/// Request budgets (GCRA, `governor`): `burst` requests at once, then one per `period`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Requests allowed at once.
    pub burst: u32,
    /// The time one request's allowance takes to come back.
    pub period: Duration,
}

/// The rate limits. The remote address is axum's `ConnectInfo<SocketAddr>` when the server
/// provides it (`into_make_service_with_connect_info`); without it every caller shares one
/// bucket. Behind a reverse proxy that address is the proxy's.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Invitation openings and authorization requests per remote address.
    pub sign_in_per_address: Budget,
    /// Authorization requests per client id.
    pub sign_in_per_client: Budget,
    /// Token requests per remote address.
    pub token_per_address: Budget,
    /// Token requests per client id (before authenticating it).
    pub token_per_client: Budget,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            sign_in_per_address: Budget {
                burst: 30,
                period: Duration::from_secs(2),
            },
            sign_in_per_client: Budget {
                burst: 200,
                period: Duration::from_millis(50),
            },
            token_per_address: Budget {
                burst: 100,
                period: Duration::from_millis(100),
            },
            token_per_client: Budget {
                burst: 200,
                period: Duration::from_millis(50),
            },
        }
    }
}
