//! `GET /`: a page saying what this is, which endpoints it serves and which OAuth clients it
//! knows, for whoever opens the sandbox's URL in a browser.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::config::ClientConfig;
use crate::respond::{escape_html, html_page};
use crate::SandboxState;

/// `GET /`: what this is and where things are.
pub(crate) async fn home(State(s): State<SandboxState>) -> Response {
    let mut clients: Vec<&ClientConfig> = s.inner.clients.values().collect();
    clients.sort_by(|a, b| a.id.cmp(&b.id));
    let rows: String = clients
        .iter()
        .map(|c| {
            format!(
                "<li><code>{}</code>: {} ({}; scopes {})</li>",
                escape_html(&c.id),
                escape_html(&c.name),
                if c.is_public() {
                    "public, PKCE"
                } else {
                    "confidential"
                },
                escape_html(&c.scopes.join(" "))
            )
        })
        .collect();
    html_page(
        StatusCode::OK,
        "Genesys Cloud sandbox",
        &format!(
            "<h1>Genesys Cloud sandbox</h1><p>A local stand-in for a Genesys Cloud org with {} seeded \
             users. Login host: <code>/oauth/authorize</code>, <code>/oauth/token</code>, \
             <code>/logout</code>. API host: <code>/api/v2/users</code>, \
             <code>/api/v2/users/me</code>, <code>/api/v2/users/search</code>, \
             <code>/api/v2/tokens/me</code>.</p><h2>OAuth clients</h2><ul>{rows}</ul>",
            s.user_count()
        ),
    )
}
