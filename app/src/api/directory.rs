//! The directory: a page of users as the URL's query describes it, and one user.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{directory, request};
use crate::model::{AppError, DirectoryQuery, Json, UserDetail, UserPage};

#[server(output = Json)]
pub async fn list_directory(query: DirectoryQuery) -> Result<UserPage, AppError> {
    let (portal, session) = request::context().await?;
    directory::list(&portal, &session, &query).await
}

#[server(output = Json)]
pub async fn get_user_detail(id: String) -> Result<UserDetail, AppError> {
    let (portal, session) = request::context().await?;
    directory::detail(&portal, &session, &id).await
}
