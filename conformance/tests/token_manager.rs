//! The token manager against the sandbox on real time, with the real client: the token is
//! checked with tokens/me and shared, scope and client refusals, an outage, rotation with
//! draining and revocation, and a 401 that rotates once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use genesys::TokenInfo;
use genesys::{
    AccessToken, ApiError, ClientId, ClientOptions, ClientSecret, Environment, GenesysClient,
    OAuthError, RetryPolicy, TokenSet,
};
use genesys::{
    AcquireError, ClientCredentialsSource, ManagerState, TokenManager, TokenManagerConfig,
    TokenSource,
};
use sandbox::{SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET};
use tokio::sync::Barrier;
use tokio::time::Instant;

/// The timings of the token manager's own tests (genesys/tests/token_manager.rs).
fn config() -> TokenManagerConfig {
    TokenManagerConfig {
        refresh_buffer: Duration::from_secs(300),
        refresh_jitter: Duration::ZERO,
        safety_margin: Duration::from_secs(60),
        retry_base_delay: Duration::from_secs(1),
        retry_max_delay: Duration::from_secs(60),
        ..TokenManagerConfig::new(["users:readonly"])
    }
}

struct Counting {
    inner: ClientCredentialsSource,
    fetches: AtomicUsize,
}

impl TokenSource for Counting {
    fn client_id(&self) -> &ClientId {
        self.inner.client_id()
    }

    fn fetch(&self) -> BoxFuture<'_, Result<TokenSet, OAuthError>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch()
    }

    fn inspect<'a>(&'a self, token: &'a AccessToken) -> BoxFuture<'a, Result<TokenInfo, ApiError>> {
        self.inner.inspect(token)
    }

    fn revoke<'a>(&'a self, token: &'a AccessToken) -> BoxFuture<'a, Result<(), ApiError>> {
        self.inner.revoke(token)
    }
}

struct SandboxSetup {
    sandbox: sandbox::RunningSandbox,
    client: GenesysClient,
    source: Arc<Counting>,
}

