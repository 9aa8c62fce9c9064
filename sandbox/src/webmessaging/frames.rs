//! The gateway's outgoing frames in Genesys' shapes (as the Messenger transport SDKs decode
//! them): `SessionResponse`, `StructuredMessage` messages and echoes, events, error answers.

use serde_json::{json, Value};

/// Who a conversation message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sender {
    /// The guest: `Inbound`, `Human`.
    Guest,
    /// The scripted agent: `Outbound`, `Bot`.
    Agent,
}

/// What a conversation message carries.
pub(crate) enum Content<'a> {
    Text {
        text: &'a str,
        custom_message_id: Option<&'a str>,
    },
    /// A `Presence` event: `Join` or `Disconnect`.
    Presence(&'static str),
}

/// `2024-05-01T12:34:56.789Z`: RFC 3339 in UTC with milliseconds, as `channel.time` is.
pub(crate) fn rfc3339_ms(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn body(sender: Sender, content: &Content<'_>, agent_nickname: &str) -> Value {
    let id = uuid::Uuid::new_v4().to_string();
    let mut channel = json!({
        "time": rfc3339_ms(time::OffsetDateTime::now_utc()),
        "messageId": id,
        "type": "Private",
    });
    if sender == Sender::Agent {
        channel["from"] = json!({ "nickname": agent_nickname });
    }
    let direction = match sender {
        Sender::Guest => "Inbound",
        Sender::Agent => "Outbound",
    };
    let mut metadata = json!({ "correlationId": uuid::Uuid::new_v4().to_string() });
    let mut body = json!({
        "direction": direction,
        "id": id,
        "channel": channel,
    });
    match content {
        Content::Text {
            text,
            custom_message_id,
        } => {
            body["type"] = "Text".into();
            body["text"] = (*text).into();
            body["originatingEntity"] = match sender {
                Sender::Guest => "Human",
                Sender::Agent => "Bot",
            }
            .into();
            if let Some(c) = custom_message_id {
                metadata["customMessageId"] = (*c).into();
            }
        }
        Content::Presence(kind) => {
            body["type"] = "Event".into();
            body["events"] = json!([{ "eventType": "Presence", "presence": { "type": kind } }]);
        }
    }
    body["metadata"] = metadata;
    body
}

/// A message of the conversation, pushed to every socket of the session.
pub(crate) fn structured_message(
    sender: Sender,
    content: &Content<'_>,
    agent_nickname: &str,
) -> String {
    json!({
        "type": "message",
        "class": "StructuredMessage",
        "code": 200,
        "body": body(sender, content, agent_nickname),
    })
    .to_string()
}

/// The answer to `echo`: the text back as an inbound structured message, to that socket only.
pub(crate) fn echo_response(text: &str, custom_message_id: Option<&str>) -> String {
    let content = Content::Text {
        text,
        custom_message_id,
    };
    json!({
        "type": "response",
        "class": "StructuredMessage",
        "code": 200,
        "body": body(Sender::Guest, &content, ""),
    })
    .to_string()
}

pub(crate) fn session_response(new_session: bool, cleared_existing: bool) -> String {
    json!({
        "type": "response",
        "class": "SessionResponse",
        "code": 200,
        "body": {
            "connected": true,
            "newSession": new_session,
            "readOnly": false,
            "clearedExistingSession": cleared_existing,
        },
    })
    .to_string()
}

/// An error answer: `{"type":"response","class":"string","code":CODE,"body":"..."}`. Codes
/// are HTTP-like (400, 401, 403, 404, 429) or Genesys' 4xxx (4007 session not found, 4011
/// message too long, 4013 custom attributes too large).
pub(crate) fn error(code: u16, message: &str) -> String {
    json!({ "type": "response", "class": "string", "code": code, "body": message }).to_string()
}

/// The session was logged out (token revoked): the Messenger SDKs' `LogoutEvent`.
pub(crate) fn logout_event() -> String {
    json!({ "type": "message", "class": "LogoutEvent", "code": 200, "body": {} }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_has_milliseconds_and_z() {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_661_196_266_704_000_000).unwrap();
        assert_eq!(rfc3339_ms(t), "2022-08-22T19:24:26.704Z");
    }

    #[test]
    fn agent_text_is_outbound_bot_with_a_nickname() {
        let frame = structured_message(
            Sender::Agent,
            &Content::Text {
                text: "hi",
                custom_message_id: None,
            },
            "Agent",
        );
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["body"]["direction"], "Outbound");
        assert_eq!(v["body"]["originatingEntity"], "Bot");
        assert_eq!(v["body"]["channel"]["from"]["nickname"], "Agent");
        assert_eq!(v["body"]["id"], v["body"]["channel"]["messageId"]);
    }
}
