//! Every request runs inside its [`RequestScope`], and so does every task Leptos spawns for it:
//! a panic anywhere in that work is logged once with the request's id and route, counted in
//! `/metrics`, and turns the request's answer into the error page instead of a hang.

use std::{
    panic::AssertUnwindSafe,
    sync::{
        atomic::{AtomicI64, AtomicU64, Ordering},
        Arc,
    },
};

use any_spawner::{CustomExecutor, PinnedFuture, PinnedLocalFuture};
use app::backend::{portal::Portal, request::RequestScope};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use futures::FutureExt;
use leptos::reactive::owner::{Owner, WeakOwner};

/// Panics since start, in requests or anywhere else.
pub static PANICS: AtomicU64 = AtomicU64::new(0);
/// Requests being answered now.
pub static REQUESTS_IN_FLIGHT: AtomicI64 = AtomicI64::new(0);
/// Tasks Leptos spawned for requests (resources, suspended views) still running.
pub static TASKS_IN_FLIGHT: AtomicI64 = AtomicI64::new(0);

/// Counts one unit of work while it lives.
struct InFlight(&'static AtomicI64);

impl InFlight {
    fn enter(counter: &'static AtomicI64) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Logs a panic once, where it happens (the scope is still readable there), and counts it.
/// The payload is printed as the panic message; our secret types redact themselves.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        PANICS.fetch_add(1, Ordering::Relaxed);
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let backtrace = std::backtrace::Backtrace::capture();
        match RequestScope::current() {
            Some(scope) => tracing::error!(
                request_id = scope.id(),
                method = scope.method(),
                route = scope.route(),
                %location,
                %backtrace,
                "panic while serving a request: {message}"
            ),
            None => tracing::error!(%location, %backtrace, "panic outside any request: {message}"),
        }
    }));
}

/// Leptos' task spawner: tokio, with each task carrying the scope of the request that spawned
/// it, its panics caught (the hook has logged them) and marked on that request.
struct ScopedTokio;

fn guarded<F: std::future::Future<Output = ()>>(
    scope: Option<RequestScope>,
    fut: F,
) -> impl std::future::Future<Output = ()> {
    // Weak: a task must not keep its owner (and so itself) alive.
    let owner = Owner::current().map(|o| o.downgrade());
    let in_flight = scope.is_some().then(|| InFlight::enter(&TASKS_IN_FLIGHT));
    async move {
        let _in_flight = in_flight;
        let fut = match owner {
            Some(owner) => futures::future::Either::Left(UnderOwner::new(owner, fut)),
            None => futures::future::Either::Right(fut),
        };
        let caught = AssertUnwindSafe(fut).catch_unwind();
        let outcome = match &scope {
            Some(scope) => scope.clone().run(caught).await,
            None => caught.await,
        };
        if let (Err(_), Some(scope)) = (outcome, scope) {
            scope.mark_panicked();
        }
    }
}

/// Polls a future with `owner` as the current reactive owner (and so its arena) each time:
/// a task never sees the owner or arena some other request left on the thread. Once the owner
/// is gone the future is polled as it is.
pub struct UnderOwner<F> {
    owner: WeakOwner,
    fut: std::pin::Pin<Box<F>>,
}

impl<F> UnderOwner<F> {
    pub fn new(owner: WeakOwner, fut: F) -> Self {
        Self {
            owner,
            fut: Box::pin(fut),
        }
    }
}

impl<F: std::future::Future> std::future::Future for UnderOwner<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.get_mut();
        let fut = this.fut.as_mut();
        match this.owner.upgrade() {
            Some(owner) => owner.with(|| fut.poll(cx)),
            None => fut.poll(cx),
        }
    }
}

impl CustomExecutor for ScopedTokio {
    fn spawn(&self, fut: PinnedFuture<()>) {
        let scope = RequestScope::current();
        let task = tokio::spawn(guarded(scope.clone(), fut));
        if let Some(scope) = scope {
            scope.track(task.abort_handle());
        }
    }

    fn spawn_local(&self, fut: PinnedLocalFuture<()>) {
        let scope = RequestScope::current();
        let task = tokio::task::spawn_local(guarded(scope.clone(), fut));
        if let Some(scope) = scope {
            scope.track(task.abort_handle());
        }
    }

    fn poll_local(&self) {}
}

/// Makes [`ScopedTokio`] Leptos' spawner; must run before Leptos sets up its own (route
/// generation does). Once per process: later calls keep the first.
pub fn install_executor() {
    let _ = any_spawner::Executor::init_custom_executor(ScopedTokio);
}

