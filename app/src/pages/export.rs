//! `/users/export/:id`: the progress of a directory export, live once hydrated (refreshing
//! without JavaScript), with Cancel while it runs and Download when it is done.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_params_map;

use crate::{
    api::{get_export_progress, CancelExport},
    model::{ExportProgress, ExportStatus},
    ui::{ErrorView, Loading},
};

#[component]
pub fn ExportPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let progress = ArcResource::new(move || id.get(), get_export_progress);
    let cancel = ServerAction::<CancelExport>::new();
    // Poll while running: one fetch 500 ms after each answer, until the job ends or the page is left.
    #[cfg(feature = "hydrate")]
    {
        let alive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let on_leave = alive.clone();
        on_cleanup(move || on_leave.store(false, std::sync::atomic::Ordering::Relaxed));
        let progress = progress.clone();
        Effect::new(move |_| {
            if let Some(Ok(ExportProgress {
                status: ExportStatus::Running,
                ..
            })) = progress.get()
            {
                let alive = alive.clone();
                let progress = progress.clone();
                leptos::task::spawn_local(async move {
                    gloo_timers::future::TimeoutFuture::new(500).await;
                    if alive.load(std::sync::atomic::Ordering::Relaxed) {
                        progress.refetch();
                    }
                });
            }
        });
    }
    Effect::new({
        let progress = progress.clone();
        move |_| {
            if cancel.value().get().is_some() {
                progress.refetch();
            }
        }
    });
    view! {
        <section class="card">
            <h1>"Export to CSV"</h1>
            <Transition fallback=|| view! { <Loading what="the export"/> }>
                {let progress = progress.clone(); move || { let progress = progress.clone(); Suspend::new(async move {
                    match progress.await {
                        Ok(p) => Either::Left(view! { <ExportView p=p cancel=cancel/> }),
                        Err(error) => Either::Right(view! { <ErrorView error/> }),
                    }
                })}}
            </Transition>
        </section>
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
