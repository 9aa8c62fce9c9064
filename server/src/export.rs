//! GET /export/{id}/users.csv: streams a finished directory export to its owner.

use std::sync::Arc;

use app::{session, state::Portal};
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
    let user = match session::signed_in(&portal, &session).await {
        Ok(Some(user)) => user,
        Ok(None) | Err(_) => {
            return (StatusCode::UNAUTHORIZED, "Sign in to download exports.").into_response()
        }
    };
    let path = match portal.exports.file(&id, &user.grant_id) {
        Ok(path) => path,
        Err(e) => {
            return (
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::NOT_FOUND),
                e.to_string(),
            )
                .into_response()
        }
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(_) => {
            return (
                StatusCode::GONE,
                "This export is no longer available; run it again.",
            )
                .into_response()
        }
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
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
