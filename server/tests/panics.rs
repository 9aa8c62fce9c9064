//! A panic while serving a request, in the handler itself or in a task Leptos spawned for it:
//! logged once with the request's id and route, counted, and answered with the error page
//! (never a hang, never a dropped connection). Its own process: the panic hook is global.

use std::{
    io::Write,
    sync::{atomic::Ordering, Arc, Mutex},
    time::Duration,
};

use axum::{body::Body, http::Request, middleware::from_fn_with_state, routing::get, Router};
use server::scope;
use tower::ServiceExt;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

async fn panics_in_handler() -> &'static str {
    panic!("handler broke")
}

/// Like a resource whose fetcher panics: the page waits for a task that never answers.
async fn panics_in_spawned_task() -> &'static str {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    any_spawner::Executor::spawn(async move {
        let _tx = tx;
        panic!("resource broke");
    });
    let _ = rx.await;
    std::future::pending::<()>().await;
    "never"
}

async fn spawns_and_waits_forever() -> &'static str {
    any_spawner::Executor::spawn(std::future::pending::<()>());
    "answered; the task it left behind is not needed any more"
}

async fn fine() -> &'static str {
    "fine"
}

fn router() -> Router {
    Router::new()
        .route("/boom", get(panics_in_handler))
        .route("/users", get(panics_in_spawned_task))
        .route("/leaves-a-task", get(spawns_and_waits_forever))
        .route("/fine", get(fine))
        .layer(from_fn_with_state(None, scope::scope_requests))
}

async fn call(path: &str) -> (u16, String, Option<String>) {
    call_as(path, "req-42").await
}

async fn call_as(path: &str, request_id: &str) -> (u16, String, Option<String>) {
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        router().oneshot(
            Request::get(path)
                .header("x-request-id", request_id)
                .body(Body::empty())
                .unwrap(),
        ),
    )
    .await
    .expect("answered, not hung")
    .unwrap();
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned(), id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_are_logged_once_counted_and_answered_with_the_error_page() {
    let log = Captured::default();
    tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .init();
    scope::install_panic_hook();
    scope::install_executor();
    let before = scope::PANICS.load(Ordering::SeqCst);

    let (status, body, id) = call("/fine").await;
    assert_eq!((status, body.as_str()), (200, "fine"));
    assert_eq!(id.as_deref(), Some("req-42"));

    for (path, message) in [("/boom", "handler broke"), ("/users", "resource broke")] {
        let (status, body, id) = call(path).await;
        assert_eq!(status, 500, "{path}");
        assert!(body.contains("Something went wrong"), "{body}");
        assert!(body.contains("<code data-testid=\"request-id\">req-42</code>"));
        assert_eq!(id.as_deref(), Some("req-42"));
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<_> = text.lines().filter(|l| l.contains(message)).collect();
        assert_eq!(lines.len(), 1, "logged once: {text}");
        assert!(
            lines[0].contains("request_id=\"req-42\"")
                && lines[0].contains(&format!("route=\"{path}\"")),
            "{}",
            lines[0]
        );
    }
    assert_eq!(scope::PANICS.load(Ordering::SeqCst), before + 2);
    let text = server::metrics::Metrics::new().render(server::metrics::Snapshot {
        store_up: true,
        sessions_active: 0,
        exports_running: 0,
    });
    assert!(
        text.contains(&format!("portal_panics_total {}", before + 2)),
        "{text}"
    );

    // A task a request leaves behind ends with the request's answer.
    let (status, _, _) = call("/leaves-a-task").await;
    assert_eq!(status, 200);
    for _ in 0..200 {
        if scope::TASKS_IN_FLIGHT.load(Ordering::SeqCst) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} request task(s) still running",
        scope::TASKS_IN_FLIGHT.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn an_incoming_request_id_is_kept_only_when_it_is_short_and_plain() {
    let (_, _, kept) = call_as("/fine", "3f2a-proxy-id").await;
    assert_eq!(kept.as_deref(), Some("3f2a-proxy-id"));
    for hostile in [
        String::new(),
        "a".repeat(65),
        "has spaces in it".into(),
        "<script>alert(1)</script> x".into(),
        "tab\there".into(),
    ] {
        let (status, _, id) = call_as("/fine", &hostile).await;
        assert_eq!(status, 200);
        let id = id.expect("a request id");
        assert_ne!(id, hostile);
        assert_eq!(id.len(), 32, "a fresh random id: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
}
