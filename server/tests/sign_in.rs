//! The sign-in rules of the Backend-for-Frontend, from the outside: a portal built in-process
//! on a random loopback port with its embedded sandbox, driven by an HTTP client with a cookie
//! jar and redirects off, so every hop is checked.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, sync::Arc};

use leptos::prelude::LeptosOptions;
use reqwest::{cookie::CookieStore, header, redirect::Policy, Client, StatusCode};
use server::{build, config};

mod common;
use common::location;

struct TestPortal {
    base: String,
    data_dir: PathBuf,
    jar: Arc<reqwest::cookie::Jar>,
    http: Client,
    sandbox: sandbox::RunningSandbox,
}

impl Drop for TestPortal {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn client(jar: Arc<reqwest::cookie::Jar>) -> Client {
    Client::builder()
        .cookie_provider(jar)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Every portal of this file runs on one multi-threaded runtime that lives as long as the
/// process, as in production; each test's own runtime only drives its HTTP client. (Leptos
/// keeps process-wide state, so portals must not live on runtimes that end with their test.)
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

async fn start(extra: &[(&str, &str)]) -> TestPortal {
    let data_dir =
        std::env::temp_dir().join(format!("portal-test-{}", app::backend::ids::random_id()));
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("PORTAL_DATA_DIR".into(), data_dir.display().to_string());
    vars.insert("SANDBOX_USERS".into(), "200".into());
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let (addr, sandbox) = server_runtime()
        .spawn(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            let config = config::from_vars(&vars, addr).expect("valid test configuration");
            let options = LeptosOptions::builder()
                .output_name("genesys-portal")
                .site_root("target/site")
                .site_addr(addr)
                .build();
            let built = build(&config, options).await.expect("portal builds");
            tokio::spawn(
                async move { axum::serve(listener, built.router.into_make_service()).await },
            );
            (
                addr,
                built
                    .sandbox
                    .expect("the sandbox runs when no org is configured"),
            )
        })
        .await
        .unwrap();
    let jar = Arc::new(reqwest::cookie::Jar::default());
    TestPortal {
        base: format!("http://{addr}"),
        data_dir,
        http: client(jar.clone()),
        jar,
        sandbox,
    }
}

impl TestPortal {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn session_cookie(&self) -> Option<String> {
        self.jar
            .cookies(&self.base.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// POST /auth/login as this site's page would; returns the authorize URL.
    async fn begin(&self, return_to: &str) -> reqwest::Response {
        self.http
            .post(self.url("/auth/login"))
            .header(header::ORIGIN, &self.base)
            .form(&[("return_to", return_to)])
            .send()
            .await
            .unwrap()
    }

    /// Answers the sandbox's sign-in page; returns the callback URL it redirects to.
    async fn answer(&self, authorize_url: &str, decision: &str) -> String {
        common::answer_sign_in(&self.http, authorize_url, decision).await
    }

    /// The whole sign-in; returns the callback URL used and where the portal sent the browser.
    async fn sign_in(&self, return_to: &str) -> (String, String) {
        let started = self.begin(return_to).await;
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        let callback = self.answer(&location(&started), "allow").await;
        let done = self.http.get(&callback).send().await.unwrap();
        assert_eq!(
            done.status(),
            StatusCode::SEE_OTHER,
            "{}",
            done.text().await.unwrap_or_default()
        );
        assert_eq!(
            done.headers().get(header::REFERRER_POLICY).unwrap(),
            "no-referrer"
        );
        (callback, location(&done))
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn failure_page(&self) -> String {
        let (status, html) = self.get("/auth/failed").await;
        assert!(status.is_client_error(), "{status}");
        html
    }

    /// The portal's own database (sessions, grants, guests), opened beside the server.
    async fn db(&self) -> sqlx::SqlitePool {
        sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            self.data_dir.join("portal.db").display()
        ))
        .await
        .unwrap()
    }

    /// Rows in one of the portal's tables.
    async fn rows(&self, table: &str) -> i64 {
        let n: (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.db().await)
            .await
            .unwrap();
        n.0
    }

    async fn grant_count(&self) -> i64 {
        self.rows("grants").await
    }
}

#[tokio::test]
async fn sign_in_reaches_the_dashboard_and_the_authorize_request_is_pkce() {
    let p = start(&[]).await;
    let started = p.begin("/dashboard").await;
    let authorize = reqwest::Url::parse(&location(&started)).unwrap();
    let q: BTreeMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "portal-web");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 22, "state carries at least 128 bits");
    assert_eq!(q["redirect_uri"], p.url("/auth/callback"));
    let callback = p.answer(authorize.as_str(), "allow").await;
    let done = p.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&done), "/dashboard");
    let (status, html) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"profile-name\""));
    assert_eq!(p.grant_count().await, 1);
}

#[tokio::test]
async fn the_session_cookie_is_httponly_lax_host_only_and_renewed_at_sign_in() {
    let p = start(&[]).await;
    let started = p.begin("/dashboard").await;
    let set_cookie = started
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.starts_with("portal-session="), "{set_cookie}");
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && set_cookie.contains("Path=/")
    );
    assert!(!set_cookie.to_ascii_lowercase().contains("domain="));
    let before = p.session_cookie().unwrap();
    let callback = p.answer(&location(&started), "allow").await;
    p.http.get(&callback).send().await.unwrap();
    let after = p.session_cookie().unwrap();
    assert_ne!(before, after, "sign-in issues a new session id");
    // At least 128 random bits: 22 or more URL-safe base64 characters.
    let id = after.strip_prefix("portal-session=").unwrap();
    assert!(id.len() >= 22, "{id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{id}"
    );

    // The pre-login cookie is worth nothing now (no fixation).
    let old = client(Arc::new(reqwest::cookie::Jar::default()));
    let r = old
        .get(p.url("/dashboard"))
        .header(header::COOKIE, before)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_https_site_gets_a_secure_host_prefixed_cookie() {
    let p = start(&[("PORTAL_PUBLIC_URL", "https://portal.example.com")]).await;
    let r = p
        .http
        .post(p.url("/auth/login"))
        .header(header::ORIGIN, "https://portal.example.com")
        .form(&[("return_to", "/")])
        .send()
        .await
        .unwrap();
    let set_cookie = r
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        set_cookie.starts_with("__Host-portal-session="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("Secure"));
    let hsts = p.http.get(p.url("/")).send().await.unwrap();
    assert!(hsts
        .headers()
        .contains_key(header::STRICT_TRANSPORT_SECURITY));
}

#[tokio::test]
async fn a_state_is_good_for_one_use_only() {
    let p = start(&[]).await;
    let (callback, _) = p.sign_in("/dashboard").await;
    let replay = p.http.get(&callback).send().await.unwrap();
    // The replay redeems nothing, and says the sign-in it answers was completed already.
    assert_eq!(location(&replay), "/auth/failed?reason=completed");
    assert_eq!(
        p.sandbox
            .stats()
            .token_requests(sandbox::Grant::AuthorizationCode),
        1
    );
    let (status, _) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK, "the completed sign-in stands");
    let (_, html) = p.get("/auth/failed?reason=completed").await;
    assert!(html.contains("Sign-in already completed"), "{html:.400}");
}

#[tokio::test]
async fn unknown_repeated_or_foreign_issuer_states_are_refused() {
    let p = start(&[]).await;
    let started = p.begin("/dashboard").await;
    let callback = p.answer(&location(&started), "allow").await;
    let url = reqwest::Url::parse(&callback).unwrap();
    let state: String = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let code: String = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    for bad in [
        format!("/auth/callback?code={code}&state={state}x"),
        format!("/auth/callback?code={code}&state={state}&state={state}"),
        format!("/auth/callback?code={code}"),
        format!("/auth/callback?code={code}&state={state}&iss=https%3A%2F%2Flogin.mypurecloud.ie"),
        "/auth/callback?error=access_denied&error_description=%3Cb%3Eforged%3C%2Fb%3E&state=nope"
            .to_string(),
    ] {
        let r = p.http.get(p.url(&bad)).send().await.unwrap();
        assert_eq!(location(&r), "/auth/failed", "{bad}");
        let html = p.failure_page().await;
        assert!(html.contains("data-kind=\"forged-callback\""), "{bad}");
        assert!(
            !html.contains("<b>forged") && !html.contains("&lt;b&gt;forged"),
            "an unknown state's description is ignored"
        );
    }
    // A mix-up attempt consumed the state: the genuine callback is refused afterwards too.
    let r = p.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&r), "/auth/failed");
    assert_eq!(p.grant_count().await, 0);
}

#[tokio::test]
async fn deny_becomes_a_friendly_page() {
    let p = start(&[]).await;
    let started = p.begin("/dashboard").await;
    let callback = p.answer(&location(&started), "deny").await;
    assert!(callback.contains("error=access_denied"));
    let r = p.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&r), "/auth/failed");
    let (status, html) = p.get("/auth/failed").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("data-kind=\"access-denied\""));
}

