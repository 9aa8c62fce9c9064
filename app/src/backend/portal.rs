//! The portal's shared state: the Genesys client and OAuth client, the stores, the export
//! jobs and the service identity; built once by the server, read by every request.

use std::{sync::Arc, time::Duration};

use genesys::{GenesysClient, OAuthClientConfig};

use super::{admins::AdminPolicy, export::ExportJobs, grants::GrantStore};
use crate::model::Upstream;

/// Session lifetimes and limits.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    pub pending_login_ttl: Duration,
    pub max_pending_per_browser: usize,
    pub refresh_margin: Duration,
    /// The time the callback's upstream calls (code exchange, token check, profile) get in
    /// all, so that a slow Genesys gets a page that says so before the request's own timeout.
    pub callback_budget: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            pending_login_ttl: Duration::from_secs(10 * 60),
            max_pending_per_browser: 5,
            refresh_margin: Duration::from_secs(60),
            callback_budget: Duration::from_secs(20),
        }
    }
}

/// Everything the portal needs to talk to Genesys Cloud on behalf of its users.
pub struct Portal {
    pub genesys: GenesysClient,
    pub oauth_client: OAuthClientConfig,
    pub upstream: Upstream,
    /// Scopes asked for at sign-in (empty: the OAuth client's configured scopes).
    pub scopes: Vec<String>,
    /// Optional `org` and `provider` authorize parameters.
    pub org: Option<String>,
    pub provider: Option<String>,
    /// This site's origin, e.g. `https://portal.example.com` (CSRF checks, redirects).
    pub public_origin: String,
    /// Continue to Genesys' own logout page after signing out of the portal.
    pub genesys_logout: bool,
    pub grants: GrantStore,
    /// One use of each sign-in state, across replicas.
    pub claims: super::claims::LoginClaims,
    /// This replica's name (`PORTAL_REPLICA_ID`, default the host name): in logs, audit
    /// records and the service page.
    pub replica_id: String,
    /// Requests every replica acts on (the service token's "rotate now").
    pub signals: super::signals::ReplicaSignals,
    /// The last service-rotation generation this replica acted on.
    pub seen_rotation: std::sync::atomic::AtomicI64,
    pub exports: Arc<ExportJobs>,
    /// The client-credentials token manager, when a service identity is configured.
    pub service: Option<Arc<genesys::TokenManager>>,
    /// Directory exports run as the service identity instead of the signed-in user.
    pub export_as_service: bool,
    /// Who may open the service page.
    pub admins: AdminPolicy,
    /// Who may provision Web Messaging guests.
    pub guest_managers: AdminPolicy,
    /// The guests' OpenID Connect provider.
    pub guest_idp: guest_idp::Idp,
    /// The Web Messaging deployment guests chat on, when one is configured.
    pub web_messaging: Option<WebMessaging>,
    /// The guests' messaging sessions (jwt, refresh token), by guest.
    pub guest_chats: super::chat_store::ChatStore,
    pub settings: SessionSettings,
    /// The Client App (embedded) mode, when `PORTAL_EMBED=true`.
    pub embed: Option<super::frames::Embed>,
}

/// The Web Messaging deployment and how this portal's guests reach it.
#[derive(Debug, Clone)]
pub struct WebMessaging {
    pub deployment_id: String,
    /// The gateway socket, `wss://webmessaging.{domain}/v1?deploymentId=…`.
    pub gateway_url: String,
    /// The client Genesys uses at the guest provider (the code is issued to it).
    pub client_id: String,
    /// Where the provider sends the chat sign-in back: this portal's `/guest/callback`.
    pub redirect_uri: String,
}
