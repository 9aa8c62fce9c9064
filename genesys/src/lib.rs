//! The Genesys Cloud protocol for genesys-portal: regions, PKCE, OAuth grants, retry, API calls
//! and the wire types (shared with the sandbox). No Leptos in here, and no HTTP outside it.
//!
//! Every public item is here at the crate root, and only here: the modules are private.
//!
//! ```no_run
//! use genesys::{
//!     AccessToken, AllPagesOptions, AuthorizationCode, AuthorizeRequest, ClientId, ClientOptions,
//!     ClientSecret, CsrfState, Environment, GenesysClient, OAuthClientConfig, PkceChallenge,
//!     PkceVerifier, UserListQuery,
//! };
//! use futures::StreamExt;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! // Built once at start-up and shared (clones are cheap).
//! let env = Environment::from_region("https://api.mypurecloud.ie")?;
//! let genesys = GenesysClient::new(env, ClientOptions::default())?;
//! let client = OAuthClientConfig {
//!     client_id: ClientId::new("my-client-id"),
//!     client_secret: Some(ClientSecret::new("my-client-secret")),
//!     redirect_uri: "https://portal.example.com/auth/callback".parse()?,
//! };
//!
//! // Sign-in: keep state, verifier and issuer server-side, send the browser to the URL.
//! let state = CsrfState::generate();
//! let verifier = PkceVerifier::generate();
//! let request = AuthorizeRequest::for_client(&client, &state, &PkceChallenge::s256(&verifier))
//!     .scopes(["users:readonly"]);
//! let _send_the_browser_to = genesys.authorize_url(&request);
//! let _remember_for_the_callback = genesys.environment().issuer();
//!
//! // Callback: after checking `state` in constant time, redeem the code.
//! let code = AuthorizationCode::new("code-from-the-callback");
//! let tokens = genesys.exchange_code(&client, code, verifier).await?;
//!
//! // Call the API with the access token.
//! let me = genesys.users_me(&tokens.access_token, &["presence"]).await?;
//! println!("signed in as {} (rate limit left: {:?})", me.body.name, me.rate_limit.remaining());
//!
//! // Every user, 500 a page, 4 pages at a time, in order.
//! let query = UserListQuery { page_size: 500, ..UserListQuery::default() };
//! let mut pages = Box::pin(genesys.all_users(tokens.access_token.clone(), query, AllPagesOptions::default()));
//! while let Some(page) = pages.next().await {
//!     for user in page?.entities {
//!         println!("{}", user.name);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod api;
mod client;
mod environment;
#[cfg(test)]
mod fuzz;
mod oauth;
mod pages;
mod pkce;
mod retry;
mod secret;
mod token_manager;
mod wire;

pub use api::{ApiError, ApiResponse, RateLimitInfo, UserListQuery, MAX_PAGE_SIZE};
pub use client::{
    endpoint_label, CallObserver, CallOutcome, CallRecord, ClientBuildError, ClientOptions,
    GenesysClient, Reachability, SignedData, WebDeploymentsAuthorizationResponse,
    WebDeploymentsOAuthExchangeRequest, WebDeploymentsOAuthRequestParameters,
    WebDeploymentsRefreshJwtRequest, MAX_SEARCH_PAGE_SIZE,
};
pub use environment::{Environment, EnvironmentError, Region, ALL_REGION_DOMAINS};
pub use oauth::{logout_url, AuthorizeRequest, ClientId, OAuthClientConfig, OAuthError, TokenSet};
pub use pages::{AllPagesOptions, TokenProvider};
pub use pkce::{
    PkceChallenge, VerifierLengthError, MAX_VERIFIER_LEN, MIN_VERIFIER_LEN, VERIFIER_ALPHABET,
};
pub use retry::{Idempotency, RateGate, RetryPolicy, MAX_UPSTREAM_WAIT};
pub use secret::{
    AccessToken, AuthorizationCode, ClientSecret, CsrfState, GuestJwt, PkceVerifier, RefreshToken,
};
pub use token_manager::{
    check_token_info, escape_metric_label, sign_webhook_body, verify_webhook_signature,
    AcquireError, AuditEvent, AuditKind, ClientCredentialsSource, DrainHandle, DrainingToken,
    ManagerState, MetricsCollector, StartError, TokenGuard, TokenManager, TokenManagerConfig,
    TokenManagerStatus, TokenSource, Trigger, WebhookConfig, WebhookError, WebhookSecret,
    AUDIT_TARGET, WEBHOOK_EVENT_ID_HEADER, WEBHOOK_EVENT_KIND_HEADER, WEBHOOK_SIGNATURE_HEADER,
};
pub use wire::{
    ApiErrorBody, Contact, Conversation, EntityRef, Geolocation, OAuthClientRef, Participant,
    ParticipantMessage, PresenceDefinition, RoutingStatus, SearchCriterion, SearchSort,
    SearchSortOrder, SortOrder, StateFilter, TokenErrorBody, TokenInfo, TokenResponse, User,
    UserAuthorization, UserChat, UserEntityListing, UserImage, UserPresence, UserSearchRequest,
    UserState, UserStation, UserStations, UsersSearchResponse,
};
