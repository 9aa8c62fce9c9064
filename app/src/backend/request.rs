//! The request being served, for the code that runs on its behalf: the render, the resources it
//! spawns and the server functions they call. Carried in a tokio task-local (the server wraps
//! each request in it and every task Leptos spawns inherits it), so that code never has to
//! walk the reactive owner tree to find the portal, the session or where to put the status.
//!
//! Why not `use_context`: a resource's fetcher runs in its own task, and when the browser goes
//! away mid-render the request's owner tree is dropped on another thread. If that drop lands
//! while the fetcher is inside `use_context` (which holds a read lock on its owner while it
//! upgrades the parents), the parent's cleanup write-locks that same owner and the thread
//! deadlocks (reactive_graph 0.2.16; leptos-rs/leptos#4673). Reading a task-local takes no lock.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicU16, Ordering},
        Arc, OnceLock,
    },
};

use tokio::sync::Notify;

use super::portal::Portal;
use crate::model::AppError;

tokio::task_local! {
    static CURRENT: RequestScope;
}

/// One request: its id and route (for logs), the portal and session serving it, the status its
/// page asked for, and whether any of its work panicked.
#[derive(Clone)]
pub struct RequestScope(Arc<Inner>);

struct Inner {
    id: String,
    method: String,
    route: String,
    target: OnceLock<String>,
    /// The page a fragment server function renders for (its links and sign-in return there).
    page: OnceLock<String>,
    portal: OnceLock<Arc<Portal>>,
    session: OnceLock<tower_sessions::Session>,
    cookies: OnceLock<String>,
    host_context: OnceLock<crate::model::HostContext>,
    /// Set when this request ended its session (timeout, refused refresh): the page's other
    /// parts, rendering concurrently, then say why rather than "not signed in".
    session_ended: AtomicBool,
    status: AtomicU16,
    panicked: AtomicBool,
    on_panic: Notify,
    tasks: std::sync::Mutex<Vec<tokio::task::AbortHandle>>,
}

impl RequestScope {
    /// `route` is the path only: query strings carry authorization codes and states.
    pub fn new(id: impl Into<String>, method: impl Into<String>, route: impl Into<String>) -> Self {
        Self(Arc::new(Inner {
            id: id.into(),
            method: method.into(),
            route: route.into(),
            target: OnceLock::new(),
            page: OnceLock::new(),
            portal: OnceLock::new(),
            session: OnceLock::new(),
            cookies: OnceLock::new(),
            host_context: OnceLock::new(),
            session_ended: AtomicBool::new(false),
            status: AtomicU16::new(0),
            panicked: AtomicBool::new(false),
            on_panic: Notify::new(),
            tasks: Default::default(),
        }))
    }

    /// The request the current task works for, if it works for one.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Runs `fut` as work of this request.
    pub fn run<F: Future>(self, fut: F) -> tokio::task::futures::TaskLocalFuture<Self, F> {
        CURRENT.scope(self, fut)
    }

    pub fn id(&self) -> &str {
        &self.0.id
    }

    pub fn method(&self) -> &str {
        &self.0.method
    }

    pub fn route(&self) -> &str {
        &self.0.route
    }

    /// The path and query the browser asked for: where a sign-in started from this page
    /// returns to. Never logged (queries may carry codes).
    pub fn set_target(&self, target: impl Into<String>) {
        let _ = self.0.target.set(target.into());
    }

    pub fn target(&self) -> Option<&str> {
        self.0
            .page
            .get()
            .or(self.0.target.get())
            .map(String::as_str)
    }

    /// For a fragment server function: the page (path and query) its HTML goes into, which
    /// [`target`](Self::target) then answers.
    pub fn set_page(&self, page: impl Into<String>) {
        let _ = self.0.page.set(page.into());
    }

    /// Set once, by the server, before the request reaches a handler.
    pub fn set_portal(&self, portal: Arc<Portal>) {
        let _ = self.0.portal.set(portal);
    }

    pub fn portal(&self) -> Option<Arc<Portal>> {
        self.0.portal.get().cloned()
    }

    /// Set once, by the server, as soon as the session layer has loaded the session.
    pub fn set_session(&self, session: tower_sessions::Session) {
        let _ = self.0.session.set(session);
    }

    pub fn session(&self) -> Option<tower_sessions::Session> {
        self.0.session.get().cloned()
    }

    /// Notes that this request ended its session.
    /// The Genesys host's context of a framed session, once read from the session.
    pub fn set_host_context(&self, context: crate::model::HostContext) {
        let _ = self.0.host_context.set(context);
    }

    pub fn host_context(&self) -> Option<crate::model::HostContext> {
        self.0.host_context.get().cloned()
    }

    pub fn mark_session_ended(&self) {
        self.0.session_ended.store(true, Ordering::SeqCst);
    }

