//! GET /export/{id}/users.csv: streams a finished directory export to its owner, from the
//! store, whichever replica made it.

use std::sync::Arc;

use app::backend::{directory, portal::Portal};
use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use tower_sessions::Session;

pub async fn download(
    State(portal): State<Arc<Portal>>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let parts = match directory::export_file(&portal, &session, &id).await {
        Ok(parts) => parts,
        Err(e) if e.status() == 401 => {
            return (StatusCode::UNAUTHORIZED, "Sign in to download exports.").into_response()
        }
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::NOT_FOUND);
            return (status, e.to_string()).into_response();
        }
    };
    // A store failure mid-file ends the body early (the browser reports the download failed)
    // rather than passing a cut file off as whole.
    let mut response = Body::from_stream(parts).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"genesys-users.csv\""),
    );
    response
}
