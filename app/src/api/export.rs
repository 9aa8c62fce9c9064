//! Directory exports: start one (a form POST that redirects to its progress page), follow it,
//! cancel it.

use leptos::prelude::*;

use crate::model::{AppError, ExportProgress, Json};
#[cfg(feature = "ssr")]
use crate::{
    backend::{directory, request},
    model::DirectoryQuery,
};

#[server(output = Json)]
pub async fn start_export(state: String, sort: String) -> Result<String, AppError> {
    let (portal, session) = request::context().await?;
    let (q, _) = DirectoryQuery::parse([("state", state.as_str()), ("sort", sort.as_str())]);
    let id = directory::start_export(&portal, &session, q.state, q.sort).await?;
    leptos_axum::redirect(&format!("/users/export/{id}"));
    Ok(id)
}

#[server(output = Json)]
pub async fn get_export_progress(id: String) -> Result<ExportProgress, AppError> {
    let (portal, session) = request::context().await?;
    directory::export_progress(&portal, &session, &id).await
}

#[server(output = Json)]
pub async fn cancel_export(id: String) -> Result<(), AppError> {
    let (portal, session) = request::context().await?;
    directory::cancel_export(&portal, &session, &id).await
}
