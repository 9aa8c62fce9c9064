//! The token manager: on paused tokio time against an in-memory token source (single-flight,
//! refresh timing, outages, refusals, rotation and draining, audit records), and on real time
//! against a local webhook receiver. Its runs against the sandbox are in the `conformance` crate.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures::future::BoxFuture;
use genesys::{
    verify_webhook_signature, AccessToken, AcquireError, ApiError, AuditEvent, AuditKind, ClientId,
    EntityRef, ManagerState, OAuthClientRef, OAuthError, TokenInfo, TokenManager,
    TokenManagerConfig, TokenSet, TokenSource, WebhookConfig, WebhookSecret,
    WEBHOOK_EVENT_ID_HEADER, WEBHOOK_SIGNATURE_HEADER,
};
use tokio::sync::{Barrier, Notify};
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------------
// An in-memory token endpoint and tokens/me

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Down,
    InvalidClient,
    /// 429 with this `Retry-After` (as parsed: any `Duration`).
    RateLimited(Duration),
}

struct Fake {
    client_id: ClientId,
    mode: Mutex<Mode>,
    granted: Mutex<Vec<String>>,
    owner: Mutex<String>,
    lifetime: Duration,
    latency: Duration,
    fetches: AtomicUsize,
    fetch_times: Mutex<Vec<Instant>>,
    /// Tokens the fake API refuses with 401 (revoked, or killed by the test).
    dead: Mutex<HashSet<String>>,
    revoked: Mutex<Vec<String>>,
}

const TOKEN_MARK: &str = "fake-token-SECRET";

impl Fake {
    fn new(lifetime: Duration, latency: Duration) -> Arc<Fake> {
        Arc::new(Fake {
            client_id: ClientId::new("portal-service"),
            mode: Mutex::new(Mode::Up),
            granted: Mutex::new(vec!["users:readonly".into()]),
            owner: Mutex::new("portal-service".into()),
            lifetime,
            latency,
            fetches: AtomicUsize::new(0),
            fetch_times: Mutex::new(Vec::new()),
            dead: Mutex::new(HashSet::new()),
            revoked: Mutex::new(Vec::new()),
        })
    }

    fn hour() -> Arc<Fake> {
        Fake::new(Duration::from_secs(3600), Duration::from_millis(100))
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// A call to the fake API with `token`: 401 when the token is dead.
    fn call_api(&self, token: &AccessToken) -> Result<(), u16> {
        if self.dead.lock().unwrap().contains(token.secret()) {
            Err(401)
        } else {
            Ok(())
        }
    }

    fn kill(&self, token: &AccessToken) {
        self.dead.lock().unwrap().insert(token.secret().to_owned());
    }
}

fn token_info(owner: &str, scopes: &[String]) -> TokenInfo {
    TokenInfo {
        organization: Some(EntityRef {
            id: "org".into(),
            name: None,
            self_uri: None,
        }),
        home_organization: None,
        authorized_scope: scopes.to_vec(),
        cloned_user: None,
        date_token_idles: None,
        oauth_client: Some(OAuthClientRef {
            id: owner.into(),
            name: None,
            organization: None,
            self_uri: None,
            authorized_grant_type: Some("CLIENT-CREDENTIALS".into()),
            scope: Vec::new(),
            state: None,
        }),
    }
}

impl TokenSource for Fake {
    fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    fn fetch(&self) -> BoxFuture<'_, Result<TokenSet, OAuthError>> {
        Box::pin(async move {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            self.fetch_times.lock().unwrap().push(Instant::now());
            tokio::time::sleep(self.latency).await;
            let mode = *self.mode.lock().unwrap();
            match mode {
                Mode::Down => Err(OAuthError::Upstream { status: 503 }),
                Mode::RateLimited(retry_after) => Err(OAuthError::RateLimited { retry_after }),
                Mode::InvalidClient => Err(OAuthError::Token {
                    status: 401,
                    error: "invalid_client".into(),
                    description: Some("authentication failed".into()),
                }),
                Mode::Up => Ok(TokenSet {
                    access_token: AccessToken::new(format!("{TOKEN_MARK}-{n}")),
                    refresh_token: None,
                    expires_in: self.lifetime,
                    obtained_at: std::time::Instant::now(),
                }),
            }
        })
    }

