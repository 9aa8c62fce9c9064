//! The dashboard's data.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{dashboard, request};
use crate::model::{AppError, Dashboard, Json};

#[server(output = Json)]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    let (portal, session) = request::context().await?;
    dashboard::dashboard(&portal, &session).await
}
