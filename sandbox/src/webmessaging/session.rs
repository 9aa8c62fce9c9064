//! Guest sessions keyed by the Messenger's session token: who the guest is, the conversation's
//! history (replayed on reconnect) and the open sockets that receive its messages.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::mpsc::UnboundedSender;

use super::frames;

/// What a socket's writer is told to do.
#[derive(Debug)]
pub(crate) enum SocketCommand {
    Frame(String),
    /// Send a close frame (1000, with this reason) and end the socket.
    Close(&'static str),
}

pub(crate) type SocketTx = UnboundedSender<SocketCommand>;

/// Who configured the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identity {
    Anonymous,
    /// A guest verified by the IdP: the auth session, the subject and the name claims.
    Guest {
        sid: String,
        sub: String,
        given_name: Option<String>,
        family_name: Option<String>,
        email: Option<String>,
    },
}

impl Identity {
    pub(crate) fn given_name(&self) -> Option<&str> {
        match self {
            Identity::Anonymous => None,
            Identity::Guest { given_name, .. } => given_name.as_deref(),
        }
    }
}

struct Conversation {
    /// Changes when the session is cleared, so a late agent reply is not sent into a new one.
    id: String,
    identity: Identity,
    history: Vec<String>,
    sockets: HashMap<u64, SocketTx>,
    /// When the conversation started (unix seconds).
    started_unix: i64,
    /// The participant ids of the guest and of the scripted agent.
    customer_participant: String,
    agent_participant: String,
    /// The custom attributes of the guest's last message that carried any.
    custom_attributes: BTreeMap<String, String>,
}

/// What the conversations API shows of one conversation.
#[derive(Debug, Clone)]
pub(crate) struct ConversationSnapshot {
    pub(crate) id: String,
    pub(crate) identity: Identity,
    pub(crate) started_unix: i64,
    pub(crate) customer_participant: String,
    pub(crate) agent_participant: String,
    pub(crate) custom_attributes: BTreeMap<String, String>,
    /// Whether a guest socket is attached right now.
    pub(crate) connected: bool,
    /// The scripted agent's name (filled in by `WebMessaging::conversation`).
    pub(crate) agent_name: String,
}

/// What a configure did.
pub(crate) struct Configured {
    pub(crate) conversation_id: String,
    pub(crate) new_session: bool,
}

#[derive(Default)]
pub(crate) struct Conversations {
    by_token: Mutex<HashMap<String, Conversation>>,
    next_socket: AtomicU64,
}

