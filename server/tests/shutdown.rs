//! SIGTERM against the real binary: in-flight requests are drained (they finish, the process
//! exits 0), and a request that would outlast the grace period does not keep the process up
//! (it exits 1 when the grace period ends, saying what was still running).

use std::time::{Duration, Instant};

use reqwest::{redirect::Policy, Client, StatusCode};

mod common;
use common::{free_port, wait_until_up, PortalProcess};

struct Setup {
    portal: PortalProcess,
    http: Client,
    base: String,
    sandbox: String,
    data_dir: std::path::PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

async fn signed_in_portal(name: &str, grace_secs: &str) -> Setup {
    let data_dir = std::env::temp_dir().join(format!("portal-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let (port, sandbox_port) = (free_port(), free_port());
    let sandbox_port_text = sandbox_port.to_string();
    let mut portal = PortalProcess::start(
        port,
        &data_dir,
        0,
        &[
            ("PORTAL_SHUTDOWN_GRACE_SECS", grace_secs),
            ("SANDBOX_PORT", &sandbox_port_text),
        ],
    );
    let http = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    wait_until_up(&http, port, &mut portal).await;
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        common::sign_in(&http, &base, "/dashboard").await,
        "/dashboard"
    );
    Setup {
        portal,
        http,
        base,
        sandbox: format!("http://127.0.0.1:{sandbox_port}"),
        data_dir,
    }
}

/// Every answer of the sandbox's API takes `ms` from now on.
async fn slow_upstream(s: &Setup, ms: u64) {
    let r = Client::new()
        .put(format!("{}/sandbox/faults", s.sandbox))
        .header(sandbox::ADMIN_HEADER, "1")
        .json(&serde_json::json!({ "latencyMs": ms }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// Waits until the portal counts `n` requests in flight (the metrics request itself excluded).
async fn until_in_flight(s: &Setup, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = s
            .http
            .get(format!("{}/metrics", s.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let count = metrics
            .lines()
            .find_map(|l| l.strip_prefix("portal_requests_in_flight "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .expect("the in-flight gauge");
        if count > n {
            return;
        }
        assert!(Instant::now() < deadline, "the slow request never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts `GET /dashboard` (slow, with the latency set above), waits until the portal is
/// serving it, then sends SIGTERM; returns how the process ended and the request's answer.
async fn stop_during_a_request(
    mut s: Setup,
) -> (
    Result<std::process::ExitStatus, String>,
    Setup,
    reqwest::Result<reqwest::Response>,
) {
    let slow = tokio::spawn({
        let (http, url) = (s.http.clone(), format!("{}/dashboard", s.base));
        async move { http.get(url).send().await }
    });
    until_in_flight(&s, 1).await;
    let (status, s) = tokio::task::spawn_blocking(move || (s.portal.terminate(), s))
        .await
        .unwrap();
    (status, s, slow.await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish_and_then_exits_cleanly() {
    let mut s = signed_in_portal("drain", "10").await;
    slow_upstream(&s, 1_500).await;
    let slow = tokio::spawn({
        let (http, url) = (s.http.clone(), format!("{}/dashboard", s.base));
        async move { http.get(url).send().await }
    });
    until_in_flight(&s, 1).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = s.portal.terminate();
        (status, s)
    })
    .await
    .unwrap();
    let (status, s) = status;
    let status = status.expect("exits after draining");
    let answer = slow
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer
        .text()
        .await
        .unwrap()
        .contains("data-testid=\"profile-name\""));
    assert!(status.success(), "{status}\n{}", s.portal.log());
    assert!(!s.portal.log().contains("exiting anyway"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_outlasts_the_grace_period_does_not_keep_the_process_up() {
    let s = signed_in_portal("stuck", "1").await;
    // Longer than the grace period, shorter than the portal's own upstream timeout.
    slow_upstream(&s, 15_000).await;
    let (status, s, answer) = stop_during_a_request(s).await;
    let status = status.expect("exits within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(1), "{}", s.portal.log());
    let log = s.portal.log();
    let line = log
        .lines()
        .find(|l| l.contains("exiting anyway"))
        .unwrap_or_else(|| panic!("says why it stopped waiting:\n{log}"));
    assert!(line.contains("requests=1"), "{line}");
    assert!(answer.is_err(), "the connection was closed");
}
