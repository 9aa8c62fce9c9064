//! Several portals on one PostgreSQL: two replicas built in-process on their own loopback
//! ports, sharing a throwaway cluster (`common::postgres`), one sandbox standing in for the
//! Genesys org, and a round-robin proxy in front as a load balancer. A browser is bounced
//! between the replicas; the sandbox counts token requests and refresh-token reuses.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{body::Body, extract::State, http::Request, response::Response, Router};
use leptos::{prelude::LeptosOptions, server_fn::ServerFn};
use reqwest::{cookie::CookieStore, header, redirect::Policy, Client, StatusCode};
use server::{build, config};

mod common;
use common::{location, postgres::Postgres};

/// Every portal of this file runs on one runtime that outlives the tests (Leptos keeps
/// process-wide state), as in `sign_in.rs`.
fn server_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// One cluster for the file; each test gets its own database in it.
fn cluster() -> &'static Postgres {
    static PG: std::sync::OnceLock<Postgres> = std::sync::OnceLock::new();
    PG.get_or_init(Postgres::start)
}

struct Replicas {
    /// The proxy's origin: the site's public URL.
    base: String,
    /// Each replica's own origin.
    replicas: Vec<String>,
    sandbox: sandbox::RunningSandbox,
    jar: Arc<reqwest::cookie::Jar>,
    http: Client,
    dirs: Vec<std::path::PathBuf>,
    /// The replicas' own sandboxes, without a shared upstream (they stop when dropped).
    _embedded: Vec<sandbox::RunningSandbox>,
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn client(jar: Arc<reqwest::cookie::Jar>) -> Client {
    Client::builder()
        .cookie_provider(jar)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Forwards each request to the next backend in turn, saying which in `x-backend`.
#[derive(Clone)]
struct RoundRobin {
    backends: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    http: Client,
}

async fn forward(State(rr): State<RoundRobin>, request: Request<Body>) -> Response {
    let i = rr.next.fetch_add(1, Ordering::SeqCst) % rr.backends.len();
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut outbound = rr
        .http
        .request(parts.method, format!("{}{path}", rr.backends[i]));
    for (name, value) in &parts.headers {
        if name != header::HOST {
            outbound = outbound.header(name, value);
        }
    }
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let answer = outbound.body(body).send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        // Hop-by-hop: the body is forwarded whole, with its own length.
        if name != header::TRANSFER_ENCODING
            && name != header::CONNECTION
            && name != header::CONTENT_LENGTH
        {
            response = response.header(name, value);
        }
    }
    response = response.header("x-backend", i.to_string());
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

/// Two replicas on one fresh database behind a round-robin proxy, on one sandbox as their
/// Genesys org; `extra` goes to both.
async fn start(extra: &[(&str, &str)]) -> Replicas {
    start_on(extra, true).await
}

/// [`start`]; without `shared_upstream` each replica runs its own embedded sandbox (and is
/// reached at its own origin): what they share is the database alone.
async fn start_on(extra: &[(&str, &str)], shared_upstream: bool) -> Replicas {
    let name = format!("portal_{}", app::backend::ids::random_id());
    let database = cluster().database(&name).await;
    let key = app::backend::sealing::TokenKey::generate().to_base64();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (base, replicas, sandbox, dirs, embedded) = server_runtime()
        .spawn(async move {
            let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", proxy.local_addr().unwrap());
            let sandbox = common::sandbox_for(&base).await;
            let upstream = sandbox.base_url().to_string();
            let mut replicas = Vec::new();
            let mut dirs = Vec::new();
            let mut embedded = Vec::new();
            for n in 0..2 {
                let dir = std::env::temp_dir()
                    .join(format!("portal-replica-{}", app::backend::ids::random_id()));
                let mut vars: BTreeMap<String, String> = [
                    ("PORTAL_DATA_DIR", dir.display().to_string()),
                    ("PORTAL_DATABASE_URL", database.clone()),
                    ("PORTAL_TOKEN_KEY", key.clone()),
                    ("PORTAL_PUBLIC_URL", base.clone()),
                    ("PORTAL_REPLICA_ID", format!("replica-{n}")),
                    ("GENESYS_LOGIN_URL", upstream.clone()),
                    ("GENESYS_API_URL", upstream.clone()),
                    ("GENESYS_CLIENT_ID", sandbox::WEB_CLIENT_ID.to_string()),
                    (
                        "GENESYS_CLIENT_SECRET",
                        sandbox::WEB_CLIENT_SECRET.to_string(),
                    ),
                ]
                .into_iter()
                .filter(|(k, _)| {
                    shared_upstream || !(k.starts_with("GENESYS_") || *k == "PORTAL_PUBLIC_URL")
                })
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                vars.extend(extra.iter().cloned());
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr: SocketAddr = listener.local_addr().unwrap();
                let config = config::from_vars(&vars, addr).expect("valid replica configuration");
                let options = LeptosOptions::builder()
                    .output_name("genesys-portal")
                    .site_root("target/site")
                    .site_addr(addr)
                    .build();
                let mut built = build(&config, options).await.expect("replica builds");
                embedded.extend(built.sandbox.take());
                tokio::spawn(async move {
                    axum::serve(listener, built.router.into_make_service()).await
                });
                replicas.push(format!("http://{addr}"));
                dirs.push(dir);
            }
            let rr = RoundRobin {
                backends: Arc::new(replicas.clone()),
                next: Arc::default(),
                http: Client::builder().redirect(Policy::none()).build().unwrap(),
            };
            let app = Router::new().fallback(forward).with_state(rr);
            tokio::spawn(async move { axum::serve(proxy, app).await });
            (base, replicas, sandbox, dirs, embedded)
        })
        .await
        .unwrap();
    let jar = Arc::new(reqwest::cookie::Jar::default());
    Replicas {
        base,
        replicas,
        sandbox,
        http: client(jar.clone()),
        jar,
        dirs,
        _embedded: embedded,
    }
}

fn backend(r: &reqwest::Response) -> String {
    r.headers()["x-backend"].to_str().unwrap().to_string()
}

impl Replicas {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Starts a sign-in through the proxy and answers the sandbox's page: the callback URL.
    async fn begin(&self) -> (String, String) {
        let started = self
            .http
            .post(self.url("/auth/login"))
            .header(header::ORIGIN, &self.base)
            .form(&[("return_to", "/dashboard")])
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        let served = backend(&started);
        let callback = common::answer_sign_in(&self.http, &location(&started), "allow").await;
        (callback, served)
    }

    async fn dashboard(&self, http: &Client) -> (StatusCode, String, String) {
        let r = http.get(self.url("/dashboard")).send().await.unwrap();
        let served = backend(&r);
        (r.status(), served, r.text().await.unwrap())
    }

    fn cookie(&self) -> String {
        self.jar
            .cookies(&self.base.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_string())
            .expect("a session cookie")
    }

    /// Expires every token at the sandbox and sends twenty dashboards at once through the
    /// proxy (ten to each replica), every upstream answer taking 200 ms so that they overlap.
    async fn twenty_pages_after_expiry(&self) -> Vec<(StatusCode, String, String)> {
        self.sandbox.expire_tokens();
        self.sandbox.stats().reset();
        self.sandbox
            .faults()
            .set_latency(Duration::from_millis(200));
        let pages = futures::future::join_all((0..20).map(|_| self.dashboard(&self.http))).await;
        self.sandbox.faults().set_latency(Duration::ZERO);
        pages
    }
}

#[tokio::test]
async fn a_user_bounced_between_replicas_stays_signed_in_through_expiry_with_one_refresh() {
    let r = start(&[]).await;
    let (callback, login_served) = r.begin().await;
    let done = r.http.get(&callback).send().await.unwrap();
    assert_ne!(
        backend(&done),
        login_served,
        "the callback lands on the other replica"
    );
    assert_eq!(location(&done), "/dashboard");
    let mut served = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let (status, by, html) = r.dashboard(&r.http).await;
        assert_eq!(status, StatusCode::OK, "{html:.400}");
        assert!(html.contains("data-testid=\"profile-name\""));
        served.insert(by);
    }
    assert_eq!(served.len(), 2, "both replicas served the signed-in page");

    let pages = r.twenty_pages_after_expiry().await;
    let stats = r.sandbox.stats();
    for (status, by, html) in &pages {
        assert_eq!(*status, StatusCode::OK, "replica {by}: {html:.300}");
    }
    let by: std::collections::BTreeSet<_> = pages.iter().map(|p| p.1.clone()).collect();
    assert_eq!(by.len(), 2, "the twenty were split over both replicas");
    assert_eq!(
        stats.token_requests(sandbox::Grant::RefreshToken),
        1,
        "one refresh for the whole cluster"
    );
    assert_eq!(stats.refresh_token_reuses(), 0);
    let (status, _, _) = r.dashboard(&r.http).await;
    assert_eq!(status, StatusCode::OK, "still signed in afterwards");
}

/// The control run: with only each replica's own lock, the two replicas refresh the same
/// grant at once, the sandbox sees the rotated-away refresh token again and revokes the grant.
/// This is what the row lock prevents (and what shows the test above can fail).
#[tokio::test]
async fn without_the_row_lock_two_replicas_race_and_the_grant_is_revoked() {
    let r = start(&[("PORTAL_REFRESH_LOCK", "process")]).await;
    let (callback, _) = r.begin().await;
    let done = r.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&done), "/dashboard");
    let pages = r.twenty_pages_after_expiry().await;
    let stats = r.sandbox.stats();
    assert!(
        stats.token_requests(sandbox::Grant::RefreshToken) >= 2,
        "each replica refreshed"
    );
    assert!(
        stats.refresh_token_reuses() >= 1,
        "a refresh token was reused"
    );
    assert!(
        pages.iter().any(|p| p.0 != StatusCode::OK),
        "the revoked grant signed the user out"
    );
}

