//! The service page: the token manager's state, and "Rotate now". Admins only.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{request, service};
use crate::model::{AppError, Json, Rotation, ServiceStatus};

#[server(output = Json)]
pub async fn get_service_status() -> Result<ServiceStatus, AppError> {
    let (portal, session) = request::context().await?;
    service::status(&portal, &session).await
}

#[server(output = Json)]
pub async fn rotate_service_token() -> Result<Rotation, AppError> {
    let (portal, session) = request::context().await?;
    service::rotate(&portal, &session).await
}
