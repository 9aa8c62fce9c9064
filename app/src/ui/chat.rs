//! The guest's conversation: a Web Messaging socket opened with the session's `jwt`
//! (`configureAuthenticatedSession`), every message in `channel.time` order with who sent it and
//! whether it was delivered, the agent's presence, a text box, reconnection with back-off, and a
//! fresh `jwt` fetched before the current one expires. Runs in the browser only.

// The server renders the window; the frame helpers only run in the browser (and the tests).
#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use leptos::prelude::*;
use serde::Deserialize;

use crate::model::ChatSession;

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatLine {
    /// The gateway's message id (`local-…` until the guest's own echo arrives).
    pub id: String,
    pub from_guest: bool,
    pub sender: String,
    pub text: String,
    /// `channel.time`, RFC 3339: sorts the conversation.
    pub time: String,
    pub delivered: bool,
}

/// The frames of the gateway this page reads (`type` + `class`, Genesys' shapes).
#[derive(Debug, Deserialize)]
pub struct Frame {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub code: u16,
    #[serde(default)]
    pub body: serde_json::Value,
}

/// What a frame means for the page.
#[derive(Debug, PartialEq)]
pub enum Seen {
    Connected,
    Unauthorized,
    Line(ChatLine),
    AgentPresent(bool),
    LoggedOut,
    Other,
}

/// Reads one frame's text.
pub fn read_frame(text: &str) -> Seen {
    let Ok(frame) = serde_json::from_str::<Frame>(text) else {
        return Seen::Other;
    };
    match (frame.kind.as_str(), frame.class.as_str()) {
        ("response", "SessionResponse") if frame.code == 200 => Seen::Connected,
        ("response", _) if frame.code == 401 => Seen::Unauthorized,
        ("message", "LogoutEvent") => Seen::LoggedOut,
        ("message", "StructuredMessage") => structured(&frame.body),
        _ => Seen::Other,
    }
}

fn structured(body: &serde_json::Value) -> Seen {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    match body["type"].as_str() {
        Some("Text") => {
            let from_guest = body["direction"] == "Inbound";
            let sender = if from_guest {
                "You".to_string()
            } else {
                body["channel"]["from"]["nickname"]
                    .as_str()
                    .unwrap_or("Agent")
                    .to_string()
            };
            Seen::Line(ChatLine {
                id: text(&body["id"]),
                from_guest,
                sender,
                text: text(&body["text"]),
                time: text(&body["channel"]["time"]),
                delivered: true,
            })
        }
        Some("Event") => {
            let presence = body["events"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|e| e["presence"]["type"].as_str());
            match presence {
                Some("Join") => Seen::AgentPresent(true),
                Some("Disconnect") => Seen::AgentPresent(false),
                _ => Seen::Other,
            }
        }
        _ => Seen::Other,
    }
}

/// Adds a line: a replayed one (same id) once, the guest's echo replacing its pending copy,
/// all in `channel.time` order.
pub fn merge(lines: &mut Vec<ChatLine>, line: ChatLine) {
    if lines.iter().any(|l| l.id == line.id) {
        return;
    }
    if line.from_guest {
        if let Some(pending) = lines
            .iter()
            .position(|l| !l.delivered && l.text == line.text)
        {
            lines.remove(pending);
        }
    }
    lines.push(line);
    // Pending lines (no time yet) stay last.
    lines.sort_by(|a, b| (a.time.is_empty(), &a.time).cmp(&(b.time.is_empty(), &b.time)));
}

