//! The all-pages stream: thousands of users from the sandbox (also under faults and the real
//! rate limit), the page cap, and, against a local fake, bounded concurrency, back-pressure
//! and the shared 429 back-off.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use conformance::*;
use futures::StreamExt;
use genesys::{
    AccessToken, AllPagesOptions, ApiError, ClientOptions, Environment, GenesysClient,
    TokenProvider, UserEntityListing, UserListQuery,
};
use genesys::{StateFilter, User, UserState};
use sandbox::SandboxConfig;

fn all_states(page_size: u32) -> UserListQuery {
    UserListQuery {
        page_size,
        state: StateFilter::Any,
        ..UserListQuery::default()
    }
}

async fn collect(
    genesys: &GenesysClient,
    token: AccessToken,
    query: UserListQuery,
    options: AllPagesOptions,
) -> Vec<Result<UserEntityListing, ApiError>> {
    genesys.all_users(token, query, options).collect().await
}

#[tokio::test]
async fn pages_through_every_user_in_order() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;
    let options = AllPagesOptions {
        concurrency: 4,
        ..AllPagesOptions::default()
    };
    let pages = collect(&h.genesys, token.clone(), all_states(25), options).await;
    assert_eq!(pages.len(), 50);
    let pages: Vec<UserEntityListing> = pages.into_iter().map(Result::unwrap).collect();
    assert!(
        pages
            .iter()
            .enumerate()
            .all(|(i, p)| p.page_number as usize == i + 1),
        "in order"
    );
    let ids: HashSet<&str> = pages
        .iter()
        .flat_map(|p| &p.entities)
        .map(|u| u.id.as_str())
        .collect();
    assert_eq!(ids.len(), 1250, "every user once");

    // The same users, in the same order, as one sequential walk.
    let mut sequential = Vec::new();
    for n in 1..=50 {
        let q = UserListQuery {
            page_number: n,
            ..all_states(25)
        };
        sequential.extend(
            h.genesys
                .list_users(&token, &q)
                .await
                .unwrap()
                .body
                .entities,
        );
    }
    let streamed: Vec<User> = pages.into_iter().flat_map(|p| p.entities).collect();
    assert_eq!(streamed, sequential);
}

#[tokio::test]
async fn thousands_of_users_under_5xx_and_429_faults() {
    let h = start(
        SandboxConfig {
            users: 5000,
            rate_limit_per_minute: 0,
            ..SandboxConfig::default()
        },
        quick_options(),
    )
    .await;
    let token = service_tokens(&h.genesys).await.access_token;
    h.sandbox.faults().reseed(5000);
    h.sandbox.faults().set_error_rate(0.1);
    h.sandbox.faults().set_rate_limit_rate(0.05);
    let options = AllPagesOptions {
        concurrency: 6,
        ..AllPagesOptions::default()
    };
    let pages = collect(&h.genesys, token, all_states(100), options).await;
    assert_eq!(pages.len(), 50);
    let mut ids = HashSet::new();
    for page in pages {
        for user in page.unwrap().entities {
            assert!(ids.insert(user.id));
        }
    }
    assert_eq!(ids.len(), 5000);
}

/// A source that mints client-credentials tokens and remembers each ask (`true`: with a
/// refused token).
struct Minting {
    genesys: GenesysClient,
    asks: Arc<Mutex<Vec<bool>>>,
}

impl TokenProvider for Minting {
    fn token(
        &self,
        refused: Option<&AccessToken>,
    ) -> futures::future::BoxFuture<'static, Result<AccessToken, ApiError>> {
        self.asks.lock().unwrap().push(refused.is_some());
        let genesys = self.genesys.clone();
        Box::pin(async move { Ok(service_tokens(&genesys).await.access_token) })
    }
}

/// The listing's token dies after page 1 (every access token expired): a fixed token ends
/// the stream with the 401, a source replaces it once for all the concurrent fetches and the
/// listing carries on.
#[tokio::test]
async fn a_listing_that_outlives_its_token_asks_its_source_once_for_another() {
    let h = start_default().await;
    let options = AllPagesOptions {
        concurrency: 4,
        ..AllPagesOptions::default()
    };
    let token = service_tokens(&h.genesys).await.access_token;
    let mut fixed = Box::pin(h.genesys.all_users(token, all_states(25), options.clone()));
    assert!(fixed.next().await.unwrap().is_ok());
    h.sandbox.expire_tokens();
    let rest: Vec<_> = fixed.collect().await;
    assert_eq!(rest.len(), 1, "the stream ends at the first error");
    assert!(rest[0].as_ref().unwrap_err().is_unauthorized(), "{rest:?}");

    let asks = Arc::new(Mutex::new(Vec::new()));
    let source = Minting {
        genesys: h.genesys.clone(),
        asks: asks.clone(),
    };
    let mut pages = Box::pin(h.genesys.all_users(source, all_states(25), options));
    let first = pages.next().await.unwrap().unwrap();
    h.sandbox.expire_tokens();
    let mut ids: HashSet<String> = first.entities.into_iter().map(|u| u.id).collect();
    while let Some(page) = pages.next().await {
        ids.extend(page.unwrap().entities.into_iter().map(|u| u.id));
    }
    assert_eq!(ids.len(), 1250, "every user, across the token change");
    assert_eq!(
        *asks.lock().unwrap(),
        [false, true],
        "asked at the start and once after the 401s"
    );
}