/// Aborts the request's leftover tasks when dropped: with the response body once it is sent,
/// or with the request's future when the browser goes away first.
struct EndOfRequest(RequestScope);

impl Drop for EndOfRequest {
    fn drop(&mut self) {
        self.0.abort_tasks();
    }
}

/// The outermost request middleware: opens the scope, applies the status the page asked for,
/// and answers with the error page when the work panicked.
pub async fn scope_requests(
    State(portal): State<Option<Arc<Portal>>>,
    request: Request,
    next: Next,
) -> Response {
    let in_flight = InFlight::enter(&REQUESTS_IN_FLIGHT);
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(app::backend::ids::random_id);
    let scope = RequestScope::new(id.clone(), request.method().as_str(), request.uri().path());
    scope.set_target(
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/"),
    );
    let cookies = request.headers().get_all(axum::http::header::COOKIE).iter();
    let cookies: Vec<&str> = cookies.filter_map(|v| v.to_str().ok()).collect();
    if !cookies.is_empty() {
        scope.set_cookies(cookies.join("; "));
    }
    if let Some(portal) = portal {
        scope.set_portal(portal);
    }
    let end = EndOfRequest(scope.clone());
    // A root owner of our own per request: whatever Leptos creates before its own root
    // (and the arena it captures) belongs to this request, not to one that ran here before.
    let root = Owner::new_root(None);
    let work = scope
        .clone()
        .run(AssertUnwindSafe(UnderOwner::new(root.downgrade(), next.run(request))).catch_unwind());
    let answered = tokio::select! {
        biased;
        outcome = work => outcome.ok().filter(|_| !scope.has_panicked()),
        _ = scope.panicked() => None,
    };
    let mut response = match answered {
        Some(response) => response,
        None => error_page(&id),
    };
    if let Some(status) = scope.status().and_then(|s| StatusCode::from_u16(s).ok()) {
        let is_page = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        if is_page && response.status() == StatusCode::OK {
            *response.status_mut() = status;
        }
    }
    // Every 503 (the store down, the concurrency limit) says when to try again.
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(crate::middleware::STORE_RETRY_AFTER_SECS),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    if !scope.has_live_tasks() {
        return response;
    }
    // The body may still be streaming: the request ends when it is dropped.
    let (parts, body) = response.into_parts();
    let body = EndsWithRequest {
        end: Some((end, in_flight)),
        inner: Box::pin(body.into_data_stream()),
    };
    Response::from_parts(parts, axum::body::Body::from_stream(body))
}

/// A response body that ends its request when dropped: the request's tasks are aborted first,
/// before the body (and the render state it owns) is dropped.
struct EndsWithRequest<S> {
    end: Option<(EndOfRequest, InFlight)>,
    inner: std::pin::Pin<Box<S>>,
}

impl<S: futures::Stream> futures::Stream for EndsWithRequest<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<S> Drop for EndsWithRequest<S> {
    fn drop(&mut self) {
        drop(self.end.take());
    }
}

/// Hands the session the session layer loaded to the request's scope (mounted inside it).
pub async fn scope_session(request: Request, next: Next) -> Response {
    if let (Some(scope), Some(session)) = (
        RequestScope::current(),
        request.extensions().get::<tower_sessions::Session>(),
    ) {
        scope.set_session(session.clone());
        // Inside Genesys Cloud: the host's theme and language, for the document.
        if request
            .extensions()
            .get::<crate::middleware::Framed>()
            .is_some()
        {
            if let Some(context) = app::backend::embed::host_context(session).await {
                scope.set_host_context(context);
            }
        }
    }
    next.run(request).await
}

/// What a request whose work panicked gets: a page that says so, with the id to quote.
fn error_page(request_id: &str) -> Response {
    let id = request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>();
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Something went wrong · genesys-portal</title>\
         <link rel=\"stylesheet\" href=\"{css}\"></head><body><main>\
         <section class=\"card error-card\" role=\"alert\" data-testid=\"error\" data-status=\"500\">\
         <h1>Something went wrong</h1>\
         <p class=\"error-message\">The portal failed while preparing this page. Nothing you did caused it.</p>\
         <p class=\"muted\">Reload the page; if it keeps happening, give your administrator this reference: \
         <code data-testid=\"request-id\">{id}</code></p>\
         <p><a href=\"/\">Home</a></p></section></main></body></html>",
        css = crate::assets::stylesheet(),
    );
    (StatusCode::INTERNAL_SERVER_ERROR, Html(body)).into_response()
}
