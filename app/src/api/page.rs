//! What a page rendered on the server may ask of its request: the HTTP status an error view
//! wants, the address the page was asked for, and the document's security headers. Reads the
//! request scope, never the reactive context (see `backend::request`). No-ops in the browser.

/// Asks for `status` as the HTTP status of the page being rendered.
pub fn set_status(status: u16) {
    #[cfg(feature = "ssr")]
    crate::backend::request::set_page_status(status);
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// The path and query the browser asked for, on the server (`None` in the browser, where the
/// router knows).
pub fn requested_target() -> Option<String> {
    #[cfg(feature = "ssr")]
    return crate::backend::request::RequestScope::current()
        .and_then(|s| s.target().map(str::to_string));
    #[cfg(not(feature = "ssr"))]
    None
}

/// The Genesys Cloud host's context (language, theme) when the page is rendered for a framed
/// session, on the server; `None` otherwise and in the browser.
pub fn host_context() -> Option<crate::model::HostContext> {
    #[cfg(feature = "ssr")]
    return crate::backend::request::RequestScope::current().and_then(|s| s.host_context());
    #[cfg(not(feature = "ssr"))]
    None
}

/// The rendered document's Content-Security-Policy (with this response's nonce) and caching.
#[cfg(feature = "ssr")]
pub fn set_document_headers(options: &leptos::prelude::LeptosOptions) {
    use http::{header, HeaderValue};
    use leptos::prelude::use_context;

    use crate::backend::{headers, request};
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let portal = request::portal().ok();
    let form_target = portal.as_ref().map(|p| {
        let login = p.genesys.environment().login_base();
        login.origin().ascii_serialization()
    });
    let mut sockets = Vec::new();
    // The guest chat's Web Messaging gateway.
    if let Some(gateway) = portal.as_ref().and_then(|p| p.web_messaging.as_ref()) {
        if let Ok(url) = url::Url::parse(&gateway.gateway_url) {
            // The socket's scheme: CSP matches ws/wss sources by scheme and host.
            let host = url.host_str().unwrap_or_default();
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            sockets.push(format!("{}://{host}{port}", url.scheme()));
        }
    }
    // `cargo leptos watch` reloads the page through a websocket on the reload port.
    if std::env::var("LEPTOS_WATCH").is_ok_and(|v| v == "true" || v == "ON") {
        sockets.push(format!(
            "ws://{}:{}",
            options.site_addr.ip(),
            options.reload_port
        ));
    }
    let nonce = nonce.to_string();
    let csp = headers::content_security_policy(Some(&nonce), form_target.as_deref(), &sockets);
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// In a fragment server function: the page (path and query) its HTML goes into, where the
/// links and sign-in of what it renders lead back to. A no-op in the browser.
pub fn set_fragment_page(page: &str) {
    #[cfg(feature = "ssr")]
    if let Some(scope) = crate::backend::request::RequestScope::current() {
        scope.set_page(page);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = page;
}