    fn inspect<'a>(
        &'a self,
        _token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<TokenInfo, ApiError>> {
        Box::pin(async move {
            let owner = self.owner.lock().unwrap().clone();
            let granted = self.granted.lock().unwrap().clone();
            Ok(token_info(&owner, &granted))
        })
    }

    fn revoke<'a>(&'a self, token: &'a AccessToken) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            self.revoked.lock().unwrap().push(token.secret().to_owned());
            self.kill(token);
            Ok(())
        })
    }
}

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

fn start(fake: &Arc<Fake>, config: TokenManagerConfig) -> Arc<TokenManager> {
    TokenManager::start(Arc::clone(fake) as Arc<dyn TokenSource>, config)
        .expect("the manager starts")
}

fn events_of(manager: &TokenManager, kind: AuditKind) -> Vec<AuditEvent> {
    manager
        .snapshot()
        .recent_events
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

async fn sleep_secs(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

// ---------------------------------------------------------------------------------------------
// Single flight

#[tokio::test(start_paused = true)]
async fn ten_thousand_callers_at_expiry_make_exactly_one_token_request() {
    let fake = Fake::hour();
    let manager = start(
        &fake,
        TokenManagerConfig {
            background_refresh: false,
            ..config()
        },
    );
    let first = manager.get_token().await.unwrap();
    assert_eq!(fake.fetches(), 1);

    tokio::time::advance(Duration::from_secs(3601)).await;
    assert!(manager.current_token().is_none() && !manager.healthy());
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
    assert_eq!(fake.fetches(), 2, "one request for 10,000 callers");
    assert_eq!(tokens.len(), 1, "everyone got the same token");
    assert!(!tokens.contains(first.secret()));
    // The lock-free path serves it from now on.
    assert_eq!(
        manager.current_token().unwrap().secret(),
        tokens.iter().next().unwrap()
    );
    assert_eq!(events_of(&manager, AuditKind::Acquired).len(), 2);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn callers_at_start_share_the_background_request() {
    let fake = Fake::hour();
    let manager = start(&fake, config());
    let callers: Vec<_> = (0..10_000)
        .map(|_| {
            let manager = Arc::clone(&manager);
            tokio::spawn(async move { manager.acquire().await.map(|guard| guard.generation()) })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap(), 1);
    }
    assert_eq!(fake.fetches(), 1);
    assert_eq!(manager.snapshot().in_flight_guards, 0);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_request_gives_every_waiter_the_same_error_and_is_not_repeated_at_once() {
    let fake = Fake::hour();
    fake.set_mode(Mode::Down);
    let manager = start(
        &fake,
        TokenManagerConfig {
            background_refresh: false,
            ..config()
        },
    );
    let callers: Vec<_> = (0..10_000)
        .map(|_| {
            let manager = Arc::clone(&manager);
            tokio::spawn(async move { manager.get_token().await })
        })
        .collect();
    for caller in callers {
        assert_eq!(
            caller.await.unwrap().unwrap_err(),
            AcquireError::Token(OAuthError::Upstream { status: 503 })
        );
    }
    assert_eq!(fake.fetches(), 1);
    // Callers arriving during the backoff fail fast instead of hammering.
    for _ in 0..100 {
        assert!(manager.get_token().await.is_err());
    }
    assert_eq!(fake.fetches(), 1);
    assert_eq!(manager.state(), ManagerState::Unavailable);
    // After the backoff (at most the base delay for the first retry) a caller may try again.
    fake.set_mode(Mode::Up);
    sleep_secs(1).await;
    assert!(manager.get_token().await.is_ok());
    assert_eq!(fake.fetches(), 2);
    assert_eq!(manager.state(), ManagerState::Healthy);
    manager.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Background refresh

#[tokio::test(start_paused = true)]
async fn refreshes_before_expiry_with_jitter_inside_its_bounds() {
    let fake = Fake::new(Duration::from_secs(3600), Duration::ZERO);
    let manager = start(
        &fake,
        TokenManagerConfig {
            refresh_buffer: Duration::from_secs(300),
            refresh_jitter: Duration::from_secs(120),
            ..config()
        },
    );
    manager.get_token().await.unwrap();
    // 30 token lifetimes: the background task refreshes every time on its own.
    for _ in 0..30 {
        sleep_secs(3600).await;
        assert_eq!(manager.state(), ManagerState::Healthy);
        assert!(manager.current_token().is_some(), "never without a token");
    }
    let times = fake.fetch_times.lock().unwrap().clone();
    assert!(times.len() >= 30, "{} refreshes", times.len());
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let earliest = Duration::from_secs(3600 - 300 - 120) - Duration::from_millis(10);
    let latest = Duration::from_secs(3600 - 300);
    for gap in &gaps {
        assert!(*gap >= earliest && *gap <= latest, "refresh after {gap:?}");
    }
    let distinct: HashSet<u128> = gaps.iter().map(|g| g.as_millis()).collect();
    assert!(distinct.len() > 1, "the jitter varies the refresh time");
    // Every refresh after the first is a `refreshed` record from the schedule.
    let refreshed = events_of(&manager, AuditKind::Refreshed);
    assert!(!refreshed.is_empty());
    assert!(refreshed
        .iter()
        .all(|e| e.attempt == 1 && e.expires_in_secs.is_some()));
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn serves_the_old_token_while_the_endpoint_is_down_and_recovers_after() {
    let fake = Fake::new(Duration::from_secs(3600), Duration::ZERO);
    let manager = start(&fake, config());
    let first = manager.get_token().await.unwrap();
    sleep_secs(10).await;
    fake.set_mode(Mode::Down);

    // The refresh at 3300 s fails; the token is still served, the state says so.
    sleep_secs(3400 - 10).await;
    assert_eq!(manager.get_token().await.unwrap().secret(), first.secret());
    assert_eq!(manager.state(), ManagerState::Degraded);
    assert!(manager.healthy());
    let failures = fake.fetches() - 1;
    assert!(
        (3..=12).contains(&failures),
        "{failures} retries in 100 s: backing off, not hammering"
    );

    // Inside the safety margin, but not expired: still the old token.
    sleep_secs(170).await;
    assert_eq!(manager.get_token().await.unwrap().secret(), first.secret());

    // Truly expired: an error, not a dead token.
    sleep_secs(31).await;
    assert_eq!(
        manager.get_token().await.unwrap_err(),
        AcquireError::Token(OAuthError::Upstream { status: 503 })
    );
    assert!(!manager.healthy());
    assert_eq!(manager.state(), ManagerState::Unavailable);
    let status = manager.snapshot();
    assert_eq!(status.last_error_reason.as_deref(), Some("upstream"));
    assert!(status.error_rate > 0.5);
    assert!(status.next_refresh.is_some());

    // The endpoint comes back: the manager recovers on its own within one backoff.
    fake.set_mode(Mode::Up);
    sleep_secs(61).await;
    assert!(manager.healthy());
    assert_eq!(manager.state(), ManagerState::Healthy);
    let second = manager.get_token().await.unwrap();
    assert_ne!(second.secret(), first.secret());
    let acquired = events_of(&manager, AuditKind::Acquired);
    let recovery = acquired.last().unwrap();
    assert!(
        recovery.attempt > 1,
        "the recovery reports its attempt count"
    );
    let failed = events_of(&manager, AuditKind::RefreshFailed);
    assert!(failed
        .iter()
        .all(|e| e.reason.as_deref() == Some("upstream")));
    assert!(manager.render_prometheus().contains("reason=\"upstream\""));
    manager.shutdown().await;
}

/// A token endpoint answering 429 with `Retry-After: 86400` (or a wait no `Instant` can
/// hold) does not stop token requests for a day, nor panic: the manager asks again within
/// five minutes and recovers as soon as the endpoint does.
#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_is_capped_and_never_overflows() {
    for asked in [Duration::from_secs(86_400), Duration::MAX] {
        let fake = Fake::new(Duration::from_secs(3600), Duration::ZERO);
        fake.set_mode(Mode::RateLimited(asked));
        let manager = start(&fake, config());
        assert!(matches!(
            manager.get_token().await,
            Err(AcquireError::Token(OAuthError::RateLimited { .. }))
        ));
        let refused = fake.fetches();
        fake.set_mode(Mode::Up);
        sleep_secs(301).await;
        assert!(
            manager.healthy(),
            "{asked:?}: recovered within five minutes"
        );
        assert_eq!(
            fake.fetches(),
            refused + 1,
            "{asked:?}: one more request, not a stream"
        );
        manager.get_token().await.unwrap();
        manager.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[tokio::test(start_paused = true)]
async fn invalid_client_stops_the_retries_and_reports_it() {
    let fake = Fake::hour();
    fake.set_mode(Mode::InvalidClient);
    let manager = start(
        &fake,
        TokenManagerConfig {
            attention_retry: Some(Duration::from_secs(600)),
            ..config()
        },
    );
    let error = manager.get_token().await.unwrap_err();
    assert_eq!(error.reason(), "invalid_client");
    assert_eq!(fake.fetches(), 1);
    assert_eq!(manager.state(), ManagerState::Failed);
    assert!(manager.needs_attention() && !manager.healthy());

    // A thousand callers and ten minutes later: still that one request.
    for _ in 0..1000 {
        assert_eq!(
            manager.get_token().await.unwrap_err().reason(),
            "invalid_client"
        );
    }
    sleep_secs(599).await;
    assert_eq!(fake.fetches(), 1);
    // Then one probe, not more.
    sleep_secs(2).await;
    assert_eq!(fake.fetches(), 2);
    sleep_secs(500).await;
    assert_eq!(fake.fetches(), 2);

    let failed = events_of(&manager, AuditKind::RefreshFailed);
    assert_eq!(failed[0].reason.as_deref(), Some("invalid_client"));
    assert_eq!(failed[0].state, ManagerState::Failed);
    assert!(manager.render_prometheus().contains("state=\"failed\"} 1"));

    // Fixed (say the secret was updated): an admin's rotation retries at once.
    fake.set_mode(Mode::Up);
    manager.rotate().await.unwrap();
    assert_eq!(manager.state(), ManagerState::Healthy);
    assert!(manager.get_token().await.is_ok());
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn invalid_client_keeps_serving_a_still_valid_token() {
    let fake = Fake::hour();
    let manager = start(&fake, config());
    let first = manager.get_token().await.unwrap();
    fake.set_mode(Mode::InvalidClient);
    // Past the refresh time: the refresh is refused, the old token still works.
    sleep_secs(3400).await;
    assert_eq!(fake.fetches(), 2);
    assert_eq!(manager.state(), ManagerState::Failed);
    assert!(manager.healthy(), "still able to serve");
    assert_eq!(manager.get_token().await.unwrap().secret(), first.secret());
    // A 401 report does not hammer a refusing endpoint either.
    let guard = manager.acquire().await.unwrap();
    assert_eq!(
        manager
            .report_unauthorized(&guard)
            .await
            .unwrap_err()
            .reason(),
        "invalid_client"
    );
    assert_eq!(fake.fetches(), 2);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_token_missing_a_required_scope_is_refused() {
    let fake = Fake::hour();
    let manager = start(
        &fake,
        TokenManagerConfig {
            attention_retry: None,
            ..TokenManagerConfig {
                required_scopes: vec!["users:readonly".into(), "analytics:readonly".into()],
                ..config()
            }
        },
    );
    let error = manager.get_token().await.unwrap_err();
    assert_eq!(
        error,
        AcquireError::MissingScope {
            missing: vec!["analytics:readonly".into()],
            granted: vec!["users:readonly".into()],
        }
    );
    assert!(
        manager.current_token().is_none(),
        "the refused token is never served"
    );
    let status = manager.snapshot();
    assert_eq!(status.state, ManagerState::Failed);
    assert_eq!(status.last_error_reason.as_deref(), Some("missing_scope"));
    let refused = events_of(&manager, AuditKind::ValidationFailed);
    assert_eq!(refused.len(), 1);
    assert_eq!(
        refused[0].missing_scopes,
        vec!["analytics:readonly".to_string()]
    );
    // No automatic retry without `attention_retry`.
    sleep_secs(86_400).await;
    assert_eq!(fake.fetches(), 1);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_token_of_another_client_is_refused() {
    let fake = Fake::hour();
    *fake.owner.lock().unwrap() = "someone-else".into();
    let manager = start(&fake, config());
    let error = manager.get_token().await.unwrap_err();
    assert_eq!(
        error,
        AcquireError::WrongClient {
            expected: "portal-service".into(),
            actual: "someone-else".into()
        }
    );
    assert_eq!(manager.state(), ManagerState::Failed);
    manager.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Rotation and draining

#[tokio::test(start_paused = true)]
async fn rotation_with_100_guarded_requests_drains_without_a_401() {
    let fake = Fake::new(Duration::from_secs(3600), Duration::ZERO);
    let manager = start(&fake, config());
    let first = manager.get_token().await.unwrap();
    let finished = Arc::new(AtomicUsize::new(0));
    let unauthorized = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Barrier::new(101));
    let mut requests = Vec::new();
    for i in 0..100u64 {
        let (manager, fake, finished, unauthorized, started) = (
            Arc::clone(&manager),
            Arc::clone(&fake),
            Arc::clone(&finished),
            Arc::clone(&unauthorized),
            Arc::clone(&started),
        );
        requests.push(tokio::spawn(async move {
            let guard = manager.acquire().await.unwrap();
            assert_eq!(guard.generation(), 1);
            started.wait().await;
            // The request is in flight for a while, then uses its token again.
            tokio::time::sleep(Duration::from_millis(10 * (i + 1))).await;
            if fake.call_api(guard.token()).is_err() {
                unauthorized.fetch_add(1, Ordering::SeqCst);
            }
            finished.fetch_add(1, Ordering::SeqCst);
            drop(guard);
        }));
    }
    started.wait().await;
    assert_eq!(manager.snapshot().in_flight_guards, 100);

    let rotated_at = Instant::now();
    let drain = manager.rotate().await.unwrap();
    assert_eq!(
        (drain.old_generation(), drain.new_generation()),
        (Some(1), 2)
    );
    assert_eq!(drain.remaining(), 100);
    // New requests get the new token at once.
    let fresh = manager.acquire().await.unwrap();
    assert_eq!(fresh.generation(), 2);
    assert_ne!(fresh.token().secret(), first.secret());
    drop(fresh);
    let status = manager.snapshot();
    assert_eq!(status.draining.len(), 1);
    assert_eq!(status.draining[0].guards, 100);

    drain.clone().await;
    assert_eq!(
        finished.load(Ordering::SeqCst),
        100,
        "drained only once every request finished"
    );
    assert_eq!(
        unauthorized.load(Ordering::SeqCst),
        0,
        "no request saw a 401"
    );
    assert_eq!(
        Instant::now() - rotated_at,
        Duration::from_millis(1000),
        "woken by the last guard"
    );
    assert!(drain.is_drained());
    for request in requests {
        request.await.unwrap();
    }

    // The drained token is revoked afterwards (a request still using it now would get 401).
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(
        fake.revoked.lock().unwrap().as_slice(),
        [first.secret().to_owned()]
    );
    assert_eq!(fake.call_api(&first), Err(401));
    let rotated = events_of(&manager, AuditKind::Rotated);
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0].guards, Some(100));
    let drained = events_of(&manager, AuditKind::Drained);
    assert_eq!(drained.len(), 1);
    assert_eq!(drained[0].generation, Some(1));
    assert_eq!(drained[0].latency_ms, 1000);
    assert!(manager.snapshot().draining.is_empty());
    assert!(manager
        .render_prometheus()
        .contains("genesys_token_manager_rotations_total{client_id=\"portal-service\"} 1"));
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_401_rotates_once_however_many_requests_report_it() {
    let fake = Fake::new(Duration::from_secs(3600), Duration::from_millis(50));
    let manager = start(&fake, config());
    let first = manager.get_token().await.unwrap();
    // Genesys revoked the token behind our back.
    fake.kill(&first);
    let started = Arc::new(Barrier::new(50));
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let (manager, fake, started) = (
                Arc::clone(&manager),
                Arc::clone(&fake),
                Arc::clone(&started),
            );
            tokio::spawn(async move {
                let mut first_try = true;
                loop {
                    let guard = manager.acquire().await.unwrap();
                    if first_try {
                        started.wait().await;
                        first_try = false;
                    }
                    match fake.call_api(guard.token()) {
                        Ok(()) => return guard.generation(),
                        Err(_) => {
                            manager.report_unauthorized(&guard).await.unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), 2);
    }
    assert_eq!(fake.fetches(), 2, "one rotation for 50 reports");
    let rotated = events_of(&manager, AuditKind::Rotated);
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0].trigger.map(|t| t.as_str()), Some("unauthorized"));
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(events_of(&manager, AuditKind::Drained).len(), 1);
    // A token Genesys already refused is not revoked again.
    assert!(fake.revoked.lock().unwrap().is_empty());
    manager.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Audit records

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(start_paused = true)]
async fn audit_records_are_structured_and_carry_no_token() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let fake = Fake::new(Duration::from_secs(3600), Duration::ZERO);
    let manager = start(&fake, config());
    let mut seen = vec![manager.get_token().await.unwrap()];
    sleep_secs(3400).await; // refreshed
    seen.push(manager.get_token().await.unwrap());
    fake.set_mode(Mode::Down);
    sleep_secs(3400).await; // refresh failures
    fake.set_mode(Mode::Up);
    sleep_secs(120).await;
    let guard = manager.acquire().await.unwrap();
    seen.push(guard.token().clone());
    let drain = manager.rotate().await.unwrap(); // rotated
    drop(guard);
    drain.await; // drained
    tokio::time::sleep(Duration::from_millis(1)).await;
    seen.push(manager.get_token().await.unwrap());
    *fake.granted.lock().unwrap() = vec![];
    assert!(manager.rotate().await.is_err()); // validation failed

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let mut kinds = HashSet::new();
    for line in text.lines() {
        let record: serde_json::Value =
            serde_json::from_str(line).expect("one JSON object per line");
        if record["target"] != "genesys::audit" {
            continue;
        }
        let fields = &record["fields"];
        kinds.insert(fields["event"].as_str().unwrap().to_owned());
        for field in [
            "event_id",
            "client_id",
            "state",
            "latency_ms",
            "attempt",
            "error_rate",
        ] {
            assert!(!fields[field].is_null(), "{field} missing in {line}");
        }
    }
    for kind in [
        "acquired",
        "refreshed",
        "refresh_failed",
        "rotated",
        "drained",
        "validation_failed",
    ] {
        assert!(kinds.contains(kind), "no {kind} record in:\n{text}");
    }
    assert!(!text.contains(TOKEN_MARK), "a token leaked into the logs");
    for token in &seen {
        assert!(!text.contains(token.secret()));
    }
    // Nor anywhere else the manager reports.
    let status = manager.snapshot();
    for shown in [
        serde_json::to_string(&status).unwrap(),
        format!("{status:?}"),
        format!("{manager:?}"),
        manager.render_prometheus(),
    ] {
        assert!(!shown.contains(TOKEN_MARK), "{shown}");
    }
    assert!(status.recent_events.len() <= 50);
    manager.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Webhook (real time: a local receiver on 127.0.0.1:0)

#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    arrived: Arc<Notify>,
}

async fn hook(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = {
        let mut hits = receiver.hits.lock().unwrap();
        hits.push((headers, body));
        hits.len()
    };
    receiver.arrived.notify_one();
    if n == 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

impl Receiver {
    async fn wait_for(&self, count: usize) -> Vec<(HeaderMap, Bytes)> {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.arrived.notified();
                if self.hits.lock().unwrap().len() >= count {
                    return self.hits.lock().unwrap().clone();
                }
                notified.await;
            }
        })
        .await
        .expect("the webhook arrives")
    }
}

#[tokio::test]
async fn webhook_events_are_signed_retried_and_carry_no_token() {
    let receiver = Receiver::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let secret = WebhookSecret::new("webhook-signing-key");
    let webhook = WebhookConfig {
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        ..WebhookConfig::new(
            format!("http://{address}/hook").parse().unwrap(),
            secret.clone(),
        )
    };
    let fake = Fake::new(Duration::from_secs(3600), Duration::ZERO);
    let manager = start(
        &fake,
        TokenManagerConfig {
            webhook: Some(webhook),
            ..config()
        },
    );
    let token = manager.get_token().await.unwrap();

    // `acquired`: refused with 500 once, then delivered again with the same id.
    let hits = receiver.wait_for(2).await;
    let (first_headers, first_body) = &hits[0];
    let (second_headers, second_body) = &hits[1];
    assert_eq!(first_body, second_body);
    assert_eq!(
        first_headers[WEBHOOK_EVENT_ID_HEADER],
        second_headers[WEBHOOK_EVENT_ID_HEADER]
    );
    for (headers, body) in &hits {
        let signature = headers[WEBHOOK_SIGNATURE_HEADER].to_str().unwrap();
        assert!(signature.starts_with("sha256="));
        assert!(
            verify_webhook_signature(&secret, body, signature),
            "the signature verifies"
        );
        assert!(!verify_webhook_signature(
            &WebhookSecret::new("another-key"),
            body,
            signature
        ));
        let event: AuditEvent = serde_json::from_slice(body).unwrap();
        assert_eq!(event.kind, AuditKind::Acquired);
        assert_eq!(
            event.id.to_string(),
            headers[WEBHOOK_EVENT_ID_HEADER].to_str().unwrap()
        );
        let text = std::str::from_utf8(body).unwrap();
        assert!(!text.contains(token.secret()) && !text.contains(TOKEN_MARK));
    }

    // A rotation: `rotated` then `drained`, each with its own id.
    let drain = manager.rotate().await.unwrap();
    drain.await;
    let hits = receiver.wait_for(4).await;
    let kinds: Vec<AuditKind> = hits[2..]
        .iter()
        .map(|(_, body)| serde_json::from_slice::<AuditEvent>(body).unwrap().kind)
        .collect();
    assert_eq!(kinds, [AuditKind::Rotated, AuditKind::Drained]);
    let ids: HashSet<String> = hits
        .iter()
        .map(|(headers, _)| {
            headers[WEBHOOK_EVENT_ID_HEADER]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 3);
    for (headers, body) in &hits[2..] {
        assert!(verify_webhook_signature(
            &secret,
            body,
            headers[WEBHOOK_SIGNATURE_HEADER].to_str().unwrap()
        ));
    }
    manager.shutdown().await;
    assert!(manager
        .render_prometheus()
        .contains("genesys_token_manager_webhook_deliveries_total{client_id=\"portal-service\",outcome=\"delivered\"} 3"));
}

#[tokio::test]
async fn an_insecure_webhook_url_is_refused() {
    let fake = Fake::hour();
    let config = TokenManagerConfig {
        webhook: Some(WebhookConfig::new(
            "http://hooks.example.com/x".parse().unwrap(),
            WebhookSecret::new("k"),
        )),
        ..config()
    };
    assert!(TokenManager::start(fake as Arc<dyn TokenSource>, config).is_err());
}
