//! `/users/export/:id`: the progress of a directory export, live in an island that puts the
//! server's rendering of it in place (refreshing without JavaScript), with Cancel while it runs
//! and Download when it is done.

use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_params_map;

use crate::{
    api::get_export_progress,
    model::{AppError, ExportProgress, ExportStatus, Json},
    ui::{live_submit, ErrorView, Loading},
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
                        Ok(p) => Either::Left(view! {
                            <ExportLive><ExportView p/></ExportLive>
                        }),
                        Err(error) => Either::Right(view! { <ErrorView error/> }),
                    }
                })}}
            </Suspense>
        </section>
    }
}

/// The progress as the server rendered it, then live in the browser: the server's next
/// rendering of it ([`export_panel`]) 500 ms after each while the job runs (until the job ends
/// or the page is left). Cancel posts in place and answers the panel at once. No props: the
/// panel says which export it shows (`data-export-id`) and whether it runs (`data-state`).
#[island(lazy)]
fn ExportLive(children: Children) -> impl IntoView {
    let panel = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    {
        let alive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let on_leave = alive.clone();
        on_cleanup(move || on_leave.store(false, std::sync::atomic::Ordering::Relaxed));
        // The running export's id, while the panel shows it running.
        let running = move || {
            panel
                .get_untracked()
                .and_then(|p| p.query_selector("[data-state=running]").ok().flatten())
                .and_then(|status| status.get_attribute("data-export-id"))
        };
        leptos::task::spawn_local(async move {
            let url = ExportPanel::url();
            loop {
                gloo_timers::future::TimeoutFuture::new(500).await;
                let Some(id) =
                    running().filter(|_| alive.load(std::sync::atomic::Ordering::Relaxed))
                else {
                    break;
                };
                let body = format!("id={}", js_sys::encode_uri_component(&id));
                let Some(html) = crate::ui::post_for_html(url, &body).await else {
                    break;
                };
                // A cancel answered while this was on its way has the last word.
                if !alive.load(std::sync::atomic::Ordering::Relaxed) || running().is_none() {
                    break;
                }
                if let Some(p) = panel.get_untracked() {
                    crate::ui::show(&p, &html);
                }
            }
        });
    }
    view! { <div id="export-panel" node_ref=panel on:submit=live_submit>{children()}</div> }
}

/// The export's progress panel, as HTML (the error card when it cannot be read).
#[server(output = Json)]
pub async fn export_panel(id: String) -> Result<String, AppError> {
    let progress = get_export_progress(id).await;
    crate::ui::answer(progress, |p| view! { <ExportView p/> })
}

/// Cancel, for a form without JavaScript and in the island: the panel after it.
#[server(output = Json)]
pub async fn cancel_export_live(id: String) -> Result<String, AppError> {
    let cancelled = crate::api::cancel_export(id.clone()).await;
    match cancelled {
        Ok(()) => export_panel(id).await,
        Err(error) => crate::ui::answer(Err::<(), _>(error), |_| ()),
    }
}

#[component]
fn ExportView(p: ExportProgress) -> impl IntoView {
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
        <p data-testid="export-status" data-export-id=p.id.clone() data-state=format!("{:?}", p.status).to_lowercase()>
            <span data-testid="export-pages">{p.pages_done}" of "{total}" pages"</span>
            " · " <span data-testid="export-users">{p.users}</span>" users · " {status}
        </p>
        <p class="muted small" data-testid="export-identity" data-service=p.as_service.to_string()>
            {if p.as_service { "Read with the portal's service identity." } else { "Read with your own Genesys Cloud permissions." }}
        </p>
        {running.then(|| view! {
            <form method="post" action=CancelExportLive::url() data-live="export-panel">
                <input type="hidden" name="id" value=id.clone()/>
                <button type="submit" class="button" data-testid="export-cancel">"Cancel"</button>
            </form>
        })}
        {done.then(|| view! {
            <a class="button button-primary" href=format!("/export/{}/users.csv", p.id) download="genesys-users.csv" data-testid="export-download" rel="external">
                "Download CSV"
            </a>
        })}
        <p><a href="/users">"← Directory"</a></p>
    }
}
