//! Stopping: SIGTERM or SIGINT stops accepting connections and drains in-flight requests for
//! a bounded time, then the process exits, even when a render is stuck. The signal is watched
//! on a thread of its own, so a runtime whose workers are all blocked still exits.

use std::{sync::atomic::Ordering, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::scope::{REQUESTS_IN_FLIGHT, TASKS_IN_FLIGHT};

/// Starts the watcher. The token is cancelled at the first signal; `grace` later (or at a second
/// signal) the process exits with status 1 whatever is still running.
pub fn watch_signals(grace: Duration) -> std::io::Result<CancellationToken> {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("shutdown".into())
        .spawn(move || {
            runtime.block_on(async move {
                signal().await;
                tracing::info!(
                    grace_secs = grace.as_secs(),
                    "stopping: draining in-flight requests"
                );
                cancel.cancel();
                tokio::select! {
                    _ = tokio::time::sleep(grace) => {}
                    _ = signal() => tracing::warn!("second signal: not waiting any longer"),
                }
                tracing::error!(
                    requests = REQUESTS_IN_FLIGHT.load(Ordering::SeqCst),
                    render_tasks = TASKS_IN_FLIGHT.load(Ordering::SeqCst),
                    "shutdown grace period over with work still running: exiting anyway"
                );
                std::process::exit(1);
            })
        })?;
    Ok(token)
}

/// After the server stopped accepting and its connections closed: waits (up to `limit`) for the
/// render tasks those requests left behind, then reports what is left.
pub async fn drain_render_tasks(limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while TASKS_IN_FLIGHT.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left = TASKS_IN_FLIGHT.load(Ordering::SeqCst);
    if left > 0 {
        tracing::warn!(render_tasks = left, "render tasks still running at exit");
    }
}

async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
