//! The interaction widget's conversation, for an agent inside Genesys Cloud.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{embed, request};
use crate::model::{AppError, ConversationView, Json};

#[server(output = Json)]
pub async fn get_conversation(id: String) -> Result<ConversationView, AppError> {
    let (portal, session) = request::context().await?;
    embed::conversation(&portal, &session, &id).await
}