impl Conversations {
    pub(crate) fn socket_id(&self) -> u64 {
        self.next_socket.fetch_add(1, Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Conversation>> {
        self.by_token.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Attaches the socket to the session `token`, answers it with the `SessionResponse` and
    /// replays the history. Another identity on the same token clears the old session (the
    /// new guest never sees it), except an anonymous session that `upgrade` lets a guest keep.
    pub(crate) fn configure(
        &self,
        token: &str,
        identity: Identity,
        upgrade: bool,
        socket: (u64, &SocketTx),
    ) -> Configured {
        let mut all = self.lock();
        let mut cleared = false;
        let keep = match all.get_mut(token) {
            Some(c) if c.identity == identity => true,
            Some(c)
                if upgrade
                    && c.identity == Identity::Anonymous
                    && matches!(identity, Identity::Guest { .. }) =>
            {
                c.identity = identity.clone();
                true
            }
            Some(c) => {
                cleared = true;
                for (id, tx) in &c.sockets {
                    if *id != socket.0 {
                        let _ = tx.send(SocketCommand::Close("session cleared"));
                    }
                }
                false
            }
            None => false,
        };
        if !keep {
            all.insert(
                token.to_string(),
                Conversation {
                    id: uuid::Uuid::new_v4().to_string(),
                    identity,
                    history: Vec::new(),
                    sockets: HashMap::new(),
                    started_unix: time::OffsetDateTime::now_utc().unix_timestamp(),
                    customer_participant: uuid::Uuid::new_v4().to_string(),
                    agent_participant: uuid::Uuid::new_v4().to_string(),
                    custom_attributes: BTreeMap::new(),
                },
            );
        }
        let c = all.get_mut(token).expect("inserted above");
        let (socket_id, tx) = socket;
        let _ = tx.send(SocketCommand::Frame(frames::session_response(
            !keep, cleared,
        )));
        for frame in &c.history {
            let _ = tx.send(SocketCommand::Frame(frame.clone()));
        }
        c.sockets.insert(socket_id, tx.clone());
        Configured {
            conversation_id: c.id.clone(),
            new_session: !keep,
        }
    }

    /// Adds a frame to the history of the session (when `conversation_id` is still its
    /// conversation) and sends it to every socket of the session.
    pub(crate) fn push(&self, token: &str, conversation_id: &str, frame: String) -> bool {
        let mut all = self.lock();
        let Some(c) = all.get_mut(token).filter(|c| c.id == conversation_id) else {
            return false;
        };
        for tx in c.sockets.values() {
            let _ = tx.send(SocketCommand::Frame(frame.clone()));
        }
        c.history.push(frame);
        true
    }

    /// Keeps the custom attributes a guest message carried (string values only, as Genesys
    /// keeps participant data), when `conversation_id` is still the session's conversation.
    pub(crate) fn set_attributes(
        &self,
        token: &str,
        conversation_id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let mut all = self.lock();
        if let Some(c) = all.get_mut(token).filter(|c| c.id == conversation_id) {
            c.custom_attributes = attributes;
        }
    }

    /// The conversation with this id, as the conversations API shows it.
    pub(crate) fn find(&self, conversation_id: &str) -> Option<ConversationSnapshot> {
        self.lock()
            .values()
            .find(|c| c.id == conversation_id)
            .map(snapshot)
    }

    /// Every live conversation, newest first (the sandbox's admin listing).
    pub(crate) fn all(&self) -> Vec<ConversationSnapshot> {
        let mut list: Vec<ConversationSnapshot> = self.lock().values().map(snapshot).collect();
        list.sort_by_key(|c| std::cmp::Reverse(c.started_unix));
        list
    }

    /// The identity and conversation of the session this socket configured, if still attached.
    pub(crate) fn attached(&self, token: &str, socket_id: u64) -> Option<(Identity, String)> {
        let all = self.lock();
        let c = all
            .get(token)
            .filter(|c| c.sockets.contains_key(&socket_id))?;
        Some((c.identity.clone(), c.id.clone()))
    }

    pub(crate) fn detach(&self, token: &str, socket_id: u64) {
        if let Some(c) = self.lock().get_mut(token) {
            c.sockets.remove(&socket_id);
        }
    }

    /// Ends every session of the auth session `sid`: each gets `last` (the agent's Presence
    /// Disconnect), then its sockets get the `LogoutEvent` and close. The sessions are gone:
    /// the same token starts a new session afterwards.
    pub(crate) fn logout(&self, sid: &str, last: impl Fn() -> String) {
        let mut all = self.lock();
        all.retain(|_, c| {
            let theirs = matches!(&c.identity, Identity::Guest { sid: s, .. } if s == sid);
            if theirs {
                let disconnect = last();
                for tx in c.sockets.values() {
                    let _ = tx.send(SocketCommand::Frame(disconnect.clone()));
                    let _ = tx.send(SocketCommand::Frame(frames::logout_event()));
                    let _ = tx.send(SocketCommand::Close("logged out"));
                }
            }
            !theirs
        });
    }
}

fn snapshot(c: &Conversation) -> ConversationSnapshot {
    ConversationSnapshot {
        id: c.id.clone(),
        identity: c.identity.clone(),
        started_unix: c.started_unix,
        customer_participant: c.customer_participant.clone(),
        agent_participant: c.agent_participant.clone(),
        custom_attributes: c.custom_attributes.clone(),
        connected: !c.sockets.is_empty(),
        agent_name: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest(sub: &str) -> Identity {
        Identity::Guest {
            sid: format!("sid-{sub}"),
            sub: sub.into(),
            given_name: Some("Ada".into()),
            family_name: None,
            email: None,
        }
    }

    fn frames_of(rx: &mut tokio::sync::mpsc::UnboundedReceiver<SocketCommand>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(SocketCommand::Frame(f)) = rx.try_recv() {
            out.push(f);
        }
        out
    }

    #[test]
    fn same_guest_keeps_history_another_guest_clears_it() {
        let c = Conversations::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let first = c.configure("t", guest("a"), false, (1, &tx));
        assert!(first.new_session);
        assert!(c.push("t", &first.conversation_id, "m1".into()));
        frames_of(&mut rx);
        let again = c.configure("t", guest("a"), false, (2, &tx));
        assert!(!again.new_session);
        assert_eq!(frames_of(&mut rx)[1..], ["m1".to_string()]);
        let other = c.configure("t", guest("b"), false, (3, &tx));
        assert!(other.new_session);
        assert!(!c.push("t", &first.conversation_id, "late".into()));
    }

    #[test]
    fn logout_ends_only_that_guests_sessions() {
        let c = Conversations::default();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        c.configure("t1", guest("a"), false, (1, &tx));
        c.configure("t2", Identity::Anonymous, false, (2, &tx));
        c.logout("sid-a", || "bye".into());
        assert!(c.attached("t1", 1).is_none());
        assert!(c.attached("t2", 2).is_some());
    }
}
