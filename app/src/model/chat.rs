//! What the guest's chat page needs to open its Web Messaging socket: the gateway, the
//! deployment, the guest session's token (stable across reloads, so history comes back) and the
//! current `jwt`, which lives only in the page's memory.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSession {
    /// `wss://webmessaging.{domain}/v1?deploymentId=…` (the sandbox's own gateway locally).
    pub gateway_url: String,
    pub deployment_id: String,
    /// The guest session's id at the gateway (a UUID kept server-side for this browser).
    pub session_token: String,
    /// The authenticated session's credential, for `configureAuthenticatedSession`.
    pub jwt: String,
    /// Seconds until the jwt expires; the page asks for a fresh one before then.
    pub expires_in_secs: u64,
}

/// Where a guest's chat stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChatState {
    /// No Web Messaging deployment is configured for this portal.
    Unavailable,
    /// Signed in at the provider, no messaging session yet: start one.
    NotStarted,
    Ready(ChatSession),
}
