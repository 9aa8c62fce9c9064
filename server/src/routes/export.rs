//! GET /export/{id}/users.csv: streams a finished directory export to its owner.

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
    let path = match directory::export_file(&portal, &session, &id).await {
        Ok(path) => path,
        Err(e) if e.status() == 401 => {
            return (StatusCode::UNAUTHORIZED, "Sign in to download exports.").into_response()
        }
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::NOT_FOUND);
            return (status, e.to_string()).into_response();
        }
    };
    let Ok(file) = tokio::fs::File::open(&path).await else {
        return (
            StatusCode::GONE,
            "This export is no longer available; run it again.",
        )
            .into_response();
    };
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
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
