//! The deployment's smoke test: two real `genesys-portal` processes on two ports against one
//! PostgreSQL database (a throwaway cluster) and one sandbox as their org. A browser signs in
//! on one, finishes on the other, and is signed in on both; an export whose process is killed
//! is told as failed by the other.

use std::time::{Duration, Instant};

use leptos::server_fn::ServerFn;
use reqwest::{header, redirect::Policy, Client, StatusCode};

mod common;
use common::{free_port, location, postgres::Postgres, wait_until_up, PortalProcess};

#[tokio::test]
async fn two_portal_processes_share_one_database() {
    let pg = Postgres::start();
    let database = pg.database("portal").await;
    let ports = [free_port(), free_port()];
    // One public origin for both, as behind a load balancer: the first process's.
    let public = format!("http://127.0.0.1:{}", ports[0]);
    let sandbox = common::sandbox_for(&public).await;
    let upstream = sandbox.base_url().to_string();
    let key = app::backend::sealing::TokenKey::generate().to_base64();
    let dirs: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("a data directory"))
        .collect();
    let http = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let mut portals = Vec::new();
    for (n, port) in ports.iter().enumerate() {
        let replica = format!("replica-{n}");
        let mut portal = PortalProcess::start(
            *port,
            dirs[n].path(),
            n as u64,
            &[
                ("PORTAL_DATABASE_URL", &database),
                ("PORTAL_TOKEN_KEY", &key),
                ("PORTAL_PUBLIC_URL", &public),
                ("PORTAL_REPLICA_ID", &replica),
                ("GENESYS_LOGIN_URL", &upstream),
                ("GENESYS_API_URL", &upstream),
                ("GENESYS_CLIENT_ID", sandbox::WEB_CLIENT_ID),
                ("GENESYS_CLIENT_SECRET", sandbox::WEB_CLIENT_SECRET),
                ("RUST_LOG", "info"),
            ],
        );
        wait_until_up(&http, *port, &mut portal).await;
        portals.push(portal);
    }
    let at = |n: usize, path: &str| format!("http://127.0.0.1:{}{path}", ports[n]);

    let started = http
        .post(at(0, "/auth/login"))
        .header(header::ORIGIN, &public)
        .form(&[("return_to", "/dashboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        started.status(),
        StatusCode::SEE_OTHER,
        "{}",
        portals[0].log()
    );
    let callback = common::answer_sign_in(&http, &location(&started), "allow").await;
    let on_second = callback.replace(&public, &at(1, ""));
    let done = http.get(&on_second).send().await.unwrap();
    assert_eq!(location(&done), "/dashboard", "{}", portals[1].log());
    for n in [1, 0, 1] {
        let page = http.get(at(n, "/dashboard")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "process {n}");
        assert!(page
            .text()
            .await
            .unwrap()
            .contains("data-testid=\"profile-name\""));
    }
    for (n, portal) in portals.iter().enumerate() {
        let log = portal.log();
        assert!(log.contains(&format!("replica-{n}")), "{log}");
        assert!(log.contains("postgres"), "{log}");
    }

    // An export whose process dies mid-run (its page is slow to come): the other process
    // tells it failed, naming the replica, once the heartbeat is overdue.
    let call = |n: usize, path: &'static str, form: Vec<(&'static str, String)>| {
        let (http, url, public) = (&http, at(n, path), &public);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            common::call_server_fn(http, &url, public, &form).await
        }
    };
    sandbox.faults().set_latency(Duration::from_secs(60));
    let started = call(
        1,
        app::api::StartExport::PATH,
        vec![("state", "active".into()), ("sort", "ascending".into())],
    )
    .await;
    assert_eq!(started.status(), StatusCode::OK);
    let id: String = started.json().await.unwrap();
    portals[1].kill();
    let deadline = Instant::now() + app::backend::export::STALE_AFTER + Duration::from_secs(10);
    let progress = loop {
        let progress: serde_json::Value = call(
            0,
            app::api::GetExportProgress::PATH,
            vec![("id", id.clone())],
        )
        .await
        .json()
        .await
        .unwrap();
        if progress["status"] != "Running" {
            break progress;
        }
        assert!(Instant::now() < deadline, "still running: {progress}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let failure = progress["status"]["Failed"].to_string();
    assert!(
        failure.contains("replica-1") && failure.contains("stopped"),
        "{progress}"
    );
    sandbox.faults().set_latency(Duration::ZERO);
    portals[0].terminate().unwrap();
}