/// With page retries a page the client's own retries gave up on is fetched again after a
/// pause; without them the failure ends the listing.
#[tokio::test]
async fn page_retries_outlast_an_outage_the_client_retries_do_not() {
    let h = start(
        SandboxConfig::default(),
        ClientOptions {
            retry: genesys::RetryPolicy {
                max_attempts: 1,
                ..quick_retry()
            },
            ..quick_options()
        },
    )
    .await;
    let token = service_tokens(&h.genesys).await.access_token;
    h.sandbox.faults().set_error_rate(1.0);
    let impatient = collect(
        &h.genesys,
        token.clone(),
        all_states(500),
        AllPagesOptions::default(),
    )
    .await;
    assert!(
        matches!(impatient.as_slice(), [Err(ApiError::Upstream { .. })]),
        "{impatient:?}"
    );

    h.sandbox.stats().reset();
    let faults = h.sandbox.faults();
    let outage = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        faults.clear();
    });
    let options = AllPagesOptions {
        page_retries: 3,
        ..AllPagesOptions::default()
    };
    let pages = collect(&h.genesys, token, all_states(500), options).await;
    outage.await.unwrap();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages.iter().all(Result::is_ok), "{pages:?}");
    assert_eq!(
        h.sandbox.stats().requests("/api/v2/users"),
        4,
        "page 1 failed once and was fetched again after the pause; pages 2 and 3 once each"
    );
}

#[tokio::test]
async fn only_active_users_by_default() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;
    let query = UserListQuery {
        page_size: 500,
        ..UserListQuery::default()
    };
    let pages = collect(&h.genesys, token, query, AllPagesOptions::default()).await;
    let users: Vec<User> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().entities)
        .collect();
    assert!(!users.is_empty() && users.len() < 1250);
    assert!(users.iter().all(|u| u.state == Some(UserState::Active)));
}

#[tokio::test]
async fn the_page_cap_stops_before_fetching_more() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;
    let options = AllPagesOptions {
        max_pages: 10,
        ..AllPagesOptions::default()
    };
    let pages = collect(&h.genesys, token.clone(), all_states(25), options).await;
    assert_eq!(pages.len(), 1);
    assert_eq!(
        pages[0].as_ref().unwrap_err(),
        &ApiError::TooManyPages {
            page_count: 50,
            max_pages: 10
        }
    );
    // Only page 1 was fetched: the next call is the second counted request.
    let next = h.genesys.token_info(&token).await.unwrap();
    assert_eq!(next.rate_limit.count, Some(2));

    let bad = collect(&h.genesys, token, all_states(0), AllPagesOptions::default()).await;
    assert!(matches!(bad.as_slice(), [Err(ApiError::InvalidRequest(_))]));
}

#[tokio::test]
async fn the_real_rate_limit_ends_the_stream_with_the_wait() {
    let h = start(
        SandboxConfig {
            rate_limit_per_minute: 5,
            ..SandboxConfig::default()
        },
        quick_options(),
    )
    .await;
    let token = service_tokens(&h.genesys).await.access_token;
    // One page at a time, so that the request count is exact.
    let options = AllPagesOptions {
        concurrency: 1,
        requests_per_minute: None,
        ..AllPagesOptions::default()
    };
    let pages = collect(&h.genesys, token, all_states(100), options).await;
    // Five pages, then the refused sixth, which is not retried (the wait exceeds the cap).
    assert_eq!(h.sandbox.stats().requests("/api/v2/users"), 6);
    let (ok, err): (Vec<_>, Vec<_>) = pages.into_iter().partition(Result::is_ok);
    assert_eq!(ok.len(), 5, "five pages fit in the limit");
    assert_eq!(err.len(), 1, "the stream ends after its error");
    match err[0].as_ref().unwrap_err() {
        ApiError::RateLimited { retry_after, .. } => {
            assert!(*retry_after > Duration::from_secs(30))
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A fake listing that counts what happens

#[derive(Default)]
struct Fake {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    served: AtomicU32,
    /// Page numbers answered 429 once (with `Retry-After: 2`).
    throttle_once: Mutex<HashSet<u32>>,
    /// When each page's request arrived (after the first attempt), relative to `start`.
    arrivals: Mutex<Vec<(u32, Instant)>>,
    slow_page: Mutex<Option<(u32, Duration)>>,
}

const FAKE_PAGES: u32 = 20;

async fn fake_listing(
    State(fake): State<Arc<Fake>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    let number: u32 = q["pageNumber"].parse().unwrap();
    let size: u32 = q["pageSize"].parse().unwrap();
    fake.arrivals.lock().unwrap().push((number, Instant::now()));
    if fake.throttle_once.lock().unwrap().remove(&number) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "2")],
            "{}",
        )
            .into_response();
    }
    let now = fake.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    fake.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = match *fake.slow_page.lock().unwrap() {
        Some((slow, d)) if slow == number => d,
        _ => Duration::from_millis(20),
    };
    tokio::time::sleep(delay).await;
    fake.in_flight.fetch_sub(1, Ordering::SeqCst);
    fake.served.fetch_add(1, Ordering::SeqCst);
    let entities = (0..size)
        .map(|i| User {
            state: Some(UserState::Active),
            ..User::minimal(format!("{number}-{i}"), format!("User {number}-{i}"))
        })
        .collect();
    Json(UserEntityListing {
        entities,
        page_size: size,
        page_number: number,
        total: u64::from(size * FAKE_PAGES),
        page_count: FAKE_PAGES,
        first_uri: None,
        self_uri: None,
        previous_uri: None,
        next_uri: None,
        last_uri: None,
    })
    .into_response()
}