#[tokio::test]
async fn the_same_callback_sent_to_both_replicas_at_once_redeems_once() {
    let r = start(&[]).await;
    let (callback, _) = r.begin().await;
    let cookie = r.cookie();
    let path = callback.strip_prefix(&r.base).unwrap().to_string();
    let answers = futures::future::join_all(r.replicas.iter().map(|replica| {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        jar.add_cookie_str(&cookie, &r.base.parse().unwrap());
        let http = client(jar.clone());
        let url = format!("{replica}{path}");
        async move {
            let answer = http.get(url).send().await.unwrap();
            (location(&answer), jar)
        }
    }))
    .await;
    let stats = r.sandbox.stats();
    assert_eq!(
        stats.token_requests(sandbox::Grant::AuthorizationCode),
        1,
        "{answers:?}",
        answers = answers.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
    let signed_in: Vec<_> = answers.iter().filter(|a| a.0 == "/dashboard").collect();
    assert_eq!(
        signed_in.len(),
        1,
        "{:?}",
        answers.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
    let other = answers.iter().find(|a| a.0 != "/dashboard").unwrap();
    assert!(other.0.starts_with("/auth/failed?reason="), "{}", other.0);
    let (status, _, html) = r.dashboard(&client(signed_in[0].1.clone())).await;
    assert_eq!(status, StatusCode::OK, "{html:.300}");
    assert_eq!(stats.refresh_token_reuses(), 0);
}

impl Replicas {
    /// A server function called on replica `n` directly, as the page's JavaScript would.
    async fn call_on(&self, n: usize, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let url = format!("{}{path}", self.replicas[n]);
        common::call_server_fn(&self.http, &url, &self.base, form).await
    }

    async fn start_export_on(&self, n: usize) -> String {
        let r = self
            .call_on(
                n,
                app::api::StartExport::PATH,
                &[("state", "active"), ("sort", "ascending")],
            )
            .await;
        assert!(r.status().is_success(), "{}", r.status());
        r.json().await.unwrap()
    }

    async fn export_progress_on(&self, n: usize, id: &str) -> serde_json::Value {
        let r = self
            .call_on(n, app::api::GetExportProgress::PATH, &[("id", id)])
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// Replica `n`'s view of the export until it ends (at most 10 s).
    async fn export_end_on(&self, n: usize, id: &str) -> serde_json::Value {
        for _ in 0..200 {
            let progress = self.export_progress_on(n, id).await;
            if progress["status"] != "Running" {
                return progress;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the export did not end");
    }
}

/// Exports live in the store: one started on a replica is followed and cancelled through the
/// other, and a finished one downloads from either, the same file.
#[tokio::test]
async fn an_export_started_on_one_replica_is_followed_cancelled_and_downloaded_on_the_other() {
    let r = start(&[]).await;
    let (callback, _) = r.begin().await;
    let done = r.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&done), "/dashboard");

    // Slow pages: the export is still running when the other replica looks.
    r.sandbox.faults().set_latency(Duration::from_millis(5_000));
    let id = r.start_export_on(0).await;
    let seen = r.export_progress_on(1, &id).await;
    assert_eq!(seen["status"], "Running", "{seen}");
    // One running export per user, whichever replica is asked.
    let again = r
        .call_on(
            1,
            app::api::StartExport::PATH,
            &[("state", "active"), ("sort", "ascending")],
        )
        .await;
    assert!(!again.status().is_success());
    let refusal = again.text().await.unwrap();
    assert!(refusal.contains("still running"), "{refusal}");
    let cancelled = r
        .call_on(1, app::api::CancelExport::PATH, &[("id", &id)])
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let end = r.export_end_on(0, &id).await;
    assert_eq!(end["status"], "Cancelled", "{end}");
    assert!(
        end["elapsed_ms"].as_u64().unwrap() < 5_000,
        "stopped before its page came: {end}"
    );
    let unfinished = r
        .http
        .get(format!("{}/export/{id}/users.csv", r.replicas[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(unfinished.status(), StatusCode::BAD_REQUEST);

    r.sandbox.faults().set_latency(Duration::ZERO);
    let id = r.start_export_on(1).await;
    let end = r.export_end_on(0, &id).await;
    assert_eq!(end["status"], "Done", "{end}");
    let mut files = Vec::new();
    for replica in &r.replicas {
        let file = r
            .http
            .get(format!("{replica}/export/{id}/users.csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        files.push(file.text().await.unwrap());
    }
    assert_eq!(files[0], files[1]);
    let lines = files[0].lines().count() as u64;
    assert!(files[0].starts_with("id,name,"), "{:.200}", files[0]);
    assert_eq!(
        lines,
        end["users"].as_u64().unwrap() + 1,
        "a header and a row each"
    );
    assert!(lines > 10);
}

/// The guest provider's signing keys are the database's: both replicas publish the same JWKS
/// (an ID token one signs verifies against the other's), and a key rotated on one is in the
/// other's JWKS before it signs anything.
#[tokio::test]
async fn a_guest_signing_key_rotated_on_one_replica_is_published_by_both_before_it_signs() {
    // Each replica on its own embedded sandbox, where every signed-in user is an admin.
    let r = start_on(&[], false).await;
    let jwks_kids = |n: usize| {
        let url = format!("{}/guest-idp/jwks", r.replicas[n]);
        let http = r.http.clone();
        async move {
            let jwks: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let before = jwks_kids(0).await;
    assert_eq!(before.len(), 1);
    assert_eq!(jwks_kids(1).await, before, "one key for both replicas");

    let admin = client(Arc::new(reqwest::cookie::Jar::default()));
    let origin = &r.replicas[0];
    common::sign_in(&admin, origin, "/").await;
    let call = |path: &'static str| {
        let url = format!("{origin}{path}");
        let admin = &admin;
        async move { common::call_server_fn(admin, &url, origin, &[]).await }
    };
    let rotated = call(app::api::RotateGuestSigningKey::PATH).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let new: String = rotated.json().await.unwrap();
    let signing: String = call(app::api::GetGuestSigningKey::PATH)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(signing, before[0], "the new key does not sign yet");
    let mut seen = Vec::new();
    for _ in 0..40 {
        seen = jwks_kids(1).await;
        if seen.contains(&new) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen,
        vec![new.clone(), before[0].clone()],
        "the other replica publishes it"
    );
}

/// A framed (Client App) sign-in whose every step lands on another replica than the one
/// before: the frame's entry on one, the popup on the other, the callback back on the first,
/// the code shown by the second and exchanged on the first.
#[tokio::test]
async fn a_framed_sign_in_may_cross_replicas_at_every_step() {
    const HOST: &str = "http://127.0.0.2:4100";
    let r = start(&[("PORTAL_EMBED", "true"), ("PORTAL_EMBED_ORIGINS", HOST)]).await;
    let attribute = |html: &str, name: &str| {
        let start = html.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        html[start..start + html[start..].find('"').unwrap()].to_string()
    };
    let on = |n: usize, path: &str| format!("{}{path}", r.replicas[n]);
    let entry = r
        .http
        .get(on(
            0,
            &format!("/embed?gcHostOrigin={HOST}&gcTargetEnv=local&gcLangTag=en-GB"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(entry.status(), StatusCode::OK);
    let html = entry.text().await.unwrap();
    let frame = attribute(&html, "data-frame-id");
    let secret = attribute(&html, "data-frame-secret");
    let started = r
        .http
        .post(on(1, "/embed/popup"))
        .header(header::ORIGIN, &r.base)
        .form(&[("frame", frame.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        started.status(),
        StatusCode::SEE_OTHER,
        "the other replica knows the frame"
    );
    let callback = common::answer_sign_in(&r.http, &location(&started), "allow").await;
    let callback = callback.replace(&r.base, &r.replicas[0]);
    let done = r.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&done), "/embed/done");
    let handed = r.http.get(on(1, "/embed/done")).send().await.unwrap();
    let code = attribute(&handed.text().await.unwrap(), "data-code");
    let frame_client = Client::builder().redirect(Policy::none()).build().unwrap();
    let exchange = || {
        frame_client
            .post(on(0, "/embed/exchange"))
            .header(header::ORIGIN, &r.base)
            .form(&[("code", &code), ("frame", &frame), ("secret", &secret)])
            .send()
    };
    let ok = exchange().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["next"], "/dashboard");
    assert_eq!(
        exchange().await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "once"
    );
}

/// Signed-in browsers that load the dashboard through the proxy without a pause until `stop`,
/// each answer's status (and whether it set a cookie) recorded with the phase it came in.
fn keep_loading(
    browsers: &[Client],
    base: &str,
    phase: &Arc<AtomicUsize>,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<(usize, StatusCode, bool)>>> {
    browsers
        .iter()
        .map(|http| {
            let (http, url) = (http.clone(), format!("{base}/dashboard"));
            let (phase, stop) = (phase.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let at = phase.load(Ordering::SeqCst);
                    let answer = http.get(&url).send().await.unwrap();
                    let cookie = answer.headers().contains_key(header::SET_COOKIE);
                    seen.push((at, answer.status(), cookie));
                    let _ = answer.bytes().await;
                }
                seen
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_down_answers_503_and_keeps_every_session_for_when_it_returns() {
    // Its own cluster: stopping the shared one would take the other tests' database away.
    let pg = Arc::new(Postgres::start());
    let database = pg.database("portal").await;
    let r = start(&[
        ("PORTAL_DATABASE_URL", &database),
        ("PORTAL_METRICS_TOKEN", "metrics-token-0123456789"),
    ])
    .await;
    let (callback, _) = r.begin().await;
    let done = r.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&done), "/dashboard");
    let cookie = r.cookie();

    // Under load: three more signed-in browsers keep loading pages through it all.
    let mut browsers = Vec::new();
    for _ in 0..3 {
        let http = client(Arc::new(reqwest::cookie::Jar::default()));
        assert_eq!(
            common::sign_in(&http, &r.base, "/dashboard").await,
            "/dashboard"
        );
        browsers.push(http);
    }
    let (phase, stop) = (Arc::new(AtomicUsize::new(0)), Arc::default());
    let load = keep_loading(&browsers, &r.base, &phase, &stop);
    tokio::time::sleep(Duration::from_millis(300)).await;
    phase.store(1, Ordering::SeqCst);
    let stopping = pg.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    phase.store(2, Ordering::SeqCst);
    for _ in 0..4 {
        let started = std::time::Instant::now();
        let answer = r.http.get(r.url("/dashboard")).send().await.unwrap();
        let waited = started.elapsed();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            waited < Duration::from_millis(2500),
            "answered in {waited:?}"
        );
        assert!(
            answer.headers().get(header::RETRY_AFTER).is_some(),
            "{:?}",
            answer.headers()
        );
        assert!(
            answer.headers().get(header::SET_COOKIE).is_none(),
            "no cookie is cleared or replaced"
        );
        let html = answer.text().await.unwrap();
        assert!(
            html.contains("data-kind=\"store-unavailable\""),
            "{html:.600}"
        );
        assert!(html.contains("still signed in"), "{html:.600}");
    }
    let metrics = Client::new()
        .get(format!("{}/metrics", r.replicas[0]))
        .bearer_auth("metrics-token-0123456789")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("portal_session_store_up 0"),
        "{metrics:.3000}"
    );

    // The store is every replica's: none leaves the load balancer over it.
    for replica in &r.replicas {
        let ready = Client::new()
            .get(format!("{replica}/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    phase.store(3, Ordering::SeqCst);
    let starting = pg.clone();
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap();
    // The breaker lets requests through again within its two seconds.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    phase.store(4, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for task in load {
        answers.push(task.await.unwrap());
    }
    for (n, seen) in answers.iter().enumerate() {
        // Pages or "try again shortly", nothing else (no 500, no sign-in page), and no
        // cookie touched by a "try again".
        for (at, status, cookie) in seen {
            assert!(
                *status == StatusCode::OK || *status == StatusCode::SERVICE_UNAVAILABLE,
                "browser {n}, phase {at}: {status}"
            );
            assert!(
                !(*cookie && *status == StatusCode::SERVICE_UNAVAILABLE),
                "browser {n}, phase {at}: a 503 set a cookie"
            );
        }
        let down = seen
            .iter()
            .filter(|(at, s, _)| *at == 2 && *s == StatusCode::SERVICE_UNAVAILABLE);
        assert!(down.count() > 0, "browser {n} saw the store down: {seen:?}");
        assert!(
            seen.iter()
                .any(|(at, s, _)| *at == 4 && *s == StatusCode::OK),
            "browser {n} was served again: {seen:?}"
        );
    }
    assert_eq!(r.cookie(), cookie);
    for http in std::iter::once(&r.http).chain(&browsers) {
        let (status, _, html) = r.dashboard(http).await;
        assert_eq!(status, StatusCode::OK, "{html:.300}");
        assert!(
            html.contains("data-testid=\"profile-name\""),
            "still signed in"
        );
    }
}

#[tokio::test]
async fn rotate_now_on_one_replica_rotates_the_service_token_of_every_replica() {
    // Each replica on its own embedded sandbox (whose service identity it uses, and where every
    // signed-in user may open the service page): the signal goes through the database alone.
    let r = start_on(&[], false).await;
    let mut clients = Vec::new();
    for replica in &r.replicas {
        let http = client(Arc::new(reqwest::cookie::Jar::default()));
        common::sign_in(&http, replica, "/admin/service").await;
        clients.push(http);
    }
    // Each replica's page names it, with its own token generation.
    let generation = |html: &str| -> (String, String) {
        let grab = |testid: &str| {
            let at = html.find(&format!("data-testid=\"{testid}\"")).unwrap();
            let rest = &html[at..];
            let start = rest.find('>').unwrap() + 1;
            let end = rest[start..].find('<').unwrap();
            rest[start..start + end].to_string()
        };
        (grab("replica"), grab("generation"))
    };
    let page = |replica: usize| {
        let http = clients[replica].clone();
        let url = format!("{}/admin/service", r.replicas[replica]);
        async move {
            let answer = http.get(url).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::OK);
            answer.text().await.unwrap()
        }
    };
    let before: Vec<_> = futures::future::join_all((0..2).map(page)).await;
    let before: Vec<_> = before.iter().map(|h| generation(h)).collect();
    assert_eq!(before[0].0, "replica-0");
    assert_eq!(before[1].0, "replica-1");
    // Rotate on replica 0, as the page's form does (server function URLs carry a hash).
    let html = page(0).await;
    let action = html
        .split("action=\"")
        .map(|rest| rest.split('"').next().unwrap())
        .find(|a| a.starts_with("/api/rotate_service_live"))
        .expect("the rotate form posts to its server function")
        .to_string();
    let rotated = clients[0]
        .post(format!("{}{action}", r.replicas[0]))
        .header(header::ORIGIN, &r.replicas[0])
        .header(header::ACCEPT, "application/json")
        .form(&[("", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        rotated.status(),
        StatusCode::OK,
        "{}",
        rotated.text().await.unwrap()
    );
    // The form answers the server's rendering of the panel, the rotation's line in it.
    let body: String = rotated.json().await.unwrap();
    assert!(
        body.contains("Every other replica rotates its own token within seconds."),
        "{body}"
    );
    // Replica 1 follows within its polling interval.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let after: Vec<_> = futures::future::join_all((0..2).map(page)).await;
        let after: Vec<_> = after.iter().map(|h| generation(h)).collect();
        if after[0].1 != before[0].1 && after[1].1 != before[1].1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "before {before:?}, after {after:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
