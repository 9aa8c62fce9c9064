//! `GET /logout`: a signed-out page, or a redirect to a `redirect_uri` registered as a logout
//! URI (of the named client, or of any client when none is named) and to nothing else.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{redirect_to, Params};
use crate::respond::{error_page, html_page};
use crate::SandboxState;

/// `GET /logout`: redirects only to a `redirect_uri` allow-listed for the client.
pub(crate) async fn logout(State(s): State<SandboxState>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    let Some(target) = params.get("redirect_uri") else {
        return html_page(
            StatusCode::OK,
            "Signed out",
            "<h1>Signed out</h1><p>You are signed out of the Genesys Cloud sandbox.</p>",
        );
    };
    let allowed = match params.get("client_id") {
        Some(id) => s
            .client(id)
            .is_some_and(|c| c.logout_redirect_uris.iter().any(|u| u == target)),
        None => s
            .inner
            .clients
            .values()
            .any(|c| c.logout_redirect_uris.iter().any(|u| u == target)),
    };
    if !allowed || !params.repeated.is_empty() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Logout redirect not allowed",
            "The redirect_uri is not registered as a logout URI for this client.",
        );
    }
    redirect_to(target)
}
