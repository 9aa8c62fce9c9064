//! The scripted agent: joins a new session and greets the guest by the verified given name,
//! answers each guest message after a delay, and leaves (Presence Disconnect) on logout.

use std::sync::Arc;

use super::config::AgentScript;
use super::frames::{self, Content, Sender};
use super::session::Identity;
use super::WebMessaging;

/// A Presence event from the agent.
pub(crate) fn presence(script: &AgentScript, kind: &'static str) -> String {
    frames::structured_message(Sender::Agent, &Content::Presence(kind), &script.nickname)
}

fn say(script: &AgentScript, text: &str) -> String {
    frames::structured_message(
        Sender::Agent,
        &Content::Text {
            text,
            custom_message_id: None,
        },
        &script.nickname,
    )
}

/// A new session: the agent joins and greets, at once.
pub(crate) fn greet(wm: &WebMessaging, token: &str, conversation_id: &str, identity: &Identity) {
    let script = &wm.config.agent;
    let greeting = match identity.given_name() {
        Some(name) if matches!(identity, Identity::Guest { .. }) => {
            AgentScript::fill(&script.greeting, name, "")
        }
        _ if matches!(identity, Identity::Guest { .. }) => {
            AgentScript::fill(&script.greeting, &script.anonymous_name, "")
        }
        _ => script.anonymous_greeting.clone(),
    };
    wm.conversations
        .push(token, conversation_id, presence(script, "Join"));
    wm.conversations
        .push(token, conversation_id, say(script, &greeting));
}

/// The answer to a guest message, after the script's delay (dropped if the session was
/// cleared or ended meanwhile).
pub(crate) fn reply(
    wm: Arc<WebMessaging>,
    token: String,
    conversation_id: String,
    identity: &Identity,
    text: &str,
) {
    let script = &wm.config.agent;
    let name = identity
        .given_name()
        .unwrap_or(&script.anonymous_name)
        .to_string();
    let answer = AgentScript::fill(&script.reply, &name, text);
    let delay = script.reply_delay;
    tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let frame = say(&wm.config.agent, &answer);
        wm.conversations.push(&token, &conversation_id, frame);
    });
}
