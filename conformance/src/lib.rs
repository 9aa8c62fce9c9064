//! Conformance tests of the pair `genesys` (the client) and `sandbox` (the local Genesys
//! Cloud): the real client against a sandbox on a random loopback port, over real HTTP, in
//! `tests/`, and the all-pages benchmark in `benches/`. Neither crate depends on this one.
//!
//! The library is what those share: a sandbox with a client pointed at it, the sandbox's
//! OAuth clients as `genesys` configurations, and a sign-in through the sandbox's page.

use std::time::Duration;

use genesys::{
    AuthorizationCode, AuthorizeRequest, ClientId, ClientOptions, ClientSecret, CsrfState,
    Environment, GenesysClient, OAuthClientConfig, PkceChallenge, PkceVerifier, RetryPolicy,
    TokenSet,
};
use sandbox::test_support::SignInScript;
use sandbox::{
    RunningSandbox, SandboxConfig, LIMITED_CLIENT_ID, PKCE_CLIENT_ID, SERVICE_CLIENT_ID,
    SERVICE_CLIENT_SECRET, WEB_CLIENT_ID, WEB_CLIENT_SECRET,
};
use url::Url;

pub const REDIRECT_URI: &str = "http://127.0.0.1:3000/auth/callback";

/// A running sandbox and a client for it.
pub struct Harness {
    pub sandbox: RunningSandbox,
    pub genesys: GenesysClient,
}

/// Retries that are quick on real time but otherwise like the defaults.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(3),
        total_deadline: Duration::from_secs(20),
    }
}

pub fn quick_options() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        retry: quick_retry(),
        ..ClientOptions::default()
    }
}

pub fn env_for(base: &Url) -> Environment {
    Environment::custom(base.as_str(), base.as_str()).expect("the sandbox URL is loopback http")
}

pub async fn start(config: SandboxConfig, options: ClientOptions) -> Harness {
    let sandbox = sandbox::spawn(config).await.expect("the sandbox starts");
    let genesys =
        GenesysClient::new(env_for(&sandbox.base_url()), options).expect("the client builds");
    Harness { sandbox, genesys }
}

pub async fn start_default() -> Harness {
    start(SandboxConfig::default(), quick_options()).await
}

fn redirect_uri() -> Url {
    Url::parse(REDIRECT_URI).unwrap()
}

/// `portal-web`: confidential, code grant with refresh tokens.
pub fn web_client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: ClientId::new(WEB_CLIENT_ID),
        client_secret: Some(ClientSecret::new(WEB_CLIENT_SECRET)),
        redirect_uri: redirect_uri(),
    }
}

/// `portal-pkce`: public, PKCE only.
pub fn pkce_client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: ClientId::new(PKCE_CLIENT_ID),
        client_secret: None,
        redirect_uri: redirect_uri(),
    }
}

/// `portal-limited`: public, only the basic-info scope (users endpoints answer 403).
pub fn limited_client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: ClientId::new(LIMITED_CLIENT_ID),
        client_secret: None,
        redirect_uri: redirect_uri(),
    }
}

pub fn service_id() -> ClientId {
    ClientId::new(SERVICE_CLIENT_ID)
}

pub fn service_secret() -> ClientSecret {
    ClientSecret::new(SERVICE_CLIENT_SECRET)
}

/// What the browser brings back to the callback.
pub struct Callback {
    pub code: AuthorizationCode,
    pub verifier: PkceVerifier,
}

/// Signs in through the sandbox's authorize page as its first offered user, checks that the
/// callback carries our state, and returns the code with its verifier.
pub async fn sign_in(
    genesys: &GenesysClient,
    client: &OAuthClientConfig,
    scopes: &[&str],
) -> Callback {
    let state = CsrfState::generate();
    let verifier = PkceVerifier::generate();
    let request = AuthorizeRequest::for_client(client, &state, &PkceChallenge::s256(&verifier))
        .scopes(scopes.iter().copied());
    let authorize = genesys.authorize_url(&request);

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let callback = SignInScript::new(&browser)
        .run(authorize)
        .await
        .expect("the sign-in page shows and allowing redirects to the callback");
    assert!(callback.location().as_str().starts_with(REDIRECT_URI));
    assert!(state.ct_eq(&callback.state().expect("state comes back")));
    Callback {
        code: AuthorizationCode::new(callback.code().expect("a code")),
        verifier,
    }
}

/// A signed-in user's tokens (confidential client).
pub async fn user_tokens(genesys: &GenesysClient) -> TokenSet {
    let client = web_client();
    let callback = sign_in(genesys, &client, &[]).await;
    genesys
        .exchange_code(&client, callback.code, callback.verifier)
        .await
        .expect("the code exchange works")
}

/// A client-credentials token with `users:readonly`.
pub async fn service_tokens(genesys: &GenesysClient) -> TokenSet {
    genesys
        .client_credentials(
            &service_id(),
            &service_secret(),
            &["users:readonly".to_string()],
        )
        .await
        .expect("the client-credentials grant works")
}