async fn fake_server(fake: Arc<Fake>) -> GenesysClient {
    let router = Router::new()
        .route("/api/v2/users", get(fake_listing))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let base = format!("http://{addr}");
    GenesysClient::new(
        Environment::custom(&base, &base).unwrap(),
        ClientOptions { ..quick_options() },
    )
    .unwrap()
}

#[tokio::test]
async fn concurrency_is_bounded_and_the_consumer_sets_the_pace() {
    let fake = Arc::new(Fake::default());
    let client = fake_server(fake.clone()).await;
    let options = AllPagesOptions {
        concurrency: 3,
        ..AllPagesOptions::default()
    };
    let mut stream =
        Box::pin(client.all_users(AccessToken::new("t"), UserListQuery::default(), options));

    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.page_number, 1);
    // The consumer dawdles: nothing more is asked for while it holds page 1 (the listing's
    // size is only known from page 1, and the look-ahead is driven by the consumer).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.arrivals.lock().unwrap().len(),
        1,
        "asked ahead of a consumer that holds page 1"
    );
    // Taking page 2 starts the look-ahead: page 2 and at most `concurrency - 1` more, and then
    // nothing while page 2 is held.
    assert_eq!(stream.next().await.unwrap().unwrap().page_number, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let arrived = fake.arrivals.lock().unwrap().len();
    assert!(
        (2..=1 + 3).contains(&arrived),
        "{arrived} pages asked for by a consumer that holds page 2"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.arrivals.lock().unwrap().len(),
        arrived,
        "nothing more while held"
    );

    let mut n = 2;
    while let Some(page) = stream.next().await {
        n += 1;
        assert_eq!(page.unwrap().page_number, n);
    }
    assert_eq!(n, FAKE_PAGES);
    let max = fake.max_in_flight.load(Ordering::SeqCst);
    assert!((2..=3).contains(&max), "max in flight {max}");
}

#[tokio::test]
async fn a_429_on_one_page_makes_every_fetch_wait() {
    let fake = Arc::new(Fake::default());
    fake.throttle_once.lock().unwrap().insert(3);
    // Page 2 is slow (300 ms), so page 5 cannot start before page 3's 429 is in; without the
    // shared back-off it would start when page 2 is done, 1.7 s before the 2 s wait is over.
    *fake.slow_page.lock().unwrap() = Some((2, Duration::from_millis(300)));
    let client = fake_server(fake.clone()).await;
    let options = AllPagesOptions {
        concurrency: 3,
        ..AllPagesOptions::default()
    };
    let pages: Vec<_> = client
        .all_users(AccessToken::new("t"), UserListQuery::default(), options)
        .collect()
        .await;
    assert_eq!(pages.len(), FAKE_PAGES as usize);
    assert!(pages.iter().all(Result::is_ok));

    let arrivals = fake.arrivals.lock().unwrap();
    let throttled_at = arrivals.iter().find(|(n, _)| *n == 3).unwrap().1;
    let later: Vec<&(u32, Instant)> = arrivals.iter().filter(|(_, t)| *t > throttled_at).collect();
    let page5 = arrivals.iter().find(|(n, _)| *n == 5).unwrap().1;
    assert!(
        page5.duration_since(throttled_at) >= Duration::from_millis(1900),
        "page 5 started {:?} after the 429 on page 3",
        page5.duration_since(throttled_at)
    );
    // Nothing but the in-flight pages 2 and 4 started inside the back-off.
    for (n, t) in later {
        if t.duration_since(throttled_at) < Duration::from_millis(1900) {
            assert!([2, 4].contains(n), "page {n} started during the back-off");
        }
    }
}
