//! The Web Messaging gateway (`/v1?deploymentId=`): one task per socket reading the guest's
//! frames and writing what the session sends, checked by Genesys' rules; bad frames get error.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::mpsc;

use super::session::{Identity, SocketCommand, SocketTx};
use super::tokens::JwtRefusal;
use super::MAX_SOCKET_MESSAGE_BYTES;
use super::{agent, frames, WebMessaging, MAX_FRAME_BYTES, MAX_MESSAGE_CHARS};
use crate::faults::Faults;
use crate::respond::ApiError;
use crate::SandboxState;

/// The longest session token accepted (the Messenger's are UUIDs).
const MAX_TOKEN_CHARS: usize = 128;
/// Genesys' bound on `channel.metadata.customAttributes` (serialized).
const MAX_CUSTOM_ATTRIBUTES_BYTES: usize = 2048;
const UNAUTHORIZED: &str = "User is unauthorized";

pub(crate) async fn upgrade(
    State(state): State<SandboxState>,
    Query(query): Query<HashMap<String, String>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(wm) = state.inner.web_messaging.clone() else {
        return crate::api::not_found_response("/v1");
    };
    let Some(deployment_id) = query.get("deploymentId").cloned() else {
        return ApiError::bad_request("The deploymentId query parameter is required.")
            .into_response();
    };
    if let Err(e) = wm.deployment(&deployment_id) {
        return e.into_response();
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(_) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad.request",
                "This endpoint takes WebSocket connections only.",
            )
            .into_response()
        }
    };
    let faults = state.faults();
    ws.max_message_size(MAX_SOCKET_MESSAGE_BYTES)
        .on_upgrade(move |socket| run(socket, wm, faults))
}

/// What one socket has configured.
struct Socket {
    id: u64,
    tx: SocketTx,
    token: Option<String>,
}

async fn run(mut socket: WebSocket, wm: Arc<WebMessaging>, faults: Faults) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut me = Socket {
        id: wm.conversations.socket_id(),
        tx,
        token: None,
    };
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if faults.roll_socket_drop() {
                        // A dropped connection: no close frame, as when a network path dies.
                        break;
                    }
                    handle(&wm, &mut me, text.as_str());
                }
                Some(Ok(Message::Binary(_))) => {
                    send(&me.tx, frames::error(400, "Request failed: binary frames are not supported."));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
            command = rx.recv() => match command {
                Some(SocketCommand::Frame(frame)) => {
                    let delay = faults.socket_delay();
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if socket.send(Message::Text(frame.into())).await.is_err() {
                        break;
                    }
                }
                Some(SocketCommand::Close(reason)) => {
                    let close = CloseFrame { code: 1000, reason: reason.into() };
                    let _ = socket.send(Message::Close(Some(close))).await;
                    break;
                }
                None => break,
            },
        }
    }
    if let Some(token) = &me.token {
        wm.conversations.detach(token, me.id);
    }
}

fn send(tx: &SocketTx, frame: String) {
    let _ = tx.send(SocketCommand::Frame(frame));
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Reads one frame and answers it; every mistake is an error frame and the socket stays.
fn handle(wm: &Arc<WebMessaging>, me: &mut Socket, text: &str) {
    if text.len() > MAX_FRAME_BYTES {
        let message = format!("Request failed: the frame is larger than {MAX_FRAME_BYTES} bytes.");
        return send(&me.tx, frames::error(400, &message));
    }
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return send(
            &me.tx,
            frames::error(400, "Request failed: the frame is not valid JSON."),
        );
    };
    let Some(action) = str_field(&frame, "action") else {
        return send(
            &me.tx,
            frames::error(400, "Request failed: the action is missing."),
        );
    };
    let result = match action {
        "configureSession" => configure(wm, me, &frame, false),
        "configureAuthenticatedSession" => configure(wm, me, &frame, true),
        "onMessage" => on_message(wm, me, &frame),
        "echo" => echo(me, &frame),
        other => Err((
            400,
            format!(
                "Request failed: unknown action {:?}.",
                other.chars().take(40).collect::<String>()
            ),
        )),
    };
    if let Err((code, message)) = result {
        send(&me.tx, frames::error(code, &message));
    }
}

type FrameResult = Result<(), (u16, String)>;

fn token_of(frame: &Value) -> Result<&str, (u16, String)> {
    match str_field(frame, "token") {
        Some(t) if !t.is_empty() && t.chars().count() <= MAX_TOKEN_CHARS => Ok(t),
        Some(_) => Err((400, "Request failed: the token is not valid.".into())),
        None => Err((4020, "Request failed: the token is required.".into())),
    }
}

