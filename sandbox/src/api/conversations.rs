//! `GET /api/v2/conversations/{conversationId}`: the conversations the Web Messaging side
//! started, with a customer participant (the guest) and an agent participant (the scripted
//! agent).
//!
//! An authenticated guest's participant carries the verified claims as participant data under
//! `authenticated.` (`authenticated.sub`, `authenticated.email`, `authenticated.given_name`,
//! `authenticated.family_name`), as the deployment's inbound message flow would set them from
//! the session's claims; the guest's own custom attributes can never write that prefix. The
//! participant's `name` is given + family name, as Genesys shows it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use genesys::{Conversation, Participant, ParticipantMessage};

use super::require_scope;
use crate::org::iso_millis;
use crate::respond::ApiError;
use crate::store::TokenContext;
use crate::webmessaging::{ConversationSnapshot, Identity, AUTHENTICATED_PREFIX};
use crate::SandboxState;

/// The scopes that may read conversations.
const CONVERSATIONS_READ: &[&str] = &["conversations", "conversations:readonly"];

pub(crate) async fn get_conversation(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = require_scope(&ctx, CONVERSATIONS_READ) {
        return e.into_response();
    }
    let found = s
        .inner
        .web_messaging
        .as_ref()
        .and_then(|wm| wm.conversation(&id));
    match found {
        Some(snapshot) => Json(wire(&snapshot)).into_response(),
        None => ApiError::templated(
            StatusCode::NOT_FOUND,
            "not.found",
            "Conversation {conversationId} not found",
            &[("conversationId", id.chars().take(64).collect())],
        )
        .into_response(),
    }
}

/// The Genesys shape of a conversation.
pub(crate) fn wire(c: &ConversationSnapshot) -> Conversation {
    let started = iso_millis(c.started_unix);
    let mut attributes = c.custom_attributes.clone();
    let name = match &c.identity {
        Identity::Anonymous => None,
        Identity::Guest {
            sub,
            given_name,
            family_name,
            email,
            ..
        } => {
            let mut claim = |key: &str, value: &Option<String>| {
                if let Some(v) = value {
                    attributes.insert(format!("{AUTHENTICATED_PREFIX}{key}"), v.clone());
                }
            };
            claim("sub", &Some(sub.clone()));
            claim("email", email);
            claim("given_name", given_name);
            claim("family_name", family_name);
            let full = [given_name.as_deref(), family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty()).then_some(full)
        }
    };
    let state = if c.connected {
        "connected"
    } else {
        "disconnected"
    };
    let customer = Participant {
        id: c.customer_participant.clone(),
        purpose: Some("customer".into()),
        name,
        start_time: Some(started.clone()),
        attributes,
        messages: vec![ParticipantMessage {
            id: format!("{}-m", c.customer_participant),
            state: Some(state.into()),
            kind: Some("webmessaging".into()),
        }],
        ..Default::default()
    };
    let agent = Participant {
        id: c.agent_participant.clone(),
        purpose: Some("agent".into()),
        name: Some(c.agent_name.clone()),
        start_time: Some(started.clone()),
        messages: vec![ParticipantMessage {
            id: format!("{}-m", c.agent_participant),
            state: Some("connected".into()),
            kind: Some("webmessaging".into()),
        }],
        ..Default::default()
    };
    Conversation {
        id: c.id.clone(),
        start_time: Some(started),
        end_time: None,
        participants: vec![customer, agent],
        self_uri: Some(format!("/api/v2/conversations/{}", c.id)),
    }
}
