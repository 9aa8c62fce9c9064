//! Genesys Cloud's Web Messaging side: the Messenger deployment's public config, the guest
//! token endpoints (code exchange, refresh, revoke) and the WebSocket gateway with an agent.
//!
//! The guest JWT is the sandbox's own HS256 token, signed with a random key made when the
//! sandbox starts (so tokens of one sandbox are foreign to every other); the guest never sees
//! the IdP's tokens. See `GUESTS.md` for the sequence and the shapes.

mod agent;
mod config;
mod exchange;
mod frames;
mod gateway;
mod relying_party;
mod session;
mod tokens;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::Router;
use url::Url;

pub use config::{
    AgentScript, WebMessagingConfig, MAX_JWT_LIFETIME, MAX_REFRESH_LIFETIME, MIN_REFRESH_LIFETIME,
    WEB_DEPLOYMENT_ID,
};

use crate::respond::ApiError;
use crate::SandboxState;
use relying_party::RelyingParty;
use session::Conversations;
pub(crate) use session::{ConversationSnapshot, Identity};

/// The participant-data prefix of a verified guest's claims (`authenticated.sub`, …): set by
/// the deployment's flow, never by the guest's custom attributes.
pub(crate) const AUTHENTICATED_PREFIX: &str = "authenticated.";
use tokens::Tokens;

/// The longest text of one guest message (Genesys: 4096 characters).
pub const MAX_MESSAGE_CHARS: usize = 4096;
/// The largest WebSocket frame answered with an error frame rather than read (16 KiB); frames
/// over [`MAX_SOCKET_MESSAGE_BYTES`] close the socket.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// The largest WebSocket message the gateway reads at all.
pub const MAX_SOCKET_MESSAGE_BYTES: usize = 256 * 1024;

/// The Web Messaging side of one sandbox.
pub(crate) struct WebMessaging {
    pub(crate) config: WebMessagingConfig,
    rp: RelyingParty,
    tokens: Tokens,
    conversations: Conversations,
}

impl WebMessaging {
    pub(crate) fn new(config: &WebMessagingConfig) -> Result<Self, String> {
        Ok(Self {
            rp: RelyingParty::new(config)?,
            tokens: Tokens::new(config.jwt_lifetime, config.max_refresh_lifetime),
            conversations: Conversations::default(),
            config: config.clone(),
        })
    }

    /// The conversation with this id, as the conversations API shows it.
    pub(crate) fn conversation(&self, id: &str) -> Option<ConversationSnapshot> {
        let mut found = self.conversations.find(id)?;
        found.agent_name = self.config.agent.nickname.clone();
        Some(found)
    }

    /// Every live conversation, newest first.
    pub(crate) fn conversation_list(&self) -> Vec<ConversationSnapshot> {
        let nickname = &self.config.agent.nickname;
        let mut all = self.conversations.all();
        for c in &mut all {
            c.agent_name = nickname.clone();
        }
        all
    }

    fn deployment(&self, id: &str) -> Result<(), ApiError> {
        if id == self.config.deployment_id {
            return Ok(());
        }
        Err(ApiError::templated(
            StatusCode::NOT_FOUND,
            "not.found",
            "The deployment {deploymentId} was not found.",
            &[("deploymentId", id.chars().take(64).collect())],
        ))
    }
}

/// The routes, added to the sandbox's router when Web Messaging is configured.
pub(crate) fn routes() -> Router<SandboxState> {
    Router::new()
        .route(
            "/webdeployments/v1/deployments/{id}/config.json",
            get(exchange::deployment_config),
        )
        .route(
            "/api/v2/webdeployments/token/oauthcodegrantjwtexchange",
            post(exchange::code_exchange),
        )
        .route(
            "/api/v2/webdeployments/token/refresh",
            post(exchange::refresh),
        )
        .route(
            "/api/v2/webdeployments/token/revoke",
            delete(exchange::revoke),
        )
        .route("/v1", get(gateway::upgrade))
}

/// The gateway's URL for a sandbox at `base` (`http` → `ws`, `https` → `wss`):
/// `ws://HOST:PORT/v1?deploymentId=ID`, as the Messenger opens it.
pub fn gateway_url(base: &Url, deployment_id: &str) -> Url {
    let mut url = base.clone();
    let scheme = if base.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    // Both schemes are "special" with an authority, so the change cannot fail.
    let _ = url.set_scheme(scheme);
    url.set_path("/v1");
    url.set_query(None);
    url.query_pairs_mut()
        .append_pair("deploymentId", deployment_id);
    url
}

/// The sandbox's origin as the client sees it: the configured public URL, else the `Host`.
pub(crate) fn public_origin(state: &SandboxState, headers: &HeaderMap) -> Url {
    if let Some(url) = &state.inner.public_base_url {
        return url.clone();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("127.0.0.1");
    Url::parse(&format!("http://{host}/"))
        .unwrap_or_else(|_| Url::parse("http://127.0.0.1/").expect("a valid URL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_url_has_the_messenger_shape() {
        let base = Url::parse("http://127.0.0.1:8090/").unwrap();
        assert_eq!(
            gateway_url(&base, WEB_DEPLOYMENT_ID).as_str(),
            format!("ws://127.0.0.1:8090/v1?deploymentId={WEB_DEPLOYMENT_ID}")
        );
        let tls = Url::parse("https://sandbox.example/").unwrap();
        assert!(gateway_url(&tls, "d")
            .as_str()
            .starts_with("wss://sandbox.example/v1?"));
    }
}
