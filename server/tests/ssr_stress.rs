//! Server-side rendering under load, against the real binary: cycles of start → load → SIGTERM.
//! The load is a few concurrent clients sharing one signed-in session on the pages that suspend
//! (`/`, `/dashboard`, `/users`, `/admin/service`), a third of them cut mid-response. A cycle
//! fails on any panic in the portal's log, on an answer other than the page or its error page,
//! and on a process that does not exit within 5 s of SIGTERM.
//!
//! The short run is part of the test command; `scripts/ssr-stress.sh` runs the long one
//! (`SSR_STRESS_CYCLES`, `SSR_STRESS_LOAD_MS`, `SSR_STRESS_CLIENTS` set the size). Loopback only,
//! bounded in cycles and time.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use reqwest::{redirect::Policy, Client, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::{free_port, wait_until_up, PortalProcess};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator, so a failing run can be replayed with its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PAGES: &[&str] = &[
    "/users",
    "/users?q=smith",
    "/users?page=3&size=100&sort=descending",
    "/users?state=any&q=a",
    "/dashboard",
    "/",
    "/admin/service",
    "/users/not-a-user",
    "/no-such-page",
];

#[derive(Default)]
struct Counts {
    complete: AtomicU64,
    cut: AtomicU64,
}

/// One request written by hand and abandoned after `keep` bytes of the answer (0: before any).
async fn cut_short(port: u16, path: &str, cookie: &str, keep: usize) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return;
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nAccept: text/html\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = vec![0u8; keep.max(1)];
    if keep > 0 {
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
    } else {
        tokio::task::yield_now().await;
    }
    // Dropping the stream closes the connection while the portal may still be rendering.
}

async fn load(
    port: u16,
    http: Client,
    cookie: String,
    seed: u64,
    until: Instant,
    counts: Arc<Counts>,
    cut_percent: u64,
) -> Result<(), String> {
    let mut rng = Rng(seed | 1);
    let base = format!("http://127.0.0.1:{port}");
    while Instant::now() < until {
        let path = PAGES[rng.below(PAGES.len() as u64) as usize];
        if rng.below(100) < cut_percent {
            let keep = [0, 0, 1, 64, 4096][rng.below(5) as usize];
            cut_short(port, path, &cookie, keep).await;
            counts.cut.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let r = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = r.status();
        let body = r.text().await.map_err(|e| format!("GET {path}: {e}"))?;
        let expected = match path {
            "/users/not-a-user" | "/no-such-page" => status == StatusCode::NOT_FOUND,
            _ => status == StatusCode::OK,
        };
        if !expected || !body.contains("</html>") {
            return Err(format!(
                "GET {path} answered {status}: {}",
                body.chars().take(400).collect::<String>()
            ));
        }
        counts.complete.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Every line from the first that mentions a panic (with its backtrace, when one was asked for).
fn panic_lines(log: &str) -> Vec<&str> {
    log.lines()
        .skip_while(|l| !l.contains("panic"))
        .take(200)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendering_under_load_with_cut_connections_never_panics_and_sigterm_always_exits() {
    let cycles = setting("SSR_STRESS_CYCLES", 20);
    let load_ms = setting("SSR_STRESS_LOAD_MS", 2000);
    let clients = setting("SSR_STRESS_CLIENTS", 6);
    let seed = setting("SSR_STRESS_SEED", 0x5eed);
    let cut_percent = setting("SSR_STRESS_CUT_PERCENT", 33);
    let data_dir = std::env::temp_dir().join(format!("portal-stress-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let port = free_port();
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let counts = Arc::new(Counts::default());
    let mut failures = Vec::new();

    for cycle in 0..cycles {
        let mut portal = PortalProcess::start(
            port,
            &data_dir,
            cycle,
            &[("PORTAL_SHUTDOWN_GRACE_SECS", "3")],
        );
        wait_until_up(&http, port, &mut portal).await;
        // Sign in once; the session and its tokens outlive restarts (both are stored).
        let dashboard = http.get(format!("{base}/dashboard")).send().await.unwrap();
        if dashboard.status() != StatusCode::OK {
            assert_eq!(
                common::sign_in(&http, &base, "/dashboard").await,
                "/dashboard"
            );
        }
        let cookie = {
            use reqwest::cookie::CookieStore;
            jar.cookies(&base.parse().unwrap())
                .map(|v| v.to_str().unwrap().to_string())
                .expect("a session cookie")
        };

        let until = Instant::now() + Duration::from_millis(load_ms);
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                tokio::spawn(load(
                    port,
                    http.clone(),
                    cookie.clone(),
                    seed.wrapping_mul(cycle + 1).wrapping_add(c * 7919),
                    until,
                    counts.clone(),
                    cut_percent,
                ))
            })
            .collect();
        for t in tasks {
            if let Err(e) = t.await.unwrap() {
                failures.push(format!("cycle {cycle}: {e}"));
            }
        }
        // Stop while connections are still being cut.
        let cut = |path: &'static str| {
            let cookie = cookie.clone();
            tokio::spawn(async move { cut_short(port, path, &cookie, 0).await })
        };
        let (cut_a, cut_b) = (cut("/users?q=smith"), cut("/dashboard"));
        let stopped = tokio::task::spawn_blocking(move || {
            let result = portal.terminate();
            (result, portal.log())
        })
        .await
        .unwrap();
        let _ = (cut_a.await, cut_b.await);
        match stopped {
            (Err(e), log) => failures.push(format!("cycle {cycle}: {e}\n{log}")),
            (Ok(status), log) => {
                if !status.success() {
                    failures.push(format!("cycle {cycle}: exit status {status} after SIGTERM"));
                }
                let panics = panic_lines(&log);
                if !panics.is_empty() {
                    failures.push(format!("cycle {cycle}: {}", panics.join("\n")));
                }
                if let Some(stuck) = log
                    .lines()
                    .find(|l| l.contains("exiting anyway") || l.contains("still running"))
                {
                    failures.push(format!("cycle {cycle}: work left at shutdown: {stuck}"));
                }
            }
        }
        if !failures.is_empty() {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    let (complete, cut) = (
        counts.complete.load(Ordering::Relaxed),
        counts.cut.load(Ordering::Relaxed),
    );
    eprintln!("{cycles} cycles: {complete} complete requests, {cut} cut short");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        complete > cycles,
        "the load made too few requests to prove anything"
    );
    assert!(cut > 0 || cut_percent == 0);
}
