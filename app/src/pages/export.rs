//! `/users/export/:id`: the progress of a directory export, live in an island (refreshing
//! without JavaScript), with Cancel while it runs and Download when it is done.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_params_map;

use crate::{
    api::{get_export_progress, CancelExport},
    model::{AppError, ExportProgress, ExportStatus},
    ui::{ErrorView, Loading},
};

#[component]
pub fn ExportPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").unwrap_or_default());
    let progress = ArcResource::new(move || id.clone(), get_export_progress);
    view! {
        <section class="card">
            <h1>"Export to CSV"</h1>
            <Suspense fallback=|| view! { <Loading what="the export"/> }>
                {let progress = progress.clone(); move || { let progress = progress.clone(); Suspend::new(async move {
                    match progress.await {
                        Ok(p) => Either::Left(view! { <ExportLive initial=p/> }),
                        Err(error) => Either::Right(view! { <ErrorView error/> }),
                    }
                })}}
            </Suspense>
        </section>
    }
}

/// The progress as the server rendered it, then live in the browser: one fetch 500 ms after
/// each answer while the job runs (until the job ends or the page is left), and Cancel.
#[island(lazy)]
fn ExportLive(initial: ExportProgress) -> impl IntoView {
    let progress = RwSignal::new(Ok::<_, AppError>(initial));
    let cancel = ServerAction::<CancelExport>::new();
    #[cfg(feature = "hydrate")]
    {
        let alive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let on_leave = alive.clone();
        on_cleanup(move || on_leave.store(false, std::sync::atomic::Ordering::Relaxed));
        // After each answer while the job runs: the next poll, 500 ms later; after a cancel:
        // one at once. The effect's value is the cancel count it has seen.
        Effect::new(move |seen: Option<usize>| {
            let cancels = cancel.version().get();
            let (id, running) = progress.with(|p| match p {
                Ok(p) => (Some(p.id.clone()), p.status == ExportStatus::Running),
                Err(_) => (None, false),
            });
            let cancelled_now = cancels != seen.unwrap_or(0);
            if let (Some(id), true) = (id, running || cancelled_now) {
                let alive = alive.clone();
                leptos::task::spawn_local(async move {
                    if !cancelled_now {
                        gloo_timers::future::TimeoutFuture::new(500).await;
                    }
                    if alive.load(std::sync::atomic::Ordering::Relaxed) {
                        let answer = get_export_progress(id).await;
                        if alive.load(std::sync::atomic::Ordering::Relaxed) {
                            progress.try_set(answer);
                        }
                    }
                });
            }
            cancels
        });
    }
    view! {
        {move || progress.try_get().map(|progress| match progress {
            Ok(p) => Either::Left(view! { <ExportView p=p cancel=cancel/> }),
            Err(error) => Either::Right(view! { <ErrorView error/> }),
        })}
    }
}

#[component]
fn ExportView(p: ExportProgress, cancel: ServerAction<CancelExport>) -> impl IntoView {
    let percent = p.percent();
    let total = if p.pages_total == 0 {
        "?".to_string()
    } else {
        p.pages_total.to_string()
    };
    let status = match &p.status {
        ExportStatus::Running => "Exporting…".to_string(),
        ExportStatus::Done => format!("Done in {:.1} s.", p.elapsed_ms as f64 / 1000.0),
        ExportStatus::Cancelled => "Cancelled. Nothing was kept.".to_string(),
        ExportStatus::Failed(e) => format!("Failed: {e}"),
    };
    let running = p.status == ExportStatus::Running;
    let done = p.status == ExportStatus::Done;
    let id = p.id.clone();
    view! {
        // Without JavaScript the page refreshes itself while the export runs. Set as inner
        // HTML, never as a child element: a `<meta>` the client creates inside `<noscript>`
        // (after a client-side navigation) is live and reloaded the page 2 s later, whereas
        // `innerHTML` of a `<noscript>` with scripting on is parsed as text.
        {running.then(|| view! { <noscript inner_html=r#"<meta http-equiv="refresh" content="2">"#></noscript> })}
        <progress max="100" value=percent data-testid="export-progress">{percent}"%"</progress>
        <p data-testid="export-status" data-state=format!("{:?}", p.status).to_lowercase()>
            <span data-testid="export-pages">{p.pages_done}" of "{total}" pages"</span>
            " · " <span data-testid="export-users">{p.users}</span>" users · " {status}
        </p>
        <p class="muted small" data-testid="export-identity" data-service=p.as_service.to_string()>
            {if p.as_service { "Read with the portal's service identity." } else { "Read with your own Genesys Cloud permissions." }}
        </p>
        {running.then(|| view! {
            <ActionForm action=cancel>
                <input type="hidden" name="id" value=id.clone()/>
                <button type="submit" class="button" data-testid="export-cancel">"Cancel"</button>
            </ActionForm>
        })}
        {done.then(|| view! {
            <a class="button button-primary" href=format!("/export/{}/users.csv", p.id) download="genesys-users.csv" data-testid="export-download" rel="external">
                "Download CSV"
            </a>
        })}
        <p><a href="/users">"← Directory"</a></p>
    }
}
