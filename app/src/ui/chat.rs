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

/// What every frame of the gateway says first (`type` + `class` + `code`, Genesys' shapes).
#[derive(Debug, Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    code: u16,
}

/// A `StructuredMessage` frame's body, as far as the page reads it. Every field may be
/// missing or `null`: the frame then means less, never an error.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Structured {
    body: Body,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    #[serde(rename = "type")]
    kind: Option<String>,
    direction: Option<String>,
    text: Option<String>,
    id: Option<String>,
    channel: Option<Channel>,
    events: Option<Vec<EventItem>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Channel {
    time: Option<String>,
    from: Option<From>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct From {
    nickname: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EventItem {
    presence: Option<Presence>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Presence {
    #[serde(rename = "type")]
    kind: Option<String>,
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
    let Ok(head) = serde_json::from_str::<Head>(text) else {
        return Seen::Other;
    };
    match (head.kind.as_str(), head.class.as_str()) {
        ("response", "SessionResponse") if head.code == 200 => Seen::Connected,
        ("response", _) if head.code == 401 => Seen::Unauthorized,
        ("message", "LogoutEvent") => Seen::LoggedOut,
        ("message", "StructuredMessage") => match serde_json::from_str::<Structured>(text) {
            Ok(s) => structured(s.body),
            Err(_) => Seen::Other,
        },
        _ => Seen::Other,
    }
}

fn structured(body: Body) -> Seen {
    match body.kind.as_deref() {
        Some("Text") => {
            let from_guest = body.direction.as_deref() == Some("Inbound");
            let channel = body.channel.unwrap_or_default();
            let sender = if from_guest {
                "You".to_string()
            } else {
                channel
                    .from
                    .and_then(|f| f.nickname)
                    .unwrap_or_else(|| "Agent".into())
            };
            Seen::Line(ChatLine {
                id: body.id.unwrap_or_default(),
                from_guest,
                sender,
                text: body.text.unwrap_or_default(),
                time: channel.time.unwrap_or_default(),
                delivered: true,
            })
        }
        Some("Event") => {
            let presence = body
                .events
                .into_iter()
                .flatten()
                .find_map(|e| e.presence.and_then(|p| p.kind));
            match presence.as_deref() {
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

/// The conversation. The server renders the window, with the session it opens on the section
/// (`data-*`); the island ([`ChatLive`]) connects and writes the lines into it.
#[component]
pub fn ChatWindow(session: ChatSession) -> impl IntoView {
    view! {
        <ChatLive>
            <section class="card chat" aria-label="Conversation" data-chat=""
                data-gateway=session.gateway_url data-deployment=session.deployment_id
                data-session=session.session_token data-jwt=session.jwt data-expires=session.expires_in_secs>
                <p class="muted small">
                    <span data-testid="chat-status" aria-live="polite">"Connecting…"</span>
                    <span data-chat-agent="" hidden>" · " <span data-testid="agent-present">"An agent is here"</span></span>
                </p>
                <ol class="chat-lines" data-testid="chat-lines" aria-live="polite"></ol>
                <form class="chat-form">
                    <label class="visually-hidden" for="chat-input">"Message"</label>
                    <input id="chat-input" autocomplete="off" maxlength="4096" placeholder="Write a message" data-testid="chat-input"/>
                    <button type="submit" class="button button-primary" data-testid="chat-send">"Send"</button>
                </form>
            </section>
        </ChatLive>
    }
}

/// The conversation in the browser: the Web Messaging socket, and the window's lines, status
/// and presence written into the server's markup. No props and no view of its own (the guest's
/// page ships this and nothing else).
#[island(lazy)]
fn ChatLive(children: Children) -> impl IntoView {
    let root = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    {
        let chat = browser::Chat::default();
        let start = chat.clone();
        // After hydration, when the window's elements are in `root`.
        leptos::task::spawn_local(async move {
            if let Some(el) = root.get_untracked() {
                start.start(el.into());
            }
        });
        let on_submit = move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            chat.send_draft();
        };
        view! { <div node_ref=root on:submit=on_submit>{children()}</div> }
    }
    #[cfg(not(feature = "hydrate"))]
    view! { <div node_ref=root>{children()}</div> }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::{cell::RefCell, rc::Rc};

    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{CloseEvent, Element, HtmlInputElement, MessageEvent, WebSocket};

    // The file's own items, named from the crate root (this block is a module inside it).
    use crate::model::ChatSession;
    use crate::ui::chat::{
        backoff_secs, configure_frame, merge, message_frame, read_frame, ChatLine, Seen,
    };

    #[derive(Default)]
    struct Shared {
        root: Option<Element>,
        session: Option<ChatSession>,
        jwt: String,
        socket: Option<WebSocket>,
        attempt: u32,
        ended: bool,
        lines: Vec<ChatLine>,
    }

    #[derive(Clone, Default)]
    pub struct Chat(Rc<RefCell<Shared>>);

    impl Chat {
        fn find(&self, selector: &str) -> Option<Element> {
            self.0
                .borrow()
                .root
                .as_ref()?
                .query_selector(selector)
                .ok()
                .flatten()
        }

        fn status(&self, text: &str) {
            if let Some(el) = self.find("[data-testid=chat-status]") {
                el.set_text_content(Some(text));
            }
        }

        fn agent(&self, here: bool) {
            if let Some(el) = self.find("[data-chat-agent]") {
                let _ = if here {
                    el.remove_attribute("hidden")
                } else {
                    el.set_attribute("hidden", "")
                };
            }
        }

        /// The lines, written again (text only, never HTML).
        fn render(&self) {
            let (Some(list), Some(doc)) = (
                self.find("[data-testid=chat-lines]"),
                web_sys::window().and_then(|w| w.document()),
            ) else {
                return;
            };
            list.set_inner_html("");
            let span = |class: &str, testid: Option<&str>, text: &str| {
                let el = doc.create_element("span").ok()?;
                el.set_class_name(class);
                if let Some(testid) = testid {
                    let _ = el.set_attribute("data-testid", testid);
                }
                el.set_text_content(Some(text));
                Some(el)
            };
            for line in &self.0.borrow().lines {
                let Ok(li) = doc.create_element("li") else {
                    return;
                };
                if line.from_guest {
                    li.set_class_name("mine");
                }
                let _ = li.set_attribute("data-testid", "chat-line");
                let parts = [
                    span("chat-sender", None, &line.sender),
                    span("chat-text", Some("chat-text"), &line.text),
                    (!line.delivered)
                        .then(|| span("muted small", None, " sending…"))
                        .flatten(),
                ];
                for part in parts.into_iter().flatten() {
                    let _ = li.append_child(&part);
                }
                let _ = list.append_child(&li);
            }
        }

        /// Reads the session from the window and opens the socket.
        pub fn start(&self, root: Element) {
            let window = root.query_selector("[data-chat]").ok().flatten();
            let data = |name: &str| {
                window
                    .as_ref()
                    .and_then(|w| w.get_attribute(name))
                    .unwrap_or_default()
            };
            let session = ChatSession {
                gateway_url: data("data-gateway"),
                deployment_id: data("data-deployment"),
                session_token: data("data-session"),
                jwt: data("data-jwt"),
                expires_in_secs: data("data-expires").parse().unwrap_or(0),
            };
            let refresh_in = session.expires_in_secs.saturating_sub(60).max(5);
            {
                let mut s = self.0.borrow_mut();
                s.root = Some(root);
                s.jwt = session.jwt.clone();
                s.session = Some(session);
            }
            self.open();
            self.schedule_refresh(refresh_in);
            let on_leave = send_wrapper::SendWrapper::new(self.clone());
            leptos::prelude::on_cleanup(move || {
                let mut s = on_leave.0.borrow_mut();
                s.ended = true;
                if let Some(ws) = s.socket.take() {
                    let _ = ws.close();
                }
            });
        }

        /// Sends the text box's message; it shows as "sending…" until its echo arrives.
        pub fn send_draft(&self) {
            let Some(input) = self
                .find("#chat-input")
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            let text = input.value().trim().to_string();
            if text.is_empty() || text.chars().count() > 4096 {
                return;
            }
            let sent = {
                let s = self.0.borrow();
                match (&s.socket, &s.session) {
                    (Some(ws), Some(session)) if ws.ready_state() == WebSocket::OPEN => {
                        ws.send_with_str(&message_frame(session, &text)).is_ok()
                    }
                    _ => false,
                }
            };
            if sent {
                {
                    let lines = &mut self.0.borrow_mut().lines;
                    let id = format!("local-{}", lines.len());
                    merge(
                        lines,
                        ChatLine {
                            id,
                            from_guest: true,
                            sender: "You".into(),
                            text,
                            time: String::new(),
                            delivered: false,
                        },
                    );
                }
                self.render();
                input.set_value("");
            }
        }

        fn open(&self) {
            let Some(url) = self
                .0
                .borrow()
                .session
                .as_ref()
                .map(|s| s.gateway_url.clone())
            else {
                return;
            };
            let Ok(ws) = WebSocket::new(&url) else {
                self.status("The messaging service could not be reached.");
                return;
            };
            let on_open = {
                let chat = self.clone();
                Closure::<dyn FnMut()>::new(move || {
                    let s = chat.0.borrow();
                    if let (Some(ws), Some(session)) = (&s.socket, &s.session) {
                        let _ = ws.send_with_str(&configure_frame(session, &s.jwt));
                    }
                })
            };
            let on_message = {
                let chat = self.clone();
                Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                    if let Some(text) = e.data().as_string() {
                        chat.seen(read_frame(&text));
                    }
                })
            };
            let on_close = {
                let chat = self.clone();
                Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
                    let (ended, attempt) = {
                        let mut s = chat.0.borrow_mut();
                        s.socket = None;
                        s.attempt += 1;
                        (s.ended, s.attempt)
                    };
                    if ended {
                        return;
                    }
                    let wait = backoff_secs(attempt);
                    chat.status(&format!("Connection lost; reconnecting in {wait} s…"));
                    let chat = chat.clone();
                    leptos::task::spawn_local(async move {
                        gloo_timers::future::TimeoutFuture::new(wait * 1000).await;
                        if !chat.0.borrow().ended {
                            chat.open();
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
            self.0.borrow_mut().socket = Some(ws);
        }

        fn seen(&self, seen: Seen) {
            match seen {
                Seen::Connected => {
                    self.0.borrow_mut().attempt = 0;
                    self.status("Connected");
                    // What the guest sent while the connection was down goes out now.
                    let s = self.0.borrow();
                    if let (Some(ws), Some(session)) = (&s.socket, &s.session) {
                        for line in s.lines.iter().filter(|l| l.from_guest && !l.delivered) {
                            let _ = ws.send_with_str(&message_frame(session, &line.text));
                        }
                    }
                }
                Seen::Line(line) => {
                    merge(&mut self.0.borrow_mut().lines, line);
                    self.render();
                }
                Seen::AgentPresent(here) => self.agent(here),
                Seen::Unauthorized => self.renew_and_reconfigure(),
                Seen::LoggedOut => {
                    self.0.borrow_mut().ended = true;
                    self.agent(false);
                    self.status("Your messaging session has ended.");
                }
                Seen::Other => {}
            }
        }

        /// A 401 on the socket: a fresh jwt from the portal, then configure again.
        fn renew_and_reconfigure(&self) {
            let chat = self.clone();
            leptos::task::spawn_local(async move {
                match fresh_token().await {
                    Some((_, jwt)) => {
                        let mut s = chat.0.borrow_mut();
                        s.jwt = jwt;
                        if let (Some(ws), Some(session)) = (&s.socket, &s.session) {
                            let _ = ws.send_with_str(&configure_frame(session, &s.jwt));
                        }
                    }
                    None => {
                        chat.0.borrow_mut().ended = true;
                        chat.status(
                            "Your messaging session has ended. Reload the page to start again.",
                        );
                    }
                }
            });
        }

        /// Fetches a fresh jwt a minute before the current one expires, and again after that.
        fn schedule_refresh(&self, after_secs: u64) {
            let chat = self.clone();
            leptos::task::spawn_local(async move {
                gloo_timers::future::TimeoutFuture::new((after_secs.min(3600) * 1000) as u32).await;
                if chat.0.borrow().ended {
                    return;
                }
                if let Some((expires_in, jwt)) = fresh_token().await {
                    let next = expires_in.saturating_sub(60).max(5);
                    chat.0.borrow_mut().jwt = jwt;
                    chat.schedule_refresh(next);
                }
            });
        }
    }

    /// A fresh jwt and its lifetime from the portal (`None` when the messaging session ended).
    async fn fresh_token() -> Option<(u64, String)> {
        use leptos::server_fn::ServerFn;
        let text = crate::ui::live::post_for_text(crate::api::ChatToken::url(), "").await?;
        let (expires, jwt) = text.split_once(' ')?;
        Some((expires.parse().ok()?, jwt.to_string()))
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
        // Missing or null fields make a frame mean less, never an error; a body that is not an
        // object is nothing.
        let bare = r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"type":"Text","direction":"Outbound","text":null,"id":"m3","channel":{"time":null,"from":null}}}"#;
        let Seen::Line(line) = read_frame(bare) else {
            panic!("a line")
        };
        assert_eq!(
            (line.sender.as_str(), line.text.as_str(), line.time.as_str()),
            ("Agent", "", "")
        );
        assert_eq!(
            read_frame(r#"{"type":"message","class":"StructuredMessage","body":"nope"}"#),
            Seen::Other
        );
        assert_eq!(
            read_frame(
                r#"{"type":"message","class":"StructuredMessage","code":200,"body":{"type":"Event","events":[{"presence":null}]}}"#
            ),
            Seen::Other
        );
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