/// A JSON string.
fn json(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// The configure frame of an authenticated session.
pub fn configure_frame(session: &ChatSession, jwt: &str) -> String {
    format!(
        r#"{{"action":"configureAuthenticatedSession","token":{},"deploymentId":{},"startNew":false,"data":{{"code":{}}}}}"#,
        json(&session.session_token),
        json(&session.deployment_id),
        json(jwt),
    )
}

/// The frame of one message from the guest.
pub fn message_frame(session: &ChatSession, text: &str) -> String {
    format!(
        r#"{{"action":"onMessage","token":{},"message":{{"type":"Text","text":{}}}}}"#,
        json(&session.session_token),
        json(text),
    )
}

/// Seconds to wait before reconnect attempt `n` (1, 2, 4 … 30).
pub fn backoff_secs(attempt: u32) -> u32 {
    1u32.checked_shl(attempt.min(5)).unwrap_or(32).min(30)
}

/// The conversation: an island (the guest's page ships this and nothing else).
#[island(lazy)]
pub fn ChatWindow(session: ChatSession) -> impl IntoView {
    let lines = RwSignal::new(Vec::<ChatLine>::new());
    let status = RwSignal::new("Connecting…".to_string());
    let agent_present = RwSignal::new(false);
    let draft = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    let send = browser::connect(session, lines, status, agent_present);
    #[cfg(not(feature = "hydrate"))]
    let send = {
        let _ = session;
        |_: String| false
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked().trim().to_string();
        if text.is_empty() || text.chars().count() > 4096 {
            return;
        }
        if send(text.clone()) {
            lines.update(|l| {
                let id = format!("local-{}", l.len());
                merge(
                    l,
                    ChatLine {
                        id,
                        from_guest: true,
                        sender: "You".into(),
                        text,
                        time: String::new(),
                        delivered: false,
                    },
                );
            });
            draft.set(String::new());
        }
    };
    view! {
        <section class="card chat" aria-label="Conversation">
            <p class="muted small">
                <span data-testid="chat-status" aria-live="polite">{move || status.try_get().unwrap_or_default()}</span>
                {move || agent_present.try_get().unwrap_or(false).then(|| view! { " · " <span data-testid="agent-present">"An agent is here"</span> })}
            </p>
            <ol class="chat-lines" data-testid="chat-lines" aria-live="polite">
                {move || lines.try_get().unwrap_or_default().into_iter().map(|l| view! {
                    <li class:mine=l.from_guest data-testid="chat-line">
                        <span class="chat-sender">{l.sender}</span>
                        <span class="chat-text" data-testid="chat-text">{l.text}</span>
                        {(!l.delivered).then(|| view! { <span class="muted small">" sending…"</span> })}
                    </li>
                }).collect_view()}
            </ol>
            <form class="chat-form" on:submit=on_submit>
                <label class="visually-hidden" for="chat-input">"Message"</label>
                <input id="chat-input" autocomplete="off" maxlength="4096" placeholder="Write a message" data-testid="chat-input"
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/>
                <button type="submit" class="button button-primary" data-testid="chat-send">"Send"</button>
            </form>
        </section>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::{cell::RefCell, rc::Rc};

    use leptos::prelude::*;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    // The file's own items, named from the crate root (this block is a module inside it).
    use crate::model::ChatSession;
    use crate::ui::chat::{
        backoff_secs, configure_frame, merge, message_frame, read_frame, ChatLine, Seen,
    };

    struct Shared {
        session: ChatSession,
        jwt: String,
        socket: Option<WebSocket>,
        attempt: u32,
        ended: bool,
    }

    /// Opens the socket and keeps it open; returns how to send a message.
    pub fn connect(
        session: ChatSession,
        lines: RwSignal<Vec<ChatLine>>,
        status: RwSignal<String>,
        agent: RwSignal<bool>,
    ) -> impl Fn(String) -> bool + 'static {
        let jwt = session.jwt.clone();
        let refresh_in = session.expires_in_secs.saturating_sub(60).max(5);
        let shared = Rc::new(RefCell::new(Shared {
            session,
            jwt,
            socket: None,
            attempt: 0,
            ended: false,
        }));
        open(shared.clone(), lines, status, agent);
        schedule_refresh(shared.clone(), refresh_in);
        let on_leave = send_wrapper::SendWrapper::new(shared.clone());
        on_cleanup(move || {
            let mut s = on_leave.borrow_mut();
            s.ended = true;
            if let Some(ws) = s.socket.take() {
                let _ = ws.close();
            }
        });
        move |text: String| {
            let s = shared.borrow();
            match &s.socket {
                Some(ws) if ws.ready_state() == WebSocket::OPEN => {
                    ws.send_with_str(&message_frame(&s.session, &text)).is_ok()
                }
                _ => false,
            }
        }
    }

    fn open(
        shared: Rc<RefCell<Shared>>,
        lines: RwSignal<Vec<ChatLine>>,
        status: RwSignal<String>,
        agent: RwSignal<bool>,
    ) {
        let url = shared.borrow().session.gateway_url.clone();
        let Ok(ws) = WebSocket::new(&url) else {
            status.set("The messaging service could not be reached.".into());
            return;
        };
        let on_open = {
            let shared = shared.clone();
            Closure::<dyn FnMut()>::new(move || {
                let s = shared.borrow();
                if let Some(ws) = &s.socket {
                    let _ = ws.send_with_str(&configure_frame(&s.session, &s.jwt));
                }
            })
        };
        let on_message = {
            let shared = shared.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let Some(text) = e.data().as_string() else {
                    return;
                };
                match read_frame(&text) {
                    Seen::Connected => {
                        shared.borrow_mut().attempt = 0;
                        status.try_set("Connected".into());
                        // What the guest sent while the connection was down goes out now.
                        let s = shared.borrow();
                        if let (Some(ws), Some(lines)) = (&s.socket, lines.try_get_untracked()) {
                            for line in lines.iter().filter(|l| l.from_guest && !l.delivered) {
                                let _ = ws.send_with_str(&message_frame(&s.session, &line.text));
                            }
                        }
                    }
                    Seen::Line(line) => {
                        lines.try_update(|l| merge(l, line));
                    }
                    Seen::AgentPresent(here) => {
                        agent.try_set(here);
                    }
                    Seen::Unauthorized => renew_and_reconfigure(shared.clone(), status),
                    Seen::LoggedOut => {
                        shared.borrow_mut().ended = true;
                        agent.try_set(false);
                        status.try_set("Your messaging session has ended.".into());
                    }
                    Seen::Other => {}
                }
            })
        };
        let on_close = {
            let shared = shared.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
                let (ended, attempt) = {
                    let mut s = shared.borrow_mut();
                    s.socket = None;
                    s.attempt += 1;
                    (s.ended, s.attempt)
                };
                if ended {
                    return;
                }
                let wait = backoff_secs(attempt);
                status.try_set(format!("Connection lost; reconnecting in {wait} s…"));
                let shared = shared.clone();
                leptos::task::spawn_local(async move {
                    gloo_timers::future::TimeoutFuture::new(wait * 1000).await;
                    if !shared.borrow().ended {
                        open(shared, lines, status, agent);
                    }
                });
            })
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        // The handlers live as long as the socket: one set per connection.
        on_open.forget();
        on_message.forget();
        on_close.forget();
        shared.borrow_mut().socket = Some(ws);
    }

    /// A fresh jwt and its lifetime from the portal (`None` when the messaging session ended).
    async fn fresh_token() -> Option<(u64, String)> {
        use leptos::server_fn::ServerFn;
        let text = crate::ui::post_for_text(crate::api::ChatToken::url(), "").await?;
        let (expires, jwt) = text.split_once(' ')?;
        Some((expires.parse().ok()?, jwt.to_string()))
    }

    /// A 401 on the socket: a fresh jwt from the portal, then configure again.
    fn renew_and_reconfigure(shared: Rc<RefCell<Shared>>, status: RwSignal<String>) {
        leptos::task::spawn_local(async move {
            match fresh_token().await {
                Some((_, jwt)) => {
                    let mut s = shared.borrow_mut();
                    s.jwt = jwt;
                    if let Some(ws) = &s.socket {
                        let _ = ws.send_with_str(&configure_frame(&s.session, &s.jwt));
                    }
                }
                None => {
                    shared.borrow_mut().ended = true;
                    status.try_set(
                        "Your messaging session has ended. Reload the page to start again.".into(),
                    );
                }
            }
        });
    }

    /// Fetches a fresh jwt a minute before the current one expires, and again after that one.
    fn schedule_refresh(shared: Rc<RefCell<Shared>>, after_secs: u64) {
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new((after_secs.min(3600) * 1000) as u32).await;
            if shared.borrow().ended {
                return;
            }
            if let Some((expires_in, jwt)) = fresh_token().await {
                let next = expires_in.saturating_sub(60).max(5);
                shared.borrow_mut().jwt = jwt;
                schedule_refresh(shared, next);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_lines_presence_and_session_states() {
        assert_eq!(
            read_frame(
                r#"{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true}}"#
            ),
            Seen::Connected
        );
        assert_eq!(
            read_frame(
                r#"{"type":"response","class":"string","code":401,"body":"User is unauthorized"}"#
            ),
            Seen::Unauthorized
        );
        assert_eq!(
            read_frame(r#"{"type":"message","class":"LogoutEvent","code":200,"body":{}}"#),
            Seen::LoggedOut
        );
        let agent = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"type":"Text","direction":"Outbound","text":"Hi Ada","id":"m2","channel":{"time":"2026-12-01T10:00:01.000Z","from":{"nickname":"Sam"}}}}"#;
        let Seen::Line(line) = read_frame(agent) else {
            panic!("a line")
        };
        assert_eq!(
            (line.sender.as_str(), line.text.as_str(), line.from_guest),
            ("Sam", "Hi Ada", false)
        );
        let join = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"type":"Event","direction":"Outbound","events":[{"eventType":"Presence","presence":{"type":"Join"}}]}}"#;
        assert_eq!(read_frame(join), Seen::AgentPresent(true));
        assert_eq!(read_frame("not json"), Seen::Other);
    }

    #[test]
    fn lines_are_ordered_by_time_replays_are_dropped_and_echoes_replace_pending_copies() {
        let line = |id: &str, time: &str, text: &str, from_guest: bool, delivered: bool| ChatLine {
            id: id.into(),
            from_guest,
            sender: String::new(),
            text: text.into(),
            time: time.into(),
            delivered,
        };
        let mut lines = Vec::new();
        merge(&mut lines, line("local-0", "", "hello", true, false));
        merge(
            &mut lines,
            line("b", "2026-12-01T10:00:02Z", "reply", false, true),
        );
        merge(
            &mut lines,
            line("a", "2026-12-01T10:00:01Z", "hello", true, true),
        );
        merge(
            &mut lines,
            line("a", "2026-12-01T10:00:01Z", "hello", true, true),
        );
        assert_eq!(
            lines.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(lines.iter().all(|l| l.delivered));
    }

    #[test]
    fn the_frames_the_window_sends_are_genesys_json() {
        let session = ChatSession {
            gateway_url: "wss://example.test".into(),
            deployment_id: "d-1".into(),
            session_token: "tok\"en".into(),
            jwt: String::new(),
            expires_in_secs: 60,
        };
        let configure: serde_json::Value =
            serde_json::from_str(&configure_frame(&session, "a.b.c")).unwrap();
        assert_eq!(
            configure,
            serde_json::json!({
                "action": "configureAuthenticatedSession",
                "token": "tok\"en",
                "deploymentId": "d-1",
                "startNew": false,
                "data": { "code": "a.b.c" },
            })
        );
        let message: serde_json::Value =
            serde_json::from_str(&message_frame(&session, "Hi </script> \u{1F600}\n")).unwrap();
        assert_eq!(
            message,
            serde_json::json!({
                "action": "onMessage",
                "token": "tok\"en",
                "message": { "type": "Text", "text": "Hi </script> \u{1F600}\n" },
            })
        );
    }

    #[test]
    fn reconnects_back_off_to_thirty_seconds() {
        assert_eq!(
            (1..=7).map(backoff_secs).collect::<Vec<_>>(),
            [2, 4, 8, 16, 30, 30, 30]
        );
        assert_eq!(backoff_secs(0), 1);
    }
}
