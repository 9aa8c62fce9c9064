//! Benchmarks of the token manager: `get_token()` on the hot path (a valid token, read through
//! arc-swap without a lock) and the stampede of 10,000 callers arriving with no valid token.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use futures::future::BoxFuture;
use genesys::{
    AccessToken, ApiError, ClientId, EntityRef, OAuthClientRef, OAuthError, TokenInfo,
    TokenManager, TokenManagerConfig, TokenSet, TokenSource,
};

/// An in-memory token endpoint: every fetch mints a new token after `latency`.
struct BenchSource {
    client_id: ClientId,
    fetches: AtomicUsize,
    latency: Duration,
}

impl TokenSource for BenchSource {
    fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    fn fetch(&self) -> BoxFuture<'_, Result<TokenSet, OAuthError>> {
        Box::pin(async move {
            let n = self.fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.latency).await;
            Ok(TokenSet {
                access_token: AccessToken::new(format!("bench-token-{n}")),
                refresh_token: None,
                expires_in: Duration::from_secs(86_400),
                obtained_at: Instant::now(),
            })
        })
    }

    fn inspect<'a>(
        &'a self,
        _token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<TokenInfo, ApiError>> {
        Box::pin(async move {
            Ok(TokenInfo {
                organization: Some(EntityRef {
                    id: "org".into(),
                    name: None,
                    self_uri: None,
                }),
                home_organization: None,
                authorized_scope: vec!["users:readonly".into()],
                cloned_user: None,
                date_token_idles: None,
                oauth_client: Some(OAuthClientRef {
                    id: self.client_id.as_str().into(),
                    name: None,
                    organization: None,
                    self_uri: None,
                    authorized_grant_type: Some("CLIENT-CREDENTIALS".into()),
                    scope: Vec::new(),
                    state: None,
                }),
            })
        })
    }
}

fn source(latency: Duration) -> Arc<BenchSource> {
    Arc::new(BenchSource {
        client_id: ClientId::new("bench-service"),
        fetches: AtomicUsize::new(0),
        latency,
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn hot_path(c: &mut Criterion) {
    let rt = runtime();
    let manager = rt.block_on(async {
        let manager = TokenManager::start(
            source(Duration::ZERO),
            TokenManagerConfig::new(["users:readonly"]),
        )
        .expect("start");
        manager.get_token().await.expect("first token");
        manager
    });
    let mut group = c.benchmark_group("token_manager");
    group.bench_function("get_token_hot_path", |b| {
        b.to_async(&rt).iter(|| {
            let manager = &manager;
            async move { manager.get_token().await.expect("token") }
        })
    });
    group.bench_function("current_token_sync", |b| {
        let _runtime = rt.enter();
        b.iter(|| manager.current_token().expect("token"))
    });
    group.bench_function("acquire_guard", |b| {
        b.to_async(&rt).iter(|| {
            let manager = &manager;
            async move { manager.acquire().await.expect("guard") }
        })
    });
    group.finish();
    rt.block_on(manager.shutdown());
}

fn stampede(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("token_manager");
    group.sample_size(10);
    group.bench_function("stampede_10000_callers", |b| {
        b.to_async(&rt).iter_batched(
            || {
                let _enter = rt.enter();
                let config = TokenManagerConfig {
                    background_refresh: false,
                    ..TokenManagerConfig::new(["users:readonly"])
                };
                let src = source(Duration::from_millis(1));
                (
                    TokenManager::start(src.clone(), config).expect("start"),
                    src,
                )
            },
            |(manager, src)| async move {
                let callers: Vec<_> = (0..10_000)
                    .map(|_| {
                        let manager = Arc::clone(&manager);
                        tokio::spawn(async move { manager.get_token().await.map(|_| ()) })
                    })
                    .collect();
                for caller in callers {
                    caller.await.expect("caller").expect("token");
                }
                assert_eq!(src.fetches.load(Ordering::SeqCst), 1);
                manager.shutdown().await;
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, hot_path, stampede);
criterion_main!(benches);
