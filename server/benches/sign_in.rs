//! The server-side cost of a sign-in: `POST /auth/login` (verifier, state, pending login in a
//! new session) and `GET /auth/callback` (the pending login claimed, the code exchanged, the
//! grant stored, a new session id) through the whole router and its layers, in process (no
//! TCP on the portal's side). The sandbox's sign-in page in between is not timed; the code
//! exchange inside the callback is a real HTTP call to the embedded sandbox on loopback, so
//! the number is an upper bound of the portal's own cost.
//! `cargo bench -p server --bench sign_in`

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use axum::{body::Body, http::Request, Router};
use criterion::{criterion_group, criterion_main, Criterion};
use leptos::prelude::LeptosOptions;
use reqwest::{header, redirect::Policy, StatusCode};
use sandbox::test_support::SignInScript;
use tower::ServiceExt;

use server::{config, limits, limits::LoginLimiter};

struct Bench {
    router: Router,
    origin: String,
    browser: reqwest::Client,
    _sandbox: sandbox::RunningSandbox,
    _data: tempfile::TempDir,
}

async fn portal() -> Bench {
    let data = tempfile::tempdir().unwrap();
    let mut vars = BTreeMap::new();
    vars.insert(
        "PORTAL_DATA_DIR".to_string(),
        data.path().display().to_string(),
    );
    vars.insert("SANDBOX_USERS".to_string(), "50".to_string());
    vars.insert("SANDBOX_RATE_LIMIT".to_string(), "0".to_string());
    // The sandbox stands for Genesys, whose time is not the portal's: it keeps its state in
    // memory instead of rewriting its state file on every code and token it issues.
    vars.insert("SANDBOX_STATE".to_string(), "memory".to_string());
    let addr: SocketAddr = ([127, 0, 0, 1], 9).into();
    let config = config::from_vars(&vars, addr).expect("a valid configuration");
    let options = LeptosOptions::builder()
        .output_name("genesys-portal")
        .site_root("target/site")
        .site_addr(addr)
        .build();
    // Thousands of sign-ins a second from one address: the limiter is not what is measured.
    let unlimited = limits::Budget {
        burst: 1_000_000,
        per: Duration::from_millis(1),
    };
    let built = server::build_with_limits(
        &config,
        options,
        LoginLimiter::new(unlimited, unlimited, None),
    )
    .await
    .expect("the portal builds");
    Bench {
        router: built.router,
        origin: format!("http://{addr}"),
        browser: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
        _sandbox: built.sandbox.expect("the embedded sandbox"),
        _data: data,
    }
}

fn cookie_of(response: &axum::response::Response) -> String {
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

impl Bench {
    /// One sign-in; returns the time spent in the portal (login + callback).
    async fn sign_in(&self) -> Duration {
        let started = std::time::Instant::now();
        let login = self
            .router
            .clone()
            .oneshot(
                Request::post("/auth/login")
                    .header(header::ORIGIN, &self.origin)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("return_to=%2Fdashboard"))
                    .unwrap(),
            )
            .await
            .unwrap();
        let mut portal = started.elapsed();
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        let cookie = cookie_of(&login);
        let authorize = login.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_string();
        let callback = SignInScript::new(&self.browser)
            .run(&authorize)
            .await
            .expect("the sandbox signs the user in")
            .location()
            .to_string();
        let path = callback
            .strip_prefix(&self.origin)
            .expect("back to this site");
        let started = std::time::Instant::now();
        let done = self
            .router
            .clone()
            .oneshot(
                Request::get(path)
                    .header(header::COOKIE, cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        portal += started.elapsed();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(done.headers()[header::LOCATION], "/dashboard");
        portal
    }
}

fn sign_in(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bench = runtime.block_on(portal());
    let mut group = c.benchmark_group("sign_in");
    group.bench_function("login_and_callback", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let bench = &bench;
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += bench.sign_in().await;
                }
                total
            }
        })
    });
    group.finish();
}

criterion_group!(benches, sign_in);
criterion_main!(benches);
