//! genesys-portal's user interface: the document, the router and its pages, the server
//! functions behind them, and (with `ssr`) the backend they call.
//!
//! Layers, each importing only those after it: `pages` → `ui` → `api` → `backend` → `model`
//! (pages and ui may use `model` directly; `backend` never imports the UI). Only this root,
//! the router, imports `pages`. `tests/layers.rs` holds the line.

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod model;
mod pages;
pub mod ui;

/// The fragment server functions the pages' forms and islands post to (their URLs, for tests
/// and tools: `<T as ServerFn>::PATH`).
pub mod fragments {
    pub use crate::pages::{
        CancelExportLive, CheckUpstreamLive, CreateGuestLive, DeleteGuestLive, DirectoryTable,
        EndGuestChatsLive, ExportPanel, ReinviteGuestLive, RotateGuestKeyLive, RotateServiceLive,
        SetGuestDisabledLive, StartExportLive,
    };
}

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::{
    pages::{
        AuthFailedPage, ConversationPage, DashboardPage, DirectoryPage, ExportPage,
        GuestDetailPage, GuestHomePage, GuestsPage, HomePage, NotFoundPage, ServicePage,
        UserDetailPage,
    },
    ui::{Header, IslandScripts, SummaryResource},
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    api::page::set_document_headers(&options);
    // Inside Genesys Cloud: the host's language and theme.
    let host = api::page::host_context();
    let lang = host
        .as_ref()
        .map_or_else(|| "en".to_string(), |h| h.lang.clone());
    let theme = host.as_ref().and_then(|h| h.theme());
    let framed = host.is_some().then_some("true");
    view! {
        <!DOCTYPE html>
        <html lang=lang data-theme=theme data-embedded=framed>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="referrer" content="strict-origin-when-cross-origin"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet id="leptos" options=options.clone()/>
                <IslandScripts options/>
                <MetaTags/>
                {framed.map(|_| view! { <script src="/embed/frame.js" defer></script> })}
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The browser's entry (called by `frontend`, which the loader in [`ui::IslandScripts`] runs on
/// a page with islands): the islands come to life, and nothing else runs. A server function that
/// answers with a redirect loads that page (there is no client-side router).
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
        if let Some(window) = web_sys::window() {
            let _ = window.location().assign(location);
        }
    })
    .ok();
    leptos::mount::hydrate_islands();
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    SummaryResource::provide();
    view! {
        <Title text="genesys-portal"/>
        <Router>
            <a class="skip-link" href="#content" data-testid="skip-link">"Skip to content"</a>
            <Header/>
            <main id="content" tabindex="-1">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/auth/failed") view=AuthFailedPage ssr=SsrMode::Async/>
                    <Route path=path!("/users") view=DirectoryPage ssr=SsrMode::Async/>
                    <Route path=path!("/users/export/:id") view=ExportPage ssr=SsrMode::Async/>
                    <Route path=path!("/users/:id") view=UserDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/service") view=ServicePage ssr=SsrMode::Async/>
                    <Route path=path!("/guests") view=GuestsPage ssr=SsrMode::Async/>
                    <Route path=path!("/guests/:id") view=GuestDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/guest") view=GuestHomePage ssr=SsrMode::Async/>
                    <Route path=path!("/embed/conversation/:id") view=ConversationPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
