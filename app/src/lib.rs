//! genesys-portal's user interface: routes, pages and the server functions behind them.
//! Server-only code (state, sessions, protocol glue) sits behind the `ssr` feature.

pub mod auth;
pub mod components;
pub mod dashboard;
pub mod directory;
pub mod error;
pub mod service;
pub mod upstream;

#[cfg(feature = "ssr")]
pub mod genesys_errors;
#[cfg(feature = "ssr")]
pub mod request;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::{
    auth::{AuthFailedPage, HomePage},
    components::{Header, NotFoundPage},
    dashboard::DashboardPage,
    directory::{DirectoryPage, ExportPage, UserDetailPage},
    service::ServicePage,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_security_headers(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="referrer" content="strict-origin-when-cross-origin"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The Content-Security-Policy of a rendered page: scripts only from this origin or carrying
/// this response's nonce (Leptos' hydration and streaming scripts carry it).
#[cfg(feature = "ssr")]
fn set_security_headers(options: &LeptosOptions) {
    use http::{header, HeaderValue};
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let form_targets = request::portal()
        .ok()
        .map(|p| {
            let login = p.genesys.environment().login_base();
            format!(" {}", login.origin().ascii_serialization())
        })
        .unwrap_or_default();
    // `cargo leptos watch` reloads the page through a websocket on the reload port.
    let reload = if std::env::var("LEPTOS_WATCH").is_ok_and(|v| v == "true" || v == "ON") {
        format!(" ws://{}:{}", options.site_addr.ip(), options.reload_port)
    } else {
        String::new()
    };
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: https:; connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; \
         form-action 'self'{form_targets}; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
    // Pages may show personal data: never store them in shared or browser caches.
    response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    auth::SummaryResource::provide();
    // Marks the page once the wasm runs: end-to-end tests wait for it (effects never run on the server).
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/genesys-portal.css"/>
        <Title text="genesys-portal"/>
        <Router>
            <Header/>
            <main>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/dashboard") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/auth/failed") view=AuthFailedPage ssr=SsrMode::Async/>
                    <Route path=path!("/users") view=DirectoryPage ssr=SsrMode::Async/>
                    <Route path=path!("/users/export/:id") view=ExportPage ssr=SsrMode::Async/>
                    <Route path=path!("/users/:id") view=UserDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/service") view=ServicePage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
