//! The portal's OpenID Connect provider for authenticated Web Messaging guests: admins create
//! guests and hand them invitation links; Genesys redeems the guests' codes as a relying party.
//!
//! Endpoints (relative to the issuer, see [`Idp::router`]): discovery (OIDC Discovery 1.0 §4),
//! JWKS (RFC 7517), authorization (code flow with PKCE S256 only, RFC 7636, RFC 9207 `iss`),
//! token (RFC 6749 §4.1.3, §6; refresh rotation per RFC 9700 §4.14.2), userinfo (OIDC Core
//! §5.3, RFC 6750), RP-initiated logout (`end-session`) and the invitation link. There is no
//! password: a guest signs in by opening a single-use invitation link, which starts a browser
//! session at the provider.

mod admin;
mod audit;
mod authorize;
mod client_auth;
mod clock;
mod config;
mod discovery;
mod end_session;
mod error;
mod form;
mod guests;
mod id_token;
mod invite;
mod keys;
mod limits;
mod oauth_error;
mod pages;
mod secret;
mod store;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use sqlx::AnyPool;

pub use audit::AuditEntry;
pub use config::{Budget, IdpConfig, RateLimits, RelyingParty, SUPPORTED_SCOPES};
pub use error::IdpError;
pub use guests::{Guest, GuestPage, Invitation, NewGuest};
pub use keys::KeyVault;
pub use secret::ClientSecret;

/// The provider. Cheap to clone (an `Arc` inside); one per process.
#[derive(Clone)]
pub struct Idp {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp")
            .field("issuer", &self.inner.config.issuer.as_str())
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: IdpConfig,
    pool: AnyPool,
    keys: keys::KeyRing,
    limits: limits::Limits,
}

impl Idp {
    /// Checks the configuration, creates the `guest_idp_` tables that are missing, and loads
    /// the signing keys from the database (generating the first on first start).
    pub async fn open(config: IdpConfig, pool: AnyPool) -> Result<Idp, IdpError> {
        config.validate()?;
        store::migrate(&pool).await?;
        store::purge_expired(&pool, clock::now_ms()).await?;
        let retain =
            (i64::try_from(config.access_token_ttl.as_millis()).unwrap_or(i64::MAX / 4)) + 60_000;
        let ahead = i64::try_from(config.key_publish_ahead.as_millis()).unwrap_or(i64::MAX / 4);
        let keys = keys::KeyRing::open(
            pool.clone(),
            &config.data_dir,
            config.key_vault.clone(),
            retain,
            ahead,
        )
        .await?;
        let limits = limits::Limits::new(&config.rate_limits);
        Ok(Idp {
            inner: Arc::new(Inner {
                config,
                pool,
                keys,
                limits,
            }),
        })
    }

    /// The provider's routes, relative to the issuer's path: nest them there, e.g.
    /// `Router::new().nest("/guest-idp", idp.router())` for `http://host/guest-idp`. Serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()` for per-address rate limits.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(discovery::configuration),
            )
            .route("/jwks", get(discovery::jwks))
            .route("/authorize", get(authorize::authorize))
            .route("/token", axum::routing::post(token::token))
            .route(
                "/userinfo",
                get(userinfo::userinfo).post(userinfo::userinfo),
            )
            .route(
                "/end-session",
                get(end_session::end_session).post(end_session::end_session_post),
            )
            .route(
                "/invite/{token}",
                get(invite::show_invitation).post(invite::open_invitation),
            )
            .with_state(self.clone())
    }

    /// The issuer identifier (equal to the ID tokens' `iss`).
    pub fn issuer(&self) -> &url::Url {
        &self.inner.config.issuer
    }

    /// The name of the provider's session cookie: `__Host-guest-session` or, for plain-HTTP
    /// loopback development, `guest-session`.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.inner.config.secure_cookie {
            "__Host-guest-session"
        } else {
            "guest-session"
        }
    }

    /// Reads the signing keys again, for what another instance on the same database rotated:
    /// call it every few seconds when there are several (see `IdpConfig::key_publish_ahead`).
    pub async fn reload_keys(&self) -> Result<(), IdpError> {
        self.inner.keys.reload().await
    }

    /// Deletes expired invitations, sessions, codes and tokens (also done on open). Call it
    /// now and then, e.g. hourly.
    pub async fn purge_expired(&self) -> Result<(), IdpError> {
        store::purge_expired(&self.inner.pool, clock::now_ms()).await
    }

    /// `{issuer}{path}`: the absolute URL of an endpoint.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.inner.config.issuer.as_str().trim_end_matches('/'),
            path
        )
    }

    pub(crate) fn config(&self) -> &IdpConfig {
        &self.inner.config
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }
}
