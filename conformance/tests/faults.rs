//! Upstream faults against the sandbox (429 with Retry-After, 5xx storms, slow answers) and
//! against a tiny local server where the sandbox cannot misbehave on purpose (redirects, a
//! token endpoint that fails after the request arrived).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::Router;
use conformance::*;
use genesys::{
    AccessToken, ApiError, AuthorizationCode, ClientOptions, Environment, GenesysClient,
    OAuthError, PkceVerifier, RetryPolicy, UserListQuery,
};
use sandbox::SandboxConfig;

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

fn client_for(addr: SocketAddr, retry: RetryPolicy) -> GenesysClient {
    let base = format!("http://{addr}");
    GenesysClient::new(
        Environment::custom(&base, &base).unwrap(),
        ClientOptions {
            retry,
            ..quick_options()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn forced_429s_honour_retry_after_then_report_the_wait() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;
    h.sandbox.faults().set_rate_limit_rate(1.0);

    // The sandbox asks for 1 s; two attempts wait it once, then report it.
    let two_attempts = GenesysClient::new(
        env_for(&h.sandbox.base_url()),
        ClientOptions {
            retry: RetryPolicy {
                max_attempts: 2,
                ..quick_retry()
            },
            ..quick_options()
        },
    )
    .unwrap();
    let started = Instant::now();
    let err = two_attempts.users_me(&token, &[]).await.unwrap_err();
    let took = started.elapsed();
    match &err {
        ApiError::RateLimited {
            retry_after,
            context_id,
        } => {
            assert_eq!(*retry_after, Duration::from_secs(1));
            assert!(context_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    // The asked wait was honoured once, between the two attempts.
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert_eq!(h.sandbox.stats().requests("/api/v2/users/me"), 2);

    // A cap below the asked wait fails at once, saying how long to wait.
    let impatient = GenesysClient::new(
        env_for(&h.sandbox.base_url()),
        ClientOptions {
            retry: RetryPolicy {
                max_retry_after: Duration::from_millis(500),
                ..quick_retry()
            },
            ..quick_options()
        },
    )
    .unwrap();
    let err = impatient
        .list_users(&token, &UserListQuery::default())
        .await
        .unwrap_err();
    assert_eq!(
        h.sandbox.stats().requests("/api/v2/users"),
        1,
        "not retried"
    );
    assert_eq!(
        err.to_string(),
        "Genesys Cloud is rate limiting; try again in 1 s"
    );

    // Some 429s (seeded draws): the retries absorb them.
    h.sandbox.faults().reseed(429);
    h.sandbox.faults().set_rate_limit_rate(0.25);
    for _ in 0..6 {
        h.genesys
            .list_users(&token, &UserListQuery::default())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_real_rate_limit_reports_a_long_wait_at_once() {
    let h = start(
        SandboxConfig {
            rate_limit_per_minute: 3,
            ..SandboxConfig::default()
        },
        quick_options(),
    )
    .await;
    let token = service_tokens(&h.genesys).await.access_token;
    for _ in 0..3 {
        h.genesys.token_info(&token).await.unwrap();
    }
    let err = h.genesys.token_info(&token).await.unwrap_err();
    // A wait beyond the cap is neither slept nor retried: one request for the refused call.
    assert_eq!(h.sandbox.stats().requests("/api/v2/tokens/me"), 4);
    match err {
        ApiError::RateLimited { retry_after, .. } => {
            assert!(
                retry_after > Duration::from_secs(30) && retry_after <= Duration::from_secs(60),
                "{retry_after:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_5xx_storm_is_retried_then_reported() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;

    h.sandbox.faults().set_error_rate(1.0);
    let err = h
        .genesys
        .list_users(&token, &UserListQuery::default())
        .await
        .unwrap_err();
    match &err {
        ApiError::Upstream {
            status,
            message,
            context_id,
        } => {
            assert!([500, 502, 503, 504].contains(status), "{status}");
            assert!(message.contains("sandbox fault"));
            assert!(context_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    // Six attempts were counted by the sandbox's rate limiter: the next answer says so.
    h.sandbox.faults().set_error_rate(0.0);
    let ok = h.genesys.token_info(&token).await.unwrap();
    assert_eq!(
        ok.rate_limit.count,
        Some(7),
        "1 + 5 retries, then this call"
    );

    // A storm of 20 % (seeded draws): every call gets through.
    h.sandbox.faults().reseed(500);
    h.sandbox.faults().set_error_rate(0.2);
    for _ in 0..20 {
        h.genesys
            .list_users(&token, &UserListQuery::default())
            .await
            .unwrap();
    }
    h.genesys
        .search_users(
            &token,
            &genesys::UserSearchRequest {
                page_size: 5,
                page_number: 1,
                sort_order: None,
                sort_by: None,
                query: vec![genesys::SearchCriterion {
                    kind: "MATCH_ALL".into(),
                    ..Default::default()
                }],
                sort: Vec::new(),
                expand: vec![],
                enforce_permissions: None,
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn slow_answers_hit_the_request_timeout() {
    let options = ClientOptions {
        request_timeout: Duration::from_millis(250),
        ..quick_options()
    };
    let h = start(SandboxConfig::default(), quick_options()).await;
    let token = service_tokens(&h.genesys).await.access_token;
    let impatient = GenesysClient::new(env_for(&h.sandbox.base_url()), options).unwrap();
    h.sandbox.faults().set_latency(Duration::from_secs(2));
    let err = impatient.users_me(&token, &[]).await.unwrap_err();
    assert_eq!(err, ApiError::Timeout);
    // Not retried: one request arrived (counted before the injected latency).
    assert_eq!(h.sandbox.stats().requests("/api/v2/users/me"), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let stolen = Arc::new(AtomicUsize::new(0));
    let thief = {
        let stolen = stolen.clone();
        serve(Router::new().fallback(any(move || {
            stolen.fetch_add(1, Ordering::SeqCst);
            async { "thanks for the token" }
        })))
        .await
    };
    let location = format!("http://{thief}/steal");
    let redirector = {
        let location = location.clone();
        let to = move || {
            let location = location.clone();
            async move { (StatusCode::FOUND, [(header::LOCATION, location)]).into_response() }
        };
        serve(
            Router::new()
                .route("/api/v2/users/me", get(to.clone()))
                .route("/oauth/token", post(to)),
        )
        .await
    };
    let client = client_for(redirector, quick_retry());
    let err = client
        .users_me(&AccessToken::new("secret"), &[])
        .await
        .unwrap_err();
    assert_eq!(err, ApiError::Redirect { status: 302 });
    let err = client
        .client_credentials(&service_id(), &service_secret(), &[])
        .await
        .unwrap_err();
    assert_eq!(err, OAuthError::Upstream { status: 302 });
    assert_eq!(
        stolen.load(Ordering::SeqCst),
        0,
        "nothing reached the redirect target"
    );
}

#[tokio::test]
async fn a_code_exchange_is_sent_once_even_when_the_server_fails() {
    let hits = Arc::new(AtomicUsize::new(0));
    let addr = {
        let hits = hits.clone();
        serve(Router::new().route(
            "/oauth/token",
            post(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                async { (StatusCode::BAD_GATEWAY, "upstream hiccup") }
            }),
        ))
        .await
    };
    let client = client_for(addr, quick_retry());
    let err = client
        .exchange_code(
            &web_client(),
            AuthorizationCode::new("c"),
            PkceVerifier::generate(),
        )
        .await
        .unwrap_err();
    assert_eq!(err, OAuthError::Upstream { status: 502 });
    assert_eq!(
        hits.swap(0, Ordering::SeqCst),
        1,
        "the code exchange is never retried"
    );

    let err = client
        .refresh(&web_client(), &genesys::RefreshToken::new("r"))
        .await
        .unwrap_err();
    assert_eq!(err, OAuthError::Upstream { status: 502 });
    assert_eq!(
        hits.swap(0, Ordering::SeqCst),
        1,
        "a refresh that may have rotated is not retried"
    );

    client
        .client_credentials(&service_id(), &service_secret(), &[])
        .await
        .unwrap_err();
    assert_eq!(
        hits.swap(0, Ordering::SeqCst),
        6,
        "client credentials are idempotent: all attempts"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    // Bind then drop to get a port nothing listens on.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let client = client_for(addr, quick_retry());
    let err = client
        .users_me(&AccessToken::new("t"), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Transport(_)), "{err:?}");
    let err = client
        .exchange_code(
            &pkce_client(),
            AuthorizationCode::new("c"),
            PkceVerifier::generate(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, OAuthError::Transport(_)), "{err:?}");
    assert!(!err.to_string().contains("PkceVerifier"));
}