fn service_client(
    id: &str,
    secret: &str,
    scopes: &[&str],
    lifetime_secs: u64,
) -> sandbox::ClientConfig {
    sandbox::ClientConfig {
        id: id.into(),
        name: id.into(),
        secret: Some(secret.into()),
        grants: vec![sandbox::Grant::ClientCredentials],
        redirect_uris: Vec::new(),
        logout_redirect_uris: Vec::new(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        token_lifetime_secs: lifetime_secs,
    }
}

async fn sandbox_setup(
    id: &str,
    secret: &str,
    scopes: &[&str],
    extra: Vec<sandbox::ClientConfig>,
) -> SandboxSetup {
    let mut clients = sandbox::ClientConfig::defaults();
    clients.extend(extra);
    let sandbox = sandbox::spawn(sandbox::SandboxConfig {
        rate_limit_per_minute: 0,
        users: 10,
        clients,
        ..sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    let base = sandbox.base_url();
    let client = GenesysClient::new(
        Environment::custom(base.as_str(), base.as_str()).unwrap(),
        ClientOptions {
            retry: RetryPolicy::no_retry(),
            request_timeout: Duration::from_secs(5),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let source = Arc::new(Counting {
        inner: ClientCredentialsSource::new(
            client.clone(),
            ClientId::new(id),
            ClientSecret::new(secret),
            scopes.iter().map(|s| s.to_string()).collect(),
        ),
        fetches: AtomicUsize::new(0),
    });
    SandboxSetup {
        sandbox,
        client,
        source,
    }
}

impl SandboxSetup {
    fn start(&self, config: TokenManagerConfig) -> Arc<TokenManager> {
        TokenManager::start(Arc::clone(&self.source) as Arc<dyn TokenSource>, config).unwrap()
    }

    fn fetches(&self) -> usize {
        self.source.fetches.load(Ordering::SeqCst)
    }
}

/// Waits (in a test, polling is fine) until `check` holds, at most `limit`.
async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_token_is_validated_with_tokens_me_and_shared_by_10000_callers() {
    let setup = sandbox_setup(
        SERVICE_CLIENT_ID,
        SERVICE_CLIENT_SECRET,
        &["users:readonly"],
        vec![],
    )
    .await;
    let manager = setup.start(TokenManagerConfig {
        background_refresh: false,
        ..config()
    });
    let callers: Vec<_> = (0..10_000)
        .map(|_| {
            let manager = Arc::clone(&manager);
            tokio::spawn(async move { manager.get_token().await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for caller in callers {
        tokens.insert(caller.await.unwrap().unwrap().secret().to_owned());
    }
    assert_eq!(setup.fetches(), 1, "one token request for 10,000 callers");
    assert_eq!(tokens.len(), 1);
    let token = manager.get_token().await.unwrap();
    let info = setup.client.token_info(&token).await.unwrap().body;
    assert_eq!(info.client_id().unwrap(), SERVICE_CLIENT_ID);
    let status = manager.snapshot();
    assert_eq!(status.state, ManagerState::Healthy);
    assert!(status.expires_in_secs.unwrap() > 86_000);
    manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_token_without_the_required_scope_is_refused() {
    let basic = service_client("portal-basic", "basic-secret", &["user-basic-info"], 3600);
    // No scope requested: the sandbox grants the client's own scopes, which lack users:readonly.
    let setup = sandbox_setup("portal-basic", "basic-secret", &[], vec![basic]).await;
    let manager = setup.start(config());
    let error = manager.get_token().await.unwrap_err();
    assert_eq!(
        error,
        AcquireError::MissingScope {
            missing: vec!["users:readonly".into()],
            granted: vec!["user-basic-info".into()],
        }
    );
    assert_eq!(manager.state(), ManagerState::Failed);
    assert!(manager.current_token().is_none());
    manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_invalid_client_is_not_hammered() {
    let setup = sandbox_setup(
        SERVICE_CLIENT_ID,
        "a-rotated-secret",
        &["users:readonly"],
        vec![],
    )
    .await;
    let manager = setup.start(TokenManagerConfig {
        attention_retry: None,
        retry_base_delay: Duration::from_millis(10),
        retry_max_delay: Duration::from_millis(20),
        ..config()
    });
    assert_eq!(
        manager.get_token().await.unwrap_err().reason(),
        "invalid_client"
    );
    for _ in 0..100 {
        assert!(manager.get_token().await.is_err());
    }
    // One fetch, and no retry scheduled: it waits for someone to fix the client.
    assert_eq!(setup.fetches(), 1);
    assert_eq!(
        setup
            .sandbox
            .stats()
            .token_requests(sandbox::Grant::ClientCredentials),
        1
    );
    assert_eq!(manager.snapshot().next_refresh, None);
    assert!(manager.needs_attention());
    manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_outage_serves_the_old_token_then_recovers() {
    // Tokens live 6 s; refresh 3 s (+ up to 0.2 s) before expiry, so the degraded window
    // (refresh failed, token still good) lasts seconds, and every step waits for an event.
    let short = service_client("portal-short", "short-secret", &["users:readonly"], 6);
    let setup = sandbox_setup(
        "portal-short",
        "short-secret",
        &["users:readonly"],
        vec![short],
    )
    .await;
    let manager = setup.start(TokenManagerConfig {
        refresh_buffer: Duration::from_secs(3),
        refresh_jitter: Duration::from_millis(200),
        safety_margin: Duration::from_millis(200),
        retry_base_delay: Duration::from_millis(100),
        retry_max_delay: Duration::from_millis(300),
        ..config()
    });
    let first = manager.get_token().await.unwrap();
    setup.sandbox.faults().set_token_endpoint_down(true);
    assert!(
        eventually(Duration::from_secs(10), || setup.fetches() >= 2
            && manager.state() == ManagerState::Degraded)
        .await
    );
    // The refresh failed; the old token is served and still works upstream.
    assert_eq!(manager.get_token().await.unwrap().secret(), first.secret());
    setup.client.token_info(&first).await.unwrap();
    // Past its expiry there is no token to hand out.
    assert!(eventually(Duration::from_secs(10), || !manager.healthy()).await);
    assert!(manager.get_token().await.is_err());
    // Back up: recovery on its own.
    setup.sandbox.faults().set_token_endpoint_down(false);
    assert!(eventually(Duration::from_secs(2), || manager.healthy()).await);
    let second = manager.get_token().await.unwrap();
    assert_ne!(second.secret(), first.secret());
    setup.client.token_info(&second).await.unwrap();
    manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_rotation_with_100_guarded_requests_drains_without_a_401() {
    let setup = sandbox_setup(
        SERVICE_CLIENT_ID,
        SERVICE_CLIENT_SECRET,
        &["users:readonly"],
        vec![],
    )
    .await;
    let manager = setup.start(config());
    let first = manager.get_token().await.unwrap();
    let unauthorized = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Barrier::new(101));
    let requests: Vec<_> = (0..100u64)
        .map(|i| {
            let (manager, client, unauthorized, finished, started) = (
                Arc::clone(&manager),
                setup.client.clone(),
                Arc::clone(&unauthorized),
                Arc::clone(&finished),
                Arc::clone(&started),
            );
            tokio::spawn(async move {
                let guard = manager.acquire().await.unwrap();
                started.wait().await;
                for _ in 0..3 {
                    tokio::time::sleep(Duration::from_millis(5 * (i % 20) + 10)).await;
                    match client.token_info(guard.token()).await {
                        Ok(_) => {}
                        Err(e) if e.is_unauthorized() => {
                            unauthorized.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                finished.fetch_add(1, Ordering::SeqCst);
                drop(guard);
            })
        })
        .collect();
    started.wait().await;
    let drain = manager.rotate().await.unwrap();
    let fresh = manager.get_token().await.unwrap();
    assert_ne!(fresh.secret(), first.secret());
    setup.client.token_info(&fresh).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), drain.clone())
        .await
        .expect("drained");
    assert_eq!(finished.load(Ordering::SeqCst), 100);
    assert_eq!(
        unauthorized.load(Ordering::SeqCst),
        0,
        "no request saw a 401"
    );
    for request in requests {
        request.await.unwrap();
    }
    // Once drained, the old token is revoked upstream.
    let mut revoked = false;
    for _ in 0..100 {
        match setup.client.token_info(&first).await {
            Err(e) if e.is_unauthorized() => {
                revoked = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(revoked, "the drained token was revoked");
    assert_eq!(setup.fetches(), 2);
    manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_401_with_the_current_token_rotates_once() {
    let setup = sandbox_setup(
        SERVICE_CLIENT_ID,
        SERVICE_CLIENT_SECRET,
        &["users:readonly"],
        vec![],
    )
    .await;
    let manager = setup.start(config());
    manager.get_token().await.unwrap();
    setup.sandbox.expire_tokens();
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let (manager, client) = (Arc::clone(&manager), setup.client.clone());
            tokio::spawn(async move {
                for _ in 0..5 {
                    let guard = manager.acquire().await.unwrap();
                    match client.token_info(guard.token()).await {
                        Ok(_) => return guard.generation(),
                        Err(e) if e.is_unauthorized() => {
                            manager.report_unauthorized(&guard).await.unwrap();
                        }
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                panic!("no working token after 5 tries");
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), 2);
    }
    assert_eq!(setup.fetches(), 2, "a single rotation");
    manager.shutdown().await;
}
