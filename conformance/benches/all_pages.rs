//! The all-pages stream over 10,000 sandbox users with 50 ms of latency per answer: page size
//! 100 and 500 (4 pages in flight), beside seed 000's way (25 a page, one after another).
//!
//! `cargo bench -p conformance --bench all_pages`

use std::time::Duration;

use conformance::{env_for, service_id, service_secret};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use futures::StreamExt;
use genesys::StateFilter;
use genesys::{AccessToken, AllPagesOptions, ClientOptions, GenesysClient, UserListQuery};
use sandbox::{RunningSandbox, SandboxConfig};

const USERS: usize = 10_000;
const LATENCY: Duration = Duration::from_millis(50);

struct Setup {
    _sandbox: RunningSandbox,
    client: GenesysClient,
    token: AccessToken,
}

async fn setup() -> Setup {
    let sandbox = sandbox::spawn(SandboxConfig {
        users: USERS,
        // The limit would dominate the sequential export (400 requests); it is not what is measured.
        rate_limit_per_minute: 0,
        ..SandboxConfig::default()
    })
    .await
    .expect("the sandbox starts");
    let client =
        GenesysClient::new(env_for(&sandbox.base_url()), ClientOptions::default()).unwrap();
    let token = client
        .client_credentials(
            &service_id(),
            &service_secret(),
            &["users:readonly".to_string()],
        )
        .await
        .expect("a service token")
        .access_token;
    sandbox.faults().set_latency(LATENCY);
    Setup {
        _sandbox: sandbox,
        client,
        token,
    }
}

fn query(page_size: u32) -> UserListQuery {
    UserListQuery {
        page_size,
        state: StateFilter::Any,
        ..UserListQuery::default()
    }
}

async fn stream_all(s: &Setup, page_size: u32, concurrency: usize) -> usize {
    let options = AllPagesOptions {
        concurrency,
        requests_per_minute: None,
        ..AllPagesOptions::default()
    };
    let mut users = 0;
    let mut pages = Box::pin(
        s.client
            .all_users(s.token.clone(), query(page_size), options),
    );
    while let Some(page) = pages.next().await {
        users += page.expect("a page").entities.len();
    }
    assert_eq!(users, USERS);
    users
}

/// Seed 000's export: 25 a page, each page requested after the previous one arrived.
async fn sequential_25(s: &Setup) -> usize {
    let mut users = 0;
    let mut number = 1;
    loop {
        let q = UserListQuery {
            page_number: number,
            ..query(25)
        };
        let page = s
            .client
            .list_users(&s.token, &q)
            .await
            .expect("a page")
            .body;
        users += page.entities.len();
        if number >= page.page_count {
            break;
        }
        number += 1;
    }
    assert_eq!(users, USERS);
    users
}

fn all_pages(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let s = runtime.block_on(setup());

    let mut group = c.benchmark_group("all_pages_10k_users_50ms");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (page_size, concurrency) in [(100, 4), (500, 4), (100, 8)] {
        group.bench_with_input(
            BenchmarkId::new(
                "stream",
                format!("page_size_{page_size}_concurrency_{concurrency}"),
            ),
            &(page_size, concurrency),
            |b, &(page_size, concurrency)| {
                b.to_async(&runtime)
                    .iter(|| stream_all(&s, page_size, concurrency))
            },
        );
    }
    group.bench_function(
        BenchmarkId::new("seed000_sequential", "page_size_25"),
        |b| b.to_async(&runtime).iter(|| sequential_25(&s)),
    );
    group.finish();
}

criterion_group!(benches, all_pages);
criterion_main!(benches);