fn configure(wm: &Arc<WebMessaging>, me: &mut Socket, frame: &Value, auth: bool) -> FrameResult {
    let token = token_of(frame)?.to_string();
    match str_field(frame, "deploymentId") {
        None => return Err((4020, "Request failed: the deploymentId is required.".into())),
        Some(d) if d != wm.config.deployment_id => {
            return Err((404, "Request failed: the deployment was not found.".into()))
        }
        Some(_) => {}
    }
    if frame.get("startNew").is_some_and(|v| !v.is_boolean()) {
        return Err((400, "Request failed: startNew must be a boolean.".into()));
    }
    let identity = if auth {
        let Some(jwt) = frame.pointer("/data/code").and_then(Value::as_str) else {
            return Err((4020, "Request failed: data.code is required.".into()));
        };
        let claims = match wm.tokens.verify(jwt) {
            Ok(c) if c.deployment_id == wm.config.deployment_id => c,
            Ok(_) | Err(JwtRefusal::Invalid | JwtRefusal::Expired | JwtRefusal::Revoked) => {
                return Err((401, UNAUTHORIZED.into()))
            }
        };
        Identity::Guest {
            sid: claims.sid,
            sub: claims.sub,
            given_name: claims.given_name,
            family_name: claims.family_name,
            email: claims.email,
        }
    } else {
        Identity::Anonymous
    };
    if let Some(old) = me.token.take() {
        wm.conversations.detach(&old, me.id);
    }
    let configured = wm.conversations.configure(
        &token,
        identity.clone(),
        wm.config.allow_session_upgrade,
        (me.id, &me.tx),
    );
    if configured.new_session {
        agent::greet(wm, &token, &configured.conversation_id, &identity);
    }
    me.token = Some(token);
    Ok(())
}

fn on_message(wm: &Arc<WebMessaging>, me: &mut Socket, frame: &Value) -> FrameResult {
    let token = token_of(frame)?;
    let attached = (me.token.as_deref() == Some(token))
        .then(|| wm.conversations.attached(token, me.id))
        .flatten();
    let Some((identity, conversation_id)) = attached else {
        return Err((
            4007,
            "Session not found: configure the session first.".into(),
        ));
    };
    if let Identity::Guest { sid, .. } = &identity {
        if wm.tokens.is_revoked(sid) {
            return Err((401, UNAUTHORIZED.into()));
        }
    }
    let message = frame
        .get("message")
        .ok_or((4020, "Request failed: the message is required.".to_string()))?;
    match str_field(message, "type") {
        Some("Text") => {}
        Some(_) => {
            return Err((
                400,
                "Request failed: only Text messages are supported.".into(),
            ))
        }
        None => return Err((4020, "Request failed: message.type is required.".into())),
    }
    let text = str_field(message, "text").unwrap_or("");
    if text.trim().is_empty() {
        return Err((400, "Request failed: message.text is required.".into()));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        let m = format!("Message exceeded the maximum length of {MAX_MESSAGE_CHARS} characters.");
        return Err((4011, m));
    }
    let mut custom = None;
    if let Some(attributes) = message.pointer("/channel/metadata/customAttributes") {
        if attributes.to_string().len() > MAX_CUSTOM_ATTRIBUTES_BYTES {
            return Err((
                4013,
                "Custom Attributes in channel metadata is larger than 2048 bytes".into(),
            ));
        }
        custom = Some(custom_attributes(attributes));
    }
    let custom_id = message
        .pointer("/metadata/customMessageId")
        .and_then(Value::as_str);
    let echo = frames::structured_message(
        frames::Sender::Guest,
        &frames::Content::Text {
            text,
            custom_message_id: custom_id,
        },
        "",
    );
    if let Some(attributes) = custom {
        wm.conversations
            .set_attributes(token, &conversation_id, attributes);
    }
    if wm.conversations.push(token, &conversation_id, echo) {
        agent::reply(
            wm.clone(),
            token.to_string(),
            conversation_id,
            &identity,
            text,
        );
    }
    Ok(())
}

/// The custom attributes as participant data: string values kept, others as their JSON text.
/// Keys under `authenticated.` are the deployment flow's (the verified claims, see
/// `api::conversations`): a guest cannot set them.
fn custom_attributes(value: &Value) -> std::collections::BTreeMap<String, String> {
    let Some(object) = value.as_object() else {
        return Default::default();
    };
    object
        .iter()
        .filter(|(k, _)| !k.starts_with(super::AUTHENTICATED_PREFIX))
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

fn echo(me: &mut Socket, frame: &Value) -> FrameResult {
    token_of(frame)?;
    let message = frame.get("message");
    let text = message.and_then(|m| str_field(m, "text")).unwrap_or("");
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err((4011, "Message exceeded the maximum length.".into()));
    }
    let custom_id = message
        .and_then(|m| m.pointer("/metadata/customMessageId"))
        .and_then(Value::as_str);
    send(&me.tx, frames::echo_response(text, custom_id));
    Ok(())
}