    pub fn session_ended(&self) -> bool {
        self.0.session_ended.load(Ordering::SeqCst)
    }

    /// The request's `Cookie` header, set once by the server: the guest provider's own cookie
    /// is read from it. Never logged.
    pub fn set_cookies(&self, cookies: impl Into<String>) {
        let _ = self.0.cookies.set(cookies.into());
    }

    pub fn cookies(&self) -> Option<&str> {
        self.0.cookies.get().map(String::as_str)
    }

    /// The HTTP status the rendered page asked for (the last error view shown wins).
    pub fn set_status(&self, status: u16) {
        self.0.status.store(status, Ordering::Relaxed);
    }

    pub fn status(&self) -> Option<u16> {
        Some(self.0.status.load(Ordering::Relaxed)).filter(|s| *s != 0)
    }

    /// Some work of this request panicked: the request is answered with the error page.
    pub fn mark_panicked(&self) {
        self.0.panicked.store(true, Ordering::SeqCst);
        self.0.on_panic.notify_waiters();
    }

    pub fn has_panicked(&self) -> bool {
        self.0.panicked.load(Ordering::SeqCst)
    }

    /// A task spawned for this request: it is aborted when the request ends.
    pub fn track(&self, task: tokio::task::AbortHandle) {
        let mut tasks = self.0.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// Whether some task of this request is still running.
    pub fn has_live_tasks(&self) -> bool {
        let tasks = self.0.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.iter().any(|t| !t.is_finished())
    }

    /// Ends what is left of the request's tasks: once its answer is sent (or the browser has
    /// gone), nothing it rendered is needed, and Leptos leaves some resource tasks waiting
    /// forever when a render is dropped midway.
    pub fn abort_tasks(&self) {
        let tasks = std::mem::take(&mut *self.0.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            task.abort();
        }
    }

    /// Resolves once some work of this request has panicked.
    pub async fn panicked(&self) {
        loop {
            let notified = self.0.on_panic.notified();
            if self.has_panicked() {
                return;
            }
            notified.await;
        }
    }
}

/// The portal serving this request: from the request scope, else from the Leptos context
/// (server functions called outside a served request, as in unit tests).
pub fn portal() -> Result<Arc<Portal>, AppError> {
    RequestScope::current()
        .and_then(|s| s.portal())
        .or_else(leptos::prelude::use_context::<Arc<Portal>>)
        .ok_or_else(|| AppError::internal("portal state missing from context"))
}

/// The browser session of this request.
pub async fn session() -> Result<tower_sessions::Session, AppError> {
    if let Some(session) = RequestScope::current().and_then(|s| s.session()) {
        return Ok(session);
    }
    leptos_axum::extract().await.map_err(AppError::internal)
}

/// The portal and the browser session of this request: what every server function starts from.
pub async fn context() -> Result<(Arc<Portal>, tower_sessions::Session), AppError> {
    Ok((portal()?, session().await?))
}

/// Asks for `status` as the HTTP status of the page being rendered.
pub fn set_page_status(status: u16) {
    match RequestScope::current() {
        Some(scope) => scope.set_status(status),
        None => {
            if let (Some(response), Ok(status)) = (
                leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
                http::StatusCode::from_u16(status),
            ) {
                response.set_status(status);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spawned_work_sees_its_request_only_inside_the_scope() {
        assert!(RequestScope::current().is_none());
        let scope = RequestScope::new("r1", "GET", "/users");
        let seen = scope
            .clone()
            .run(async { RequestScope::current().map(|s| s.id().to_string()) })
            .await;
        assert_eq!(seen.as_deref(), Some("r1"));
        assert!(RequestScope::current().is_none());
    }

    #[tokio::test]
    async fn a_panic_mark_wakes_whoever_waits_even_if_it_came_first() {
        let scope = RequestScope::new("r2", "GET", "/");
        let waiter = tokio::spawn({
            let scope = scope.clone();
            async move { scope.panicked().await }
        });
        tokio::task::yield_now().await;
        scope.mark_panicked();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the waiter is woken")
            .unwrap();
        // Already marked: resolves at once.
        tokio::time::timeout(std::time::Duration::from_secs(5), scope.panicked())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn ending_a_request_aborts_the_tasks_it_left() {
        let scope = RequestScope::new("r4", "GET", "/users");
        let stuck = tokio::spawn(std::future::pending::<()>());
        scope.track(stuck.abort_handle());
        let done = tokio::spawn(async {});
        scope.track(done.abort_handle());
        scope.abort_tasks();
        assert!(stuck.await.unwrap_err().is_cancelled());
    }

    #[test]
    fn the_last_status_asked_for_wins_and_none_means_unset() {
        let scope = RequestScope::new("r3", "GET", "/");
        assert_eq!(scope.status(), None);
        scope.set_status(404);
        scope.set_status(502);
        assert_eq!(scope.status(), Some(502));
    }
}