#[tokio::test]
async fn a_sign_in_that_took_too_long_is_refused() {
    let p = start(&[("PORTAL_SIGN_IN_TIMEOUT_SECS", "0")]).await;
    let started = p.begin("/dashboard").await;
    let callback = p.answer(&location(&started), "allow").await;
    let r = p.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&r), "/auth/failed");
    assert!(p.failure_page().await.contains("took too long"));
    assert_eq!(p.grant_count().await, 0);
}

#[tokio::test]
async fn return_paths_stay_on_this_site() {
    let p = start(&[]).await;
    let (_, to) = p.sign_in("/users?page=2&size=50").await;
    assert_eq!(to, "/users?page=2&size=50");
    for evil in [
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example",
        "/%2F%2Fevil.example",
    ] {
        let (_, to) = p.sign_in(evil).await;
        assert_eq!(to, "/dashboard", "{evil}");
    }
}

#[tokio::test]
async fn state_changes_need_this_sites_origin() {
    let p = start(&[]).await;
    let post = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut r = p
            .http
            .post(p.url("/auth/login"))
            .form(&[("return_to", "/")]);
        if let Some(o) = origin {
            r = r.header(header::ORIGIN, o);
        }
        if let Some(s) = fetch_site {
            r = r.header("sec-fetch-site", s);
        }
        r.send()
    };
    assert_eq!(
        post(None, None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some("https://evil.example"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(None, Some("cross-site")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some("null"), None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some(&p.base), None).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(None, Some("same-origin")).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    // `none` is a navigation the user started (address bar, bookmark): never a form POST
    // from a page, so it vouches for nothing without this site's Origin.
    assert_eq!(
        post(None, Some("none")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some(&p.base), Some("none")).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(Some("https://evil.example"), Some("same-origin"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN,
        "a foreign Origin wins over a claimed same-origin fetch"
    );
    // Server functions too.
    let r = p
        .http
        .post(p.url("/api/get_session_summary"))
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Logout is never a GET.
    assert_eq!(
        p.http
            .get(p.url("/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn garbage_cookies_are_anonymous_visitors() {
    let p = start(&[]).await;
    let fresh = client(Arc::new(reqwest::cookie::Jar::default()));
    for junk in [
        "portal-session=garbage",
        "portal-session=",
        "portal-session=%00%ff%fe",
        &format!("portal-session={}", "A".repeat(4000)),
    ] {
        let r = fresh
            .get(p.url("/"))
            .header(header::COOKIE, junk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{junk}");
        let r = fresh
            .get(p.url("/dashboard"))
            .header(header::COOKIE, junk)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{junk}");
    }
}

/// Any `Cookie` header (proptest: junk values, many cookies, repeated names, a real session
/// id with one character changed) is an anonymous visitor: the landing page answers 200, a
/// signed-in page 401, never a 5xx, and no cookie is set for a session that does not exist.
/// `PROPTEST_CASES` sets the count (300 by default: each case renders two pages).
#[test]
fn any_cookie_header_is_an_anonymous_visitor() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let p = rt.block_on(start(&[]));
    rt.block_on(p.sign_in("/dashboard"));
    let real = p
        .session_cookie()
        .and_then(|c| c.split_once('=').map(|(_, v)| v.to_string()))
        .expect("the signed-in browser has a session cookie");
    let fresh = client(Arc::new(reqwest::cookie::Jar::default()));
    let cookie = prop_oneof![
        "portal-session=[ -~]{0,60}".prop_map(|s| s.replace(';', "")),
        "[ -~]{0,200}",
        proptest::collection::vec(("[a-z-]{1,16}", "[A-Za-z0-9_%=-]{0,40}"), 0..8).prop_map(
            |pairs| pairs
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        (0..real.len(), "[A-Za-z0-9_-]").prop_map(move |(at, c)| {
            let mut mangled = real.clone();
            mangled.replace_range(at..=at, &c);
            if mangled == real {
                mangled.push('x');
            }
            format!("portal-session={mangled}")
        }),
    ];
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(300);
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases,
        ..Default::default()
    });
    runner
        .run(&cookie, |junk| {
            rt.block_on(async {
                for (path, expected) in [
                    ("/", StatusCode::OK),
                    ("/dashboard", StatusCode::UNAUTHORIZED),
                ] {
                    let r = match fresh
                        .get(p.url(path))
                        .header(header::COOKIE, &junk)
                        .send()
                        .await
                    {
                        // Not a valid header value at all: a client cannot send it.
                        Err(e) if e.is_builder() => return Ok(()),
                        r => r.unwrap(),
                    };
                    prop_assert_eq!(r.status(), expected, "{} with {:?}", path, junk);
                    let sets_session = r.headers().get_all(header::SET_COOKIE).iter().any(|v| {
                        v.to_str().is_ok_and(|v| {
                            v.starts_with("portal-session=") && !v.contains("Max-Age=0")
                        })
                    });
                    prop_assert!(
                        !sets_session,
                        "{} set a session cookie for {:?}",
                        path,
                        junk
                    );
                }
                Ok(())
            })
        })
        .unwrap();
    // The real session is untouched by all that.
    let (status, _) = rt.block_on(p.get("/dashboard"));
    assert_eq!(status, StatusCode::OK);
}

/// Genesys refuses the token it has just minted (revoked, or expired at once, as the soak's
/// forced expiry does mid-callback): the callback refreshes once and the sign-in succeeds, and
/// (defect found by the soak: the sign-in failed with a 401).
#[tokio::test]
async fn a_token_refused_right_after_the_code_exchange_is_refreshed_once() {
    let p = start(&[]).await;
    let started = p.begin("/dashboard").await;
    let callback = p.answer(&location(&started), "allow").await;
    p.sandbox.faults().refuse_next_user_tokens(1);
    let done = p.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&done), "/dashboard");
    let (status, html) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"profile-name\""));
    assert_eq!(
        p.sandbox
            .stats()
            .token_requests(sandbox::Grant::RefreshToken),
        1
    );

    // Refused again after the refresh: the sign-in fails with a clear page, nothing is kept.
    let q = start(&[]).await;
    let started = q.begin("/dashboard").await;
    let callback = q.answer(&location(&started), "allow").await;
    q.sandbox.faults().refuse_next_user_tokens(2);
    let done = q.http.get(&callback).send().await.unwrap();
    let landed = location(&done);
    assert!(landed.starts_with("/auth/failed"), "{landed}");
    assert_eq!(q.grant_count().await, 0);
}

#[tokio::test]
async fn twenty_concurrent_requests_share_one_refresh() {
    let p = start(&[]).await;
    p.sign_in("/dashboard").await;
    // Every token issued so far is now expired at the sandbox: the next API call gets 401.
    p.sandbox.expire_tokens();
    p.sandbox.stats().reset();
    // Every upstream answer takes 200 ms: the twenty pages' 401s and refreshes overlap.
    p.sandbox
        .faults()
        .set_latency(std::time::Duration::from_millis(200));
    let pages = futures::future::join_all((0..20).map(|_| p.get("/dashboard"))).await;
    p.sandbox.faults().set_latency(std::time::Duration::ZERO);
    assert_eq!(
        p.sandbox
            .stats()
            .token_requests(sandbox::Grant::RefreshToken),
        1,
        "one refresh for twenty overlapping pages"
    );
    assert!(p.sandbox.stats().requests("/api/v2/users/me") >= 20);
    for (status, html) in &pages {
        let error = html
            .find("error-message")
            .map(|i| &html[i..(i + 300).min(html.len())])
            .unwrap_or("");
        assert_eq!(*status, StatusCode::OK, "{error}");
        assert!(html.contains("data-testid=\"profile-name\""));
    }
    // And the session still works (two refreshes with one rotating token would have
    // revoked the grant).
    let (status, _) = p.get("/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p.grant_count().await, 1);
}

#[tokio::test]
async fn invalid_grant_on_refresh_ends_the_session() {
    // This test changes the database behind the portal's back, which the portal's memory of
    // SQLite sessions and grants (written through, this process owning the file) would not see.
    let p = start(&[("PORTAL_SQLITE_MEMORY", "off")]).await;
    p.sign_in("/dashboard").await;
    sqlx::query("UPDATE grants SET refresh_token = 'not-a-refresh-token', expires_at = 0")
        .execute(&p.db().await)
        .await
        .unwrap();
    let (status, html) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("data-kind=\"session-expired\""));
    assert_eq!(p.grant_count().await, 0);
    let (status, _) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_ends_the_session_server_side() {
    let p = start(&[]).await;
    p.sign_in("/dashboard").await;
    let cookie = p.session_cookie().unwrap();
    let r = p
        .http
        .post(p.url("/auth/logout"))
        .header(header::ORIGIN, &p.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    assert_eq!(p.grant_count().await, 0);
    let replay = client(Arc::new(reqwest::cookie::Jar::default()));
    let r = replay
        .get(p.url("/dashboard"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_flood_of_sign_in_starts_stays_bounded_per_browser() {
    let p = start(&[]).await;
    for _ in 0..12 {
        assert_eq!(p.begin("/").await.status(), StatusCode::SEE_OTHER);
    }
    // Only the newest five pending logins are kept: the first started is gone.
    let first = p.begin("/dashboard").await;
    let callback = p.answer(&location(&first), "allow").await;
    for _ in 0..5 {
        p.begin("/").await;
    }
    let r = p.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&r), "/auth/failed");
}

#[tokio::test]
async fn readiness_and_metrics_follow_the_token_manager() {
    let token = "metrics-token-0123456789";
    let p = start(&[("PORTAL_METRICS_TOKEN", token)]).await;
    assert_eq!(p.get("/healthz").await.0, StatusCode::OK);
    // The manager fetches its first token in the background; ready once it has one.
    let mut ready = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        ready = p.get("/readyz").await.0;
        if ready == StatusCode::OK {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ready, StatusCode::OK);
    // Readiness says what is not ready, never which client or why.
    let (_, body) = p.get("/readyz").await;
    assert_eq!(body, "ready");
    // The metrics name the client and its failures: the token is needed.
    for bearer in [None, Some("wrong-token-0123456789"), Some("")] {
        let mut r = p.http.get(p.url("/metrics"));
        if let Some(b) = bearer {
            r = r.bearer_auth(b);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{bearer:?}");
        assert!(!r.text().await.unwrap().contains("portal-service"));
    }
    // One user signed in: a session, a callback, token and API calls upstream.
    p.sign_in("/dashboard").await;
    let r = p
        .http
        .get(p.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let metrics = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("portal_session_store_up 1"));
    assert!(metrics.contains("genesys_token_manager_acquisitions_total"));
    assert!(!metrics.contains("sandbox-service-secret"));
    // The families operators look at first, from the library's registry, with route
    // templates and endpoint templates as labels (never a raw path or query).
    let value = |prefix: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
    };
    assert!(value("portal_sessions_active ") >= 1.0);
    assert_eq!(value("portal_exports_running "), 0.0);
    assert!(
        value("portal_http_requests_total{route=\"/auth/callback\",method=\"GET\",status=\"303\"}")
            >= 1.0
    );
    assert!(
        value(
            "portal_http_request_duration_seconds_count{route=\"/auth/callback\",method=\"GET\"}"
        ) >= 1.0
    );
    assert!(
        value("portal_upstream_requests_total{method=\"POST\",endpoint=\"/oauth/token\",status=\"200\",outcome=\"ok\"}") >= 1.0
    );
    assert!(value("portal_upstream_request_duration_seconds_count{method=\"GET\",endpoint=\"/api/v2/users/me\"}") >= 1.0);
    assert!(!metrics.contains("code="), "no query string in a label");
    assert!(metrics.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn only_listed_admins_see_the_service_page() {
    let p = start(&[("PORTAL_ADMINS", "someone.else@example.com")]).await;
    p.sign_in("/dashboard").await;
    let (status, html) = p.get("/admin/service").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("PORTAL_ADMINS"));
}

/// Building a portal renders its app once to list its routes, with resource loading switched
/// off for the whole process. Pages that other portals of the process render meanwhile must
/// still get their data; they used to wait for it until the request timed out.
#[tokio::test]
async fn pages_keep_loading_while_other_portals_start() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let p = start(&[]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<_> = (0..4)
        .map(|_| {
            let (http, url, stop) = (p.http.clone(), p.url("/"), stop.clone());
            tokio::spawn(async move {
                let mut answered = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        http.get(&url).send(),
                    )
                    .await
                    .expect("the page answers instead of waiting for its data")
                    .unwrap();
                    assert_eq!(r.status(), StatusCode::OK);
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    for _ in 0..8 {
        let _other = start(&[]).await;
    }
    stop.store(true, Ordering::Relaxed);
    for loader in loaders {
        assert!(loader.await.unwrap() > 0, "pages were requested throughout");
    }
}

/// Genesys redeems guest codes server to server, with client credentials and no Origin: the
/// CSRF check must let the provider's token endpoint answer (here: the wrong secret).
#[tokio::test]
async fn the_guest_providers_token_endpoint_answers_other_servers() {
    let p = start(&[]).await;
    let r = p
        .http
        .post(p.url("/guest-idp/token"))
        .basic_auth(sandbox::GUEST_IDP_CLIENT_ID, Some("not-the-secret"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // Discovery names the portal's public URL as the issuer.
    let d: serde_json::Value = p
        .http
        .get(p.url("/guest-idp/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], p.url("/guest-idp"));
    // A cross-site form POST to the provider's other endpoints is still refused.
    let r = p
        .http
        .post(p.url("/guest-idp/end-session"))
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// Hostile input on the guest pages: a forged or garbage chat callback is a clear 4xx (never a
/// 500, nothing stored), oversized or bad provisioning input is refused by name, and a hostile
/// guest name is shown as text.
#[tokio::test]
async fn guest_pages_refuse_forged_oversized_and_hostile_input() {
    let p = start(&[]).await;
    for query in [
        "code=abc&state=never-issued".to_string(),
        "state=x&state=y".to_string(),
        format!("code={}&state=s", "c".repeat(20_000)),
        "%ff%fe=%00".to_string(),
        String::new(),
    ] {
        let (status, _) = p.get(&format!("/guest/callback?{query}")).await;
        assert!(status.is_client_error(), "{query:.40}: {status}");
    }
    p.sign_in("/guests").await;
    // The provisioning form's own action answers a refusal as the error card to show in place
    // (200: the page's script puts it in the form's output)...
    let (_, page) = p.get("/guests").await;
    let action = page
        .split("action=\"")
        .map(|rest| rest.split('"').next().unwrap())
        .find(|a| a.starts_with("/api/create_guest_live"))
        .expect("the provisioning form posts to its server function")
        .to_string();
    let refused = p
        .call(
            &p.http,
            &action,
            &[
                ("given_name", "Ann"),
                ("family_name", "Test"),
                ("email", "not-an-email"),
                ("attributes", ""),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::OK);
    let card: String = refused.json().await.unwrap();
    assert!(
        card.contains(r#"data-testid="error""#) && card.contains(r#"data-status="400""#),
        "{card}"
    );
    // ... and the server function behind it refuses with the status.
    let action = server_fn::<app::api::CreateGuest>();
    let create = |given: String, email: &'static str, attributes: String| {
        p.http
            .post(p.url(action))
            .header(header::ORIGIN, &p.base)
            .header(header::ACCEPT, "application/json")
            .form(&[
                ("given_name", given.as_str()),
                ("family_name", "Test"),
                ("email", email),
                ("attributes", attributes.as_str()),
            ])
            .send()
    };
    let r = create("A".repeat(500), "long@example.com", String::new())
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        r.text().await.unwrap()
    );
    let r = create("Ann".into(), "not-an-email", String::new())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = create("Ann".into(), "ann@example.com", "no equals sign".into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.unwrap();
    assert!(body.contains("key=value"), "{body}");
    let hostile = "<script>alert(1)</script>";
    let r = create(hostile.into(), "x@example.com", "tier=<b>gold</b>".into())
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let id: String = r.json().await.unwrap();
    let (status, html) = p.get(&format!("/guests/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(hostile) && !html.contains("<b>gold"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

/// The URL of a server function (its path carries a hash of its name).
fn server_fn<T: leptos::server_fn::ServerFn>() -> &'static str {
    T::PATH
}

impl TestPortal {
    /// A server function called as the page's JavaScript would (this site's Origin, JSON back).
    async fn call(&self, http: &Client, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        common::call_server_fn(http, &self.url(path), &self.base, form).await
    }

    /// A second browser signed in as the `n`-th user the sandbox offers.
    async fn second_browser(&self, n: usize) -> Client {
        let http = client(Arc::new(reqwest::cookie::Jar::default()));
        let started = http
            .post(self.url("/auth/login"))
            .header(header::ORIGIN, &self.base)
            .form(&[("return_to", "/dashboard")])
            .send()
            .await
            .unwrap();
        let authorize = location(&started);
        let page = http
            .get(&authorize)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let user = page
            .split("name=\"user\" value=\"")
            .nth(n + 1)
            .and_then(|rest| rest.split('"').next())
            .expect("the sign-in page offers that many users")
            .to_string();
        let redirect = sandbox::test_support::SignInScript::new(&http)
            .sign_in_as(sandbox::test_support::SignInAs::Offered(user))
            .run(authorize.as_str())
            .await
            .unwrap();
        let done = http.get(redirect.location().as_str()).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        http
    }
}

#[tokio::test]
async fn logout_from_another_site_is_refused_and_the_session_lives() {
    let p = start(&[]).await;
    p.sign_in("/dashboard").await;
    for origin in ["https://evil.example", "null", "http://127.0.0.1:1"] {
        let r = p
            .http
            .post(p.url("/auth/logout"))
            .header(header::ORIGIN, origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin}");
    }
    let (status, _) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK, "still signed in");
    assert_eq!(p.grant_count().await, 1);
}

/// An export whose token Genesys stops accepting (expired early, as a large org's export
/// outlives its token) refreshes the sign-in's grant and carries on, then the session goes on
/// with the refreshed token (defect found by the soak: the export failed "session expired").
#[tokio::test]
async fn an_export_carries_on_when_its_token_expires() {
    let p = start(&[]).await;
    p.sign_in("/users").await;
    p.sandbox.expire_tokens();
    p.sandbox.stats().reset();
    let progress = p.export_to_the_end().await;
    assert_eq!(progress["status"], "Done", "{progress}");
    assert!(progress["users"].as_u64().unwrap() > 0, "{progress}");
    assert_eq!(
        p.sandbox
            .stats()
            .token_requests(sandbox::Grant::RefreshToken),
        1,
        "one refresh, shared by the export's concurrent pages"
    );
    let (status, html) = p.get("/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"user-row\""));
    assert_eq!(
        p.sandbox
            .stats()
            .token_requests(sandbox::Grant::RefreshToken),
        1,
        "the page uses the token the export refreshed"
    );
    let again = p.export_to_the_end().await;
    assert_eq!(
        again["users"], progress["users"],
        "the same users as without the expiry"
    );
}

/// Genesys may leave out every optional field of a user. With the sandbox answering only each
/// user's id and name, every page still works: sign-in, the dashboard, the directory, a user's
/// page and an export (whose CSV keeps the ids and names and leaves the rest empty).
#[tokio::test]
async fn users_with_only_an_id_and_a_name_still_make_every_page() {
    let p = start(&[]).await;
    p.sandbox.faults().set_sparse_users(true);
    p.sign_in("/users").await;
    let (status, html) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("data-testid=\"sign-out\""), "{html}");
    let (status, html) = p.get("/users").await;
    assert_eq!(status, StatusCode::OK);
    let rows = html.matches("data-testid=\"user-row\"").count();
    assert!(rows > 0, "{html}");
    let first = html
        .split("href=\"/users/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .filter(|id| !id.starts_with("export"))
        .expect("a link to a user")
        .to_string();
    let (status, detail) = p.get(&format!("/users/{first}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail.contains("data-testid=\"detail-name\""), "{detail}");
    assert!(
        detail.contains("data-testid=\"detail-phones\">—"),
        "no phone: a dash"
    );

    let progress = p.export_to_the_end().await;
    assert_eq!(progress["status"], "Done", "{progress}");
    let id = progress["id"].as_str().unwrap();
    let csv = p
        .http
        .get(p.url(&format!("/export/{id}/users.csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let header_columns = csv.lines().next().unwrap().split(',').count();
    assert_eq!(header_columns, 10, "{csv}");
    for row in csv.lines().skip(1).take(20) {
        // An id, a name (maybe quoted), and eight empty columns.
        let (id, rest) = row.split_once(',').unwrap();
        assert_eq!(id.len(), 36, "{row}");
        assert!(rest.ends_with(",,,,,,,,") && rest.len() > 8, "{row}");
    }
    assert_eq!(
        csv.lines().count() as u64 - 1,
        progress["users"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn another_users_export_is_not_found_whatever_they_try() {
    let p = start(&[]).await;
    p.sign_in("/users").await;
    // The owner can follow it to the end.
    let progress = p.export_to_the_end().await;
    assert_eq!(progress["status"], "Done");
    let id = progress["id"].as_str().unwrap().to_string();
    let csv = format!("/export/{id}/users.csv");
    assert_eq!(
        p.http.get(p.url(&csv)).send().await.unwrap().status(),
        StatusCode::OK
    );

    // Someone else, signed in too, learns nothing: progress, cancel and download are 404s,
    // exactly as for an id that never existed.
    let other = p.second_browser(1).await;
    for probe in [id.as_str(), "no-such-export"] {
        for path in [
            server_fn::<app::api::GetExportProgress>(),
            server_fn::<app::api::CancelExport>(),
        ] {
            let r = p.call(&other, path, &[("id", probe)]).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path} {probe}");
        }
        let r = other
            .get(p.url(&format!("/export/{probe}/users.csv")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "download {probe}");
    }
    // The owner's file is still there (the other's cancel did nothing).
    assert_eq!(
        p.http.get(p.url(&csv)).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_non_admin_cannot_rotate_the_service_token_through_its_server_function() {
    let p = start(&[("PORTAL_ADMINS", "someone.else@example.com")]).await;
    p.sign_in("/dashboard").await;
    // The service identity fetches its first token at start, on its own: wait for it.
    let fetched = || {
        p.sandbox
            .stats()
            .token_requests(sandbox::Grant::ClientCredentials)
    };
    assert!(
        eventually_async(|| async { fetched() > 0 }).await,
        "no service token"
    );
    let before = fetched();
    for path in [
        server_fn::<app::api::RotateServiceToken>(),
        server_fn::<app::api::GetServiceStatus>(),
        server_fn::<app::api::RotateGuestSigningKey>(),
    ] {
        let r = p.call(&p.http, path, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("access_token"), "{body}");
    }
    assert_eq!(fetched(), before, "no token was fetched: nothing rotated");
}

#[tokio::test]
async fn oversized_bodies_headers_and_callbacks_are_refused() {
    let p = start(&[]).await;
    p.sign_in("/dashboard").await;
    // Bodies: the cap is 256 KiB for every route.
    // Refused requests each on a fresh connection: the server may close one it refused.
    let fresh = || {
        Client::builder()
            .cookie_provider(p.jar.clone())
            .redirect(Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    let big = "x".repeat(300 * 1024);
    let r = p
        .call(
            &fresh(),
            server_fn::<app::api::ListDirectory>(),
            &[("query[q]", big.as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The body was not read, so the connection ends with the answer.
    assert_eq!(r.headers()[header::CONNECTION], "close");
    // Headers: 32 KiB in all, whether in one header or spread over many.
    for headers in [
        vec![("x-padding".to_string(), "y".repeat(40 * 1024))],
        (0..40)
            .map(|i| (format!("x-pad-{i}"), "y".repeat(1024)))
            .collect(),
    ] {
        let mut req = fresh().get(p.url("/dashboard"));
        for (name, value) in &headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    let r = fresh()
        .get(p.url("/dashboard"))
        .header("x-padding", "y".repeat(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "8 KiB of headers is fine");
    // A callback with a code far beyond any real one is refused without calling Genesys.
    // (Code redemptions only: the service identity's token manager uses the token endpoint
    // on its own schedule.)
    let redemptions = || {
        p.sandbox
            .stats()
            .token_requests(sandbox::Grant::AuthorizationCode)
    };
    let token_calls = redemptions();
    let started = p.begin("/dashboard").await;
    let state = reqwest::Url::parse(&location(&started))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let (status, html) = p
        .get(&format!(
            "/auth/callback?code={}&state={state}",
            "c".repeat(4096)
        ))
        .await;
    assert!(
        status.is_redirection() || status.is_client_error(),
        "{status}"
    );
    assert!(!html.contains(&"c".repeat(100)));
    assert_eq!(redemptions(), token_calls);
    // Still signed in: the bad answers cost nothing.
    let (status, _) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_slow_genesys_gets_the_portals_timeout_page_not_a_bare_504() {
    let p = start(&[("PORTAL_REQUEST_TIMEOUT_SECS", "2")]).await;
    p.sign_in("/dashboard").await;
    p.sandbox.stats().reset();
    p.sandbox
        .faults()
        .set_latency(std::time::Duration::from_secs(5));
    let (status, html) = p.get("/dashboard").await;
    p.sandbox.faults().set_latency(std::time::Duration::ZERO);
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(html.contains("data-status=\"504\""), "{html:.600}");
    assert!(
        html.contains("data-kind=\"upstream-timeout\""),
        "{html:.600}"
    );
    // Timeouts are not retried: one call went out for the page.
    assert_eq!(p.sandbox.stats().requests("/api/v2/users/me"), 1);
}

/// Genesys rotated the refresh token but its answer never arrived: the portal cannot know the
/// new tokens, and the old refresh token is spent. Decided behaviour: this page says Genesys
/// could not be reached; the next one tries the old token once, Genesys refuses it (and
/// revokes the grant), and the session ends with "sign in again". Never a loop of refreshes.
#[tokio::test]
async fn a_refresh_whose_answer_is_lost_ends_the_session_once_instead_of_looping() {
    let p = start(&[]).await;
    p.sign_in("/dashboard").await;
    p.sandbox.expire_tokens();
    p.sandbox.stats().reset();
    let refreshes = || {
        p.sandbox
            .stats()
            .token_requests(sandbox::Grant::RefreshToken)
    };
    p.sandbox.faults().set_token_answer_lost(true);
    let (status, html) = p.get("/dashboard").await;
    p.sandbox.faults().set_token_answer_lost(false);
    assert!(status.is_server_error(), "{status}");
    assert!(
        html.contains("data-kind=\"upstream-unavailable\""),
        "{html:.800}"
    );
    assert_eq!(refreshes(), 1, "a refresh is not retried after it was sent");

    let (status, html) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        html.contains("data-kind=\"session-expired\""),
        "{html:.800}"
    );
    assert_eq!(refreshes(), 2);
    assert_eq!(p.grant_count().await, 0, "the grant is gone");

    for _ in 0..3 {
        let (status, _) = p.get("/dashboard").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(refreshes(), 2, "signed out: nothing more is tried");
}

impl TestPortal {
    /// This browser's session record, straight from the portal's session store.
    async fn session_record(
        &self,
    ) -> (
        tower_sessions_sqlx_store::SqliteStore,
        tower_sessions::session::Record,
    ) {
        use tower_sessions::SessionStore;
        let cookie = self.session_cookie().expect("a session cookie");
        let id: tower_sessions::session::Id = cookie.split_once('=').unwrap().1.parse().unwrap();
        let store = tower_sessions_sqlx_store::SqliteStore::new(self.db().await);
        let record = store
            .load(&id)
            .await
            .unwrap()
            .expect("the session is stored");
        (store, record)
    }
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_activity_moves_it() {
    use tower_sessions::SessionStore;
    // This test changes the database behind the portal's back, which the portal's memory of
    // SQLite sessions and grants (written through, this process owning the file) would not see.
    let p = start(&[
        ("PORTAL_SESSION_IDLE_MINUTES", "30"),
        ("PORTAL_SQLITE_MEMORY", "off"),
    ])
    .await;
    p.sign_in("/dashboard").await;
    let (_, record) = p.session_record().await;
    let idle = record.expiry_date - time::OffsetDateTime::now_utc();
    assert!(
        idle > time::Duration::minutes(29) && idle <= time::Duration::minutes(30),
        "{idle}"
    );
    // Thirty-one minutes without a request: the store has the session expired.
    let (store, mut record) = p.session_record().await;
    record.expiry_date = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    store.save(&record).await.unwrap();
    let (status, html) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("data-testid=\"sign-in\""));
    // A session with time left whose deadline was last moved within the minute: reading
    // pages writes nothing.
    p.sign_in("/dashboard").await;
    let (store, mut record) = p.session_record().await;
    let in_two_minutes = time::OffsetDateTime::now_utc() + time::Duration::minutes(2);
    record.expiry_date = in_two_minutes;
    record.data.insert(
        server::middleware::TOUCHED.into(),
        serde_json::json!(time::OffsetDateTime::now_utc().unix_timestamp() - 5),
    );
    store.save(&record).await.unwrap();
    for _ in 0..3 {
        let (status, _) = p.get("/dashboard").await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, unchanged) = p.session_record().await;
    assert!(
        (unchanged.expiry_date - in_two_minutes).abs() < time::Duration::seconds(1),
        "no write for a fresh deadline"
    );
    // Last moved more than a minute ago: the next request moves it (store and cookie).
    let (store, mut record) = p.session_record().await;
    record.data.insert(
        server::middleware::TOUCHED.into(),
        serde_json::json!(time::OffsetDateTime::now_utc().unix_timestamp() - 61),
    );
    store.save(&record).await.unwrap();
    let r = p.http.get(p.url("/dashboard")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("Max-Age=1800"), "{cookie}");
    let (_, record) = p.session_record().await;
    assert!(
        record.expiry_date - time::OffsetDateTime::now_utc() > time::Duration::minutes(29),
        "activity renews the idle deadline"
    );
    // And a page read right after sets no cookie: nothing changed.
    let r = p.http.get(p.url("/dashboard")).send().await.unwrap();
    assert!(r.headers().get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn sessions_end_after_the_absolute_timeout_however_active() {
    use tower_sessions::SessionStore;
    // This test changes the database behind the portal's back, which the portal's memory of
    // SQLite sessions and grants (written through, this process owning the file) would not see.
    let p = start(&[
        ("PORTAL_SESSION_MAX_HOURS", "12"),
        ("PORTAL_SQLITE_MEMORY", "off"),
    ])
    .await;
    p.sign_in("/dashboard").await;
    let (store, mut record) = p.session_record().await;
    let signed_in = record
        .data
        .get_mut("signed_in")
        .expect("a signed-in session");
    let at = signed_in["signed_in_unix"].as_i64().unwrap();
    // Signed in 11 h 59 min ago: still fine.
    signed_in["signed_in_unix"] = serde_json::json!(at - 12 * 3600 + 60);
    store.save(&record).await.unwrap();
    let (status, _) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    // 12 h and a minute ago: over, although the session was used a moment ago.
    let (store, mut record) = p.session_record().await;
    record.data.get_mut("signed_in").unwrap()["signed_in_unix"] =
        serde_json::json!(at - 12 * 3600 - 60);
    store.save(&record).await.unwrap();
    let (status, html) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        html.contains("data-kind=\"session-expired\""),
        "the page says why"
    );
    assert_eq!(p.grant_count().await, 0, "its grant is deleted too");
    let (status, _) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// `list_directory` is called by the browser with whatever it sends: the server checks the
/// query itself (the UI's parser is not a guard), and a search asks Genesys for at most 100 a
/// page (its cap) instead of answering 502 for the directory's 500.
#[tokio::test]
async fn the_directory_server_function_validates_its_query() {
    let p = start(&[]).await;
    p.sign_in("/users").await;
    let path = server_fn::<app::api::ListDirectory>();
    let portal = &p;
    let call = |page: &'static str, size: &'static str, q: String| async move {
        let form = [
            ("query[page]", page),
            ("query[size]", size),
            ("query[sort]", "Ascending"),
            ("query[state]", "Any"),
            ("query[q]", q.as_str()),
        ];
        portal.call(&portal.http, path, &form).await
    };
    let ok = call("1", "25", String::new()).await;
    assert_eq!(ok.status(), StatusCode::OK, "{}", ok.text().await.unwrap());
    for (page, size, q, field) in [
        ("0", "25", String::new(), "page"),
        ("4294967295", "25", String::new(), "page"),
        ("1", "7", String::new(), "size"),
        ("1", "25", "a".repeat(101), "q"),
    ] {
        let r = call(page, size, q).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{field}");
        let body = r.text().await.unwrap();
        assert!(body.contains(field), "{body}");
    }
    let r = call("1", "500", "a".into()).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let page: serde_json::Value = r.json().await.unwrap();
    assert_eq!(page["size"], 100);
}

impl TestPortal {
    /// Starts an export as this browser and follows it to its end; its last progress.
    async fn export_to_the_end(&self) -> serde_json::Value {
        let r = self
            .call(
                &self.http,
                server_fn::<app::api::StartExport>(),
                &[("state", "active"), ("sort", "ascending")],
            )
            .await;
        assert!(r.status().is_success(), "{}", r.status());
        let id: String = r.json().await.unwrap();
        for _ in 0..400 {
            let progress: serde_json::Value = self
                .call(
                    &self.http,
                    server_fn::<app::api::GetExportProgress>(),
                    &[("id", &id)],
                )
                .await
                .json()
                .await
                .unwrap();
            if progress["status"] != "Running" {
                return progress;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the export did not end");
    }
}

/// With `PORTAL_EXPORT_IDENTITY=service`, only admins borrow the service identity; everyone
/// else exports with their own token (defect: any signed-in user read the whole org with the
/// service identity's scopes).
#[tokio::test]
async fn only_admins_export_with_the_service_identity() {
    let p = start(&[
        ("PORTAL_EXPORT_IDENTITY", "service"),
        ("PORTAL_ADMINS", "someone.else@example.com"),
    ])
    .await;
    p.sign_in("/users").await;
    let progress = p.export_to_the_end().await;
    assert_eq!(progress["status"], "Done");
    assert_eq!(
        progress["as_service"], false,
        "a non-admin uses their own token"
    );

    let admins = start(&[("PORTAL_EXPORT_IDENTITY", "service")]).await;
    admins.sign_in("/users").await;
    let progress = admins.export_to_the_end().await;
    assert_eq!(progress["status"], "Done");
    assert_eq!(
        progress["as_service"], true,
        "an admin (everyone, on the sandbox) borrows it"
    );
}

/// The connection check makes the portal call Genesys: signed-in users only, and its answer is
/// one phrase, never the error chain.
#[tokio::test]
async fn the_connection_check_needs_a_signed_in_user() {
    let p = start(&[]).await;
    let path = server_fn::<app::api::CheckUpstream>();
    let r = p.call(&p.http, path, &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    p.sign_in("/").await;
    let r = p.call(&p.http, path, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let check: serde_json::Value = r.json().await.unwrap();
    assert_eq!(check["reachable"], true);
    assert_eq!(check["detail"], "the API answered HTTP 401");
}

/// A finished export and its file are deleted when its user signs out (it used to stay for
/// 30 minutes after its start, and until the next export started).
#[tokio::test]
async fn signing_out_deletes_the_users_exports() {
    let p = start(&[]).await;
    p.sign_in("/users").await;
    let progress = p.export_to_the_end().await;
    assert_eq!(progress["status"], "Done");
    assert_eq!(p.rows("export_jobs").await, 1);
    assert!(p.rows("export_chunks").await >= 2, "the header and a page");
    let r = p
        .http
        .post(p.url("/auth/logout"))
        .header(header::ORIGIN, &p.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        p.rows("export_jobs").await,
        0,
        "the export went with the session"
    );
    assert_eq!(p.rows("export_chunks").await, 0, "and its file");
}

/// Junk callbacks from visitors without a sign-in in progress store nothing (each used to
/// create a session row holding its failure); a browser with sign-ins in progress that gets a
/// callback with an unknown state loses them (someone is guessing), and says so.
#[tokio::test]
async fn junk_callbacks_store_nothing_and_unknown_states_drop_the_pending_logins() {
    let p = start(&[]).await;
    let before = p.rows("tower_sessions").await;
    for i in 0..25 {
        let anonymous = client(Arc::new(reqwest::cookie::Jar::default()));
        let r = anonymous
            .get(p.url(&format!("/auth/callback?code=junk{i}&state=never{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(location(&r), "/auth/failed?reason=unrecognised");
        assert!(r.headers().get(header::SET_COOKIE).is_none(), "no session");
    }
    assert_eq!(
        p.rows("tower_sessions").await,
        before,
        "no session row per junk callback"
    );
    let (status, html) = p.get("/auth/failed?reason=unrecognised").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-kind=\"forged-callback\""));

    // A sign-in in progress, then a callback with a state it never issued.
    let started = p.begin("/dashboard").await;
    let callback = p.answer(&location(&started), "allow").await;
    let state = reqwest::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let r = p
        .http
        .get(p.url(&format!("/auth/callback?code=x&state={state}guess")))
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with("/auth/failed"));
    // The genuine answer is refused now too: its pending login went with the guess.
    let r = p.http.get(&callback).send().await.unwrap();
    assert!(location(&r).starts_with("/auth/failed"), "{}", location(&r));
    assert_eq!(p.grant_count().await, 0);
}

impl TestPortal {
    /// Whether the sandbox still accepts `token`.
    async fn token_alive(&self, token: &str) -> bool {
        let r = self
            .http
            .get(self.sandbox.base_url().join("api/v2/tokens/me").unwrap())
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        r.status() == StatusCode::OK
    }

    /// The raw access tokens the sandbox issued to user sign-ins (not the service identity).
    async fn user_access_tokens(&self) -> Vec<String> {
        let listed: serde_json::Value = self
            .http
            .get(
                self.sandbox
                    .base_url()
                    .join("sandbox/issued-tokens")
                    .unwrap(),
            )
            .header(sandbox::ADMIN_HEADER, "1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut tokens = Vec::new();
        for t in listed["tokens"].as_array().unwrap() {
            let t = t.as_str().unwrap();
            let info = self
                .http
                .get(self.sandbox.base_url().join("api/v2/tokens/me").unwrap())
                .bearer_auth(t)
                .send()
                .await
                .unwrap();
            if info.status() == StatusCode::OK {
                let v: serde_json::Value = info.json().await.unwrap();
                if v["OAuthClient"]["id"] == "portal-web" {
                    tokens.push(t.to_string());
                }
            } else {
                tokens.push(t.to_string());
            }
        }
        tokens
    }
}

async fn eventually_async<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Signing in again in the same browser revokes the first sign-in's token at Genesys (it
/// used to stay valid there until it expired).
#[tokio::test]
async fn a_replaced_sign_in_is_revoked_at_genesys() {
    let p = start(&[]).await;
    p.sign_in("/dashboard").await;
    let first = p.user_access_tokens().await;
    assert_eq!(
        first.len(),
        2,
        "access and refresh token of the first sign-in"
    );
    let first_access = first[0].clone();
    assert!(p.token_alive(&first_access).await);
    p.sign_in("/dashboard").await;
    assert!(
        eventually_async(|| async { !p.token_alive(&first_access).await }).await,
        "the replaced sign-in's token was revoked"
    );
    assert_eq!(p.grant_count().await, 1);
    let (status, _) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
}

/// The callback's three upstream calls share one budget (two thirds of the request timeout):
/// a slow Genesys ends on the "Genesys Cloud is slow" page, not the outer layer's bare 504,
/// and the token minted meanwhile is revoked.
#[tokio::test]
async fn a_slow_callback_has_one_time_budget_and_revokes_what_it_minted() {
    let p = start(&[("PORTAL_REQUEST_TIMEOUT_SECS", "3")]).await;
    let started = p.begin("/dashboard").await;
    let callback = p.answer(&location(&started), "allow").await;
    // Each call takes 1.5 s: the exchange fits the 2 s budget, the token check does not.
    p.sandbox
        .faults()
        .set_latency(std::time::Duration::from_millis(1500));
    let r = p.http.get(&callback).send().await.unwrap();
    p.sandbox.faults().set_latency(std::time::Duration::ZERO);
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a redirect, not a bare 504"
    );
    assert_eq!(location(&r), "/auth/failed");
    let (status, html) = p.get("/auth/failed").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(
        html.contains("data-kind=\"upstream-timeout\""),
        "{html:.600}"
    );
    assert_eq!(p.grant_count().await, 0);
    let minted = p.user_access_tokens().await;
    assert!(!minted.is_empty(), "the exchange did mint tokens");
    let access = minted[0].clone();
    assert!(
        eventually_async(|| async { !p.token_alive(&access).await }).await,
        "the minted token was revoked"
    );
}

/// Without `PORTAL_METRICS_TOKEN`, the metrics answer loopback clients only (the in-process
/// test server has no peer address, so it counts as remote).
#[tokio::test]
async fn metrics_without_a_token_are_refused_to_unknown_peers() {
    let p = start(&[]).await;
    let (status, body) = p.get("/metrics").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("PORTAL_METRICS_TOKEN"));
    assert_eq!(p.get("/healthz").await.0, StatusCode::OK);
}

/// One client cannot lock everyone out of sign-in (the only limit used to be server-wide): the
/// budget is per client address, from the trusted proxy header when one is configured, and a
/// header nobody configured is ignored (a client cannot mint itself fresh budgets).
#[tokio::test]
async fn sign_in_starts_are_limited_per_client() {
    let begin_as = |p: &TestPortal, http: Client, forwarded: &str| {
        let (url, base, forwarded) = (p.url("/auth/login"), p.base.clone(), forwarded.to_string());
        async move {
            http.post(url)
                .header(header::ORIGIN, base)
                .header("x-forwarded-for", forwarded)
                .form(&[("return_to", "/")])
                .send()
                .await
                .unwrap()
        }
    };
    let fresh = || client(Arc::new(reqwest::cookie::Jar::default()));
    let p = start(&[("PORTAL_TRUSTED_PROXY_HEADER", "X-Forwarded-For")]).await;
    for _ in 0..30 {
        let r = begin_as(&p, fresh(), "198.51.100.1, 203.0.113.7").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let r = begin_as(&p, fresh(), "203.0.113.7").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let page = r.text().await.unwrap();
    assert!(page.contains("data-testid=\"too-many-sign-ins\""), "{page}");
    // Another client is not affected.
    let r = begin_as(&p, fresh(), "192.0.2.44").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Not configured: the header is the client's word and is ignored.
    let q = start(&[]).await;
    for i in 0..30 {
        let r = begin_as(&q, fresh(), &format!("192.0.2.{i}")).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let r = begin_as(&q, fresh(), "192.0.2.200").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Past `PORTAL_MAX_CONCURRENT_REQUESTS` a request gets a 503 at once (it used to queue
/// without bound), the probes still answer, and nothing is lost once the load is gone.
#[tokio::test]
async fn requests_past_the_concurrency_limit_get_a_503_at_once() {
    let p = start(&[("PORTAL_MAX_CONCURRENT_REQUESTS", "2")]).await;
    p.sign_in("/dashboard").await;
    p.sandbox.stats().reset();
    p.sandbox
        .faults()
        .set_latency(std::time::Duration::from_millis(1500));
    let slow = futures::future::join_all((0..2).map(|_| p.get("/dashboard")));
    let refused = async {
        // Once both slow pages are waiting on Genesys (each holds a permit for 1.5 s).
        assert!(
            eventually_async(|| async { p.sandbox.stats().requests("/api/v2/users/me") >= 2 })
                .await,
            "the slow pages never called out"
        );
        let r = p.http.get(p.url("/users")).send().await.unwrap();
        let status = r.status();
        let retry = r.headers().get(header::RETRY_AFTER).cloned();
        let probe = p.get("/healthz").await.0;
        (status, retry, probe)
    };
    let (pages, (status, retry, probe)) = tokio::join!(slow, refused);
    p.sandbox.faults().set_latency(std::time::Duration::ZERO);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry.unwrap(), "1");
    assert_eq!(probe, StatusCode::OK, "the probes are never refused");
    for (status, _) in pages {
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(p.get("/users").await.0, StatusCode::OK);
}

/// The embedded (Client App) mode from the outside: the header rules per route, and the popup
/// sign-in handed to the frame with a one-time code.
mod embedded {
    use super::*;

    const HOST: &str = "http://127.0.0.2:4100";

    async fn start_embedded() -> TestPortal {
        start(&[("PORTAL_EMBED", "true"), ("PORTAL_EMBED_ORIGINS", HOST)]).await
    }

    fn entry_query() -> String {
        format!("/embed?gcHostOrigin={HOST}&gcTargetEnv=local&gcLangTag=en-GB")
    }

    fn header_of(r: &reqwest::Response, name: &str) -> Option<String> {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    fn attribute(html: &str, name: &str) -> String {
        let start = html.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        html[start..start + html[start..].find('"').unwrap()].to_string()
    }

    /// A client with no cookie jar: the framed cookie is sent by hand, as the browser sends
    /// it inside the host's partition.
    fn bare() -> Client {
        Client::builder().redirect(Policy::none()).build().unwrap()
    }

    #[tokio::test]
    async fn only_the_entry_the_widget_and_framed_sessions_may_be_framed_and_only_by_the_allowed_host(
    ) {
        let p = start_embedded().await;
        let entry = p.http.get(p.url(&entry_query())).send().await.unwrap();
        assert_eq!(entry.status(), StatusCode::OK);
        let csp = header_of(&entry, "content-security-policy").unwrap();
        assert!(csp.contains(&format!("frame-ancestors {HOST}")), "{csp}");
        assert!(header_of(&entry, "x-frame-options").is_none());
        for path in [
            "/",
            "/dashboard",
            "/users",
            "/embed/popup?frame=x",
            "/embed/done",
        ] {
            let r = p.http.get(p.url(path)).send().await.unwrap();
            let csp = header_of(&r, "content-security-policy").unwrap();
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert_eq!(
                header_of(&r, "x-frame-options").as_deref(),
                Some("DENY"),
                "{path}"
            );
        }
        // The popup's pages keep their opener; the others isolate theirs.
        let popup = p
            .http
            .get(p.url("/embed/popup?frame=x"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            header_of(&popup, "cross-origin-opener-policy").as_deref(),
            Some("unsafe-none")
        );
        let home = p.http.get(p.url("/")).send().await.unwrap();
        assert_eq!(
            header_of(&home, "cross-origin-opener-policy").as_deref(),
            Some("same-origin")
        );
        // A refused host URL is a page that says why, and still no header echoes the host.
        let forged = p
            .http
            .get(p.url("/embed?gcHostOrigin=https://evil.example&gcTargetEnv=local"))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
        let csp = header_of(&forged, "content-security-policy").unwrap();
        assert!(!csp.contains("evil.example"), "{csp}");
        assert!(forged
            .text()
            .await
            .unwrap()
            .contains("may not frame this portal"));
        let other_region = p
            .http
            .get(p.url(&format!("/embed?gcHostOrigin={HOST}&gcTargetEnv=prod-euw1")))
            .send()
            .await
            .unwrap();
        assert_eq!(other_region.status(), StatusCode::BAD_REQUEST);
        assert!(other_region
            .text()
            .await
            .unwrap()
            .contains("not `prod-euw1`"));
    }

    #[tokio::test]
    async fn embedded_mode_is_off_by_default() {
        let p = start(&[]).await;
        let r = p.http.get(p.url(&entry_query())).send().await.unwrap();
        assert_ne!(r.status(), StatusCode::OK);
        let csp = header_of(&r, "content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }

    #[tokio::test]
    async fn the_popup_hands_its_sign_in_to_the_frame_once_and_only_to_that_frame() {
        let p = start_embedded().await;
        let page = p.http.get(p.url(&entry_query())).send().await.unwrap();
        let html = page.text().await.unwrap();
        let frame = attribute(&html, "data-frame-id");
        let secret = attribute(&html, "data-frame-secret");
        // The popup (this client's jar) runs the code flow for the frame.
        let started = p
            .http
            .post(p.url("/embed/popup"))
            .header(header::ORIGIN, &p.base)
            .form(&[("frame", frame.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        let callback = p.answer(&location(&started), "allow").await;
        let done = p.http.get(&callback).send().await.unwrap();
        assert_eq!(location(&done), "/embed/done");
        let handed = p.http.get(p.url("/embed/done")).send().await.unwrap();
        let code = attribute(&handed.text().await.unwrap(), "data-code");
        // Shown once: the popup's session no longer holds it.
        let again = p.http.get(p.url("/embed/done")).send().await.unwrap();
        assert!(!again.text().await.unwrap().contains("data-code"));
        // The popup itself is not signed in: the sign-in was the frame's.
        let (_, dashboard) = p.get("/dashboard").await;
        assert!(dashboard.contains("data-testid=\"sign-in\""), "{dashboard}");

        let frame_client = bare();
        let exchange = |origin: &'static str, code: String, secret: String| {
            let client = frame_client.clone();
            let url = p.url("/embed/exchange");
            let frame = frame.clone();
            let origin = if origin == "self" {
                p.base.clone()
            } else {
                origin.to_string()
            };
            async move {
                client
                    .post(url)
                    .header(header::ORIGIN, origin)
                    .form(&[("code", code), ("frame", frame), ("secret", secret)])
                    .send()
                    .await
                    .unwrap()
            }
        };
        // From another origin (the host page itself, say): refused before the code is looked at.
        let cross = exchange("http://127.0.0.2:4100", code.clone(), secret.clone()).await;
        assert_eq!(cross.status(), StatusCode::FORBIDDEN);
        // The right frame, code and secret: the framed session's cookie, partitioned.
        let ok = exchange("self", code.clone(), secret.clone()).await;
        assert_eq!(ok.status(), StatusCode::OK);
        let set_cookie = header_of(&ok, "set-cookie").unwrap();
        for part in [
            "__Host-portal-embed=",
            "Secure",
            "SameSite=None",
            "Partitioned",
            "HttpOnly",
            "Path=/",
        ] {
            assert!(set_cookie.contains(part), "{part}: {set_cookie}");
        }
        assert!(!set_cookie.contains("portal-session="), "{set_cookie}");
        let body: serde_json::Value = ok.json().await.unwrap();
        assert_eq!(body["next"], "/dashboard");
        // Single use.
        let replay = exchange("self", code, secret.clone()).await;
        assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
        // The framed cookie signs the frame's requests in, and its pages may be framed.
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        let framed = frame_client
            .get(p.url("/dashboard"))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        let csp = header_of(&framed, "content-security-policy").unwrap();
        assert!(csp.contains(&format!("frame-ancestors {HOST}")), "{csp}");
        let html = framed.text().await.unwrap();
        assert!(html.contains("data-testid=\"signed-in-as\""), "{html}");
        assert!(html.contains("lang=\"en-GB\""), "{html}");
        // Entering again with the cookie goes straight to the landing page.
        let reentry = frame_client
            .get(p.url(&entry_query()))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(reentry.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&reentry), "/dashboard");
    }

    #[tokio::test]
    async fn a_code_is_refused_for_another_frame_and_a_popup_for_a_stale_frame() {
        let p = start_embedded().await;
        let first = p.http.get(p.url(&entry_query())).send().await.unwrap();
        let first = first.text().await.unwrap();
        let second = p.http.get(p.url(&entry_query())).send().await.unwrap();
        let second = second.text().await.unwrap();
        let frame = attribute(&first, "data-frame-id");
        let started = p
            .http
            .post(p.url("/embed/popup"))
            .header(header::ORIGIN, &p.base)
            .form(&[("frame", frame.as_str())])
            .send()
            .await
            .unwrap();
        let callback = p.answer(&location(&started), "allow").await;
        p.http.get(&callback).send().await.unwrap();
        let handed = p.http.get(p.url("/embed/done")).send().await.unwrap();
        let code = attribute(&handed.text().await.unwrap(), "data-code");
        // The second frame, with its own right secret, cannot take the first frame's code.
        let stolen = bare()
            .post(p.url("/embed/exchange"))
            .header(header::ORIGIN, &p.base)
            .form(&[
                ("code", code.as_str()),
                ("frame", attribute(&second, "data-frame-id").as_str()),
                ("secret", attribute(&second, "data-frame-secret").as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
        assert!(stolen.headers().get("set-cookie").is_none());
        // A popup for a frame nobody started is refused before any sign-in starts.
        let stale = p
            .http
            .post(p.url("/embed/popup"))
            .header(header::ORIGIN, &p.base)
            .form(&[("frame", "0123456789abcdef0123456789abcdef")])
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn pages_and_server_function_answers_are_compressed_as_the_browser_asks() {
    let p = start(&[]).await;
    p.sign_in("/dashboard").await;
    // The signed-in browser's cookies, and no decoding: reqwest decodes gzip and brotli itself
    // (and drops `Content-Encoding`) when another crate of the workspace turns those features on.
    let raw = Client::builder()
        .cookie_provider(p.jar.clone())
        .redirect(Policy::none())
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .unwrap();
    let fetch = |path: &'static str, accept: Option<&'static str>| {
        let mut request = raw.get(p.url(path));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        async move { request.send().await.unwrap() }
    };
    let plain = fetch("/dashboard", None).await;
    assert_eq!(plain.headers().get(header::CONTENT_ENCODING), None);
    assert!(plain
        .text()
        .await
        .unwrap()
        .contains("data-testid=\"profile-name\""));

    let gzipped = fetch("/dashboard", Some("gzip")).await;
    assert_eq!(gzipped.status(), StatusCode::OK);
    assert_eq!(gzipped.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gzipped.headers()[header::VARY], "accept-encoding");
    assert_eq!(gzipped.headers()[header::CACHE_CONTROL], "no-store");
    let bytes = gzipped.bytes().await.unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut html)
        .unwrap();
    assert!(html.contains("data-testid=\"profile-name\""));
    assert!(
        bytes.len() * 2 < html.len(),
        "{} → {}",
        html.len(),
        bytes.len()
    );

    let brotli = fetch("/dashboard", Some("gzip;q=0.5, br")).await;
    assert_eq!(brotli.headers()[header::CONTENT_ENCODING], "br");
    // Neither asked for: as it is.
    let identity = fetch("/dashboard", Some("zstd, deflate")).await;
    assert_eq!(identity.headers().get(header::CONTENT_ENCODING), None);

    // A server function's JSON, as the page's JavaScript asks for it.
    let answer = raw
        .post(p.url(server_fn::<app::api::GetDashboard>()))
        .header(header::ORIGIN, &p.base)
        .header(header::ACCEPT, "application/json")
        .header(header::ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()[header::CONTENT_ENCODING], "br");

    // Sign-in answers carry one-time secrets next to what the request put in them (BREACH):
    // never compressed.
    let started = p.begin("/dashboard").await;
    let callback = p.answer(&location(&started), "deny").await;
    p.http.get(&callback).send().await.unwrap();
    let failed = fetch("/auth/failed", Some("gzip, br")).await;
    assert_eq!(failed.status(), StatusCode::FORBIDDEN);
    assert_eq!(failed.headers().get(header::CONTENT_ENCODING), None);
}

#[tokio::test]
async fn a_second_response_to_one_sign_in_redeems_nothing_even_from_a_stale_session() {
    use tower_sessions::SessionStore;
    let p = start(&[]).await;
    let started = p.begin("/dashboard").await;
    let callback = p.answer(&location(&started), "allow").await;
    // The session as a request that read it before the first callback saved (on this replica
    // or another) sees it: the login still pending.
    let (store, before) = p.session_record().await;
    let stale_cookie = p.session_cookie().unwrap();
    let done = p.http.get(&callback).send().await.unwrap();
    assert_eq!(location(&done), "/dashboard");
    store.save(&before).await.unwrap();
    let jar = Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&stale_cookie, &p.base.parse().unwrap());
    let stale = client(jar);
    let again = stale.get(&callback).send().await.unwrap();
    assert_eq!(location(&again), "/auth/failed?reason=completed");
    assert!(
        again.headers().get(header::SET_COOKIE).is_none(),
        "the stale session is left as it was"
    );
    let page = stale.get(p.url(&location(&again))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-kind=\"sign-in-completed\""),
        "{html:.600}"
    );
    let stats = p.sandbox.stats();
    assert_eq!(stats.token_requests(sandbox::Grant::AuthorizationCode), 1);
    // The first sign-in stands (a second redemption would have revoked its grant).
    let (status, html) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"profile-name\""));
    assert_eq!(p.grant_count().await, 1);
}

impl TestPortal {
    /// The token key the portal generated into its data directory.
    fn sealer(&self) -> app::backend::sealing::Sealer {
        let text = std::fs::read_to_string(self.data_dir.join("token.key")).unwrap();
        let key = app::backend::sealing::TokenKey::parse(&text).unwrap();
        app::backend::sealing::Sealer::new(&key, None)
    }

    /// The one grant's id and its stored access and refresh token columns.
    async fn grant_row(&self) -> (String, String, Option<String>) {
        sqlx::query_as("SELECT id, access_token, refresh_token FROM grants")
            .fetch_one(&self.db().await)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn tokens_are_sealed_at_rest_and_the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let p = start(&[]).await;
    p.sign_in("/dashboard").await;
    let (id, access, refresh) = p.grant_row().await;
    assert!(access.starts_with("enc1:"), "{access:.12}");
    let refresh = refresh.expect("the web client gets a refresh token");
    assert!(refresh.starts_with("enc1:"));
    let sealer = p.sealer();
    let token = sealer
        .open(&access, &format!("grants/{id}/access_token"))
        .unwrap()
        .plain;
    assert!(!access.contains(&token));
    // The sealed value names its row: another grant's id (or the other column) does not open it.
    assert!(sealer.open(&access, "grants/other/access_token").is_err());
    assert!(sealer
        .open(&refresh, &format!("grants/{id}/access_token"))
        .is_err());
    let mode = |name: &str| {
        std::fs::metadata(p.data_dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700);
    assert_eq!(mode("token.key"), 0o600);
    assert_eq!(mode("portal.db"), 0o600);
}

#[tokio::test]
async fn a_plaintext_grant_from_before_sealing_is_read_and_sealed_again() {
    // This test changes the database behind the portal's back, which the portal's memory of
    // SQLite sessions and grants (written through, this process owning the file) would not see.
    let p = start(&[("PORTAL_SQLITE_MEMORY", "off")]).await;
    p.sign_in("/dashboard").await;
    let (id, access, refresh) = p.grant_row().await;
    let sealer = p.sealer();
    let plain_access = sealer
        .open(&access, &format!("grants/{id}/access_token"))
        .unwrap()
        .plain;
    let plain_refresh = sealer
        .open(&refresh.unwrap(), &format!("grants/{id}/refresh_token"))
        .unwrap()
        .plain;
    sqlx::query("UPDATE grants SET access_token = ?, refresh_token = ? WHERE id = ?")
        .bind(&plain_access)
        .bind(&plain_refresh)
        .bind(&id)
        .execute(&p.db().await)
        .await
        .unwrap();
    let (status, html) = p.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"profile-name\""));
    let (_, access, refresh) = p.grant_row().await;
    assert!(access.starts_with("enc1:") && refresh.as_deref().unwrap().starts_with("enc1:"));
    let reopened = sealer
        .open(&access, &format!("grants/{id}/access_token"))
        .unwrap();
    assert_eq!(reopened.plain, plain_access);
    assert!(!reopened.reseal);
}

/// The fragment server functions (the HTML the pages' forms and islands put in place) take
/// malformed, oversized and hostile input: an error card or a 4xx, text always escaped, never
/// a 500; signed out they answer the sign-in card and no data; and a burst of them is served.
#[tokio::test]
async fn fragment_server_functions_take_malformed_oversized_and_hostile_input() {
    use app::fragments::{
        CancelExportLive, DirectoryTable, EndGuestChatsLive, ExportPanel, SetGuestDisabledLive,
    };
    let p = start(&[]).await;
    let html = |r: reqwest::Response| async move {
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<String>().await.unwrap()
    };
    let hostile = "\"><script>alert(1)</script>";

    // Signed out: the sign-in card, no table.
    let anonymous = client(Arc::new(reqwest::cookie::Jar::default()));
    let card = html(
        p.call(&anonymous, server_fn::<DirectoryTable>(), &[("search", "")])
            .await,
    )
    .await;
    assert!(card.contains(r#"data-testid="error""#), "{card}");
    assert!(card.contains("not-signed-in"), "{card}");
    assert!(!card.contains("user-row"), "{card}");

    p.sign_in("/users").await;
    let table = |search: String| {
        let p = &p;
        async move {
            html(
                p.call(
                    &p.http,
                    server_fn::<DirectoryTable>(),
                    &[("search", &search)],
                )
                .await,
            )
            .await
        }
    };
    // Malformed values get the defaults, as in a URL: page 1 of 25 active users.
    let t = table("page=abc&size=7&state=nonsense&sort=%ZZ".into()).await;
    assert_eq!(
        t.matches(r#"data-testid="user-row""#).count(),
        25,
        "{t:.300}"
    );
    // A hostile search is text in the links, never markup; hostile names are escaped.
    let t = table(format!("q={}", urlencode(hostile))).await;
    assert!(!t.contains("<script>alert(1)"), "{t}");
    let t = table("q=onerror".into()).await;
    assert!(t.contains("&lt;img src=x onerror=alert(1)&gt;"), "{t}");
    assert!(!t.contains("<img src=x"), "{t}");
    // Oversized: refused before it is read, or read and answered; never a 500. The client
    // goes on with its next requests (a refused body closes its connection).
    let r = p
        .call(
            &p.http,
            server_fn::<DirectoryTable>(),
            &[("search", &format!("q={}", "a".repeat(300_000)))],
        )
        .await;
    assert!(
        r.status() == StatusCode::PAYLOAD_TOO_LARGE || r.status() == StatusCode::OK,
        "{}",
        r.status()
    );

    // An export or a guest that is not there, named with markup: the error card, escaped.
    for path in [server_fn::<ExportPanel>(), server_fn::<CancelExportLive>()] {
        let card = html(p.call(&p.http, path, &[("id", hostile)]).await).await;
        assert!(card.contains(r#"data-testid="error""#), "{path}: {card}");
        assert!(card.contains(r#"data-status="404""#), "{path}: {card}");
        assert!(!card.contains("<script>"), "{path}: {card}");
    }
    // Ending the messaging sessions of a guest that is not there ends none (idempotent).
    let ended = html(
        p.call(
            &p.http,
            server_fn::<EndGuestChatsLive>(),
            &[("id", hostile)],
        )
        .await,
    )
    .await;
    assert_eq!(ended, "Ended 0 messaging session(s).");
    // An argument that does not decode is the caller's error.
    let r = p
        .call(
            &p.http,
            server_fn::<SetGuestDisabledLive>(),
            &[("id", "x"), ("disabled", "maybe")],
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());

    // A burst of tables at once: every one served.
    let answers =
        futures::future::join_all((1..=48).map(|n| table(format!("page={}&size=25", n % 5 + 1))))
            .await;
    for t in answers {
        assert_eq!(t.matches(r#"data-testid="user-row""#).count(), 25);
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
