//! How a sandbox is configured: its listener, seeded org, OAuth clients and faults.
//! The defaults match the app's defaults so that `cargo run -p sandbox` just works.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::clients::{
    LIMITED_CLIENT_ID, PKCE_CLIENT_ID, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, WEB_CLIENT_ID,
    WEB_CLIENT_SECRET,
};
use crate::webmessaging::WebMessagingConfig;

/// The most users a sandbox org can hold.
pub const MAX_USERS: usize = 100_000;

/// The longest access-token lifetime Genesys allows an OAuth client (48 hours).
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 172_800;

/// Everything a sandbox needs to start.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen (default `127.0.0.1:0`, a free loopback port).
    pub bind: SocketAddr,
    /// How many users the seeded org has (default 1,250, at most 100,000).
    pub users: usize,
    /// The seed of the org: the same seed gives the same users, ids and all.
    pub seed: u64,
    /// API requests allowed per token per minute (default 300; 0 turns rate limiting off).
    pub rate_limit_per_minute: u32,
    /// How long an authorization code may be redeemed (default 10 minutes).
    pub code_lifetime: Duration,
    /// The OAuth clients the login host knows.
    pub clients: Vec<ClientConfig>,
    /// Faults in force from the start (they can be changed at run time).
    pub faults: FaultSettings,
    /// Seeds the fault draws (error, 429 and socket-drop rates) so that runs repeat; from
    /// entropy when `None`.
    pub fault_seed: Option<u64>,
    /// When set, grants, tokens and codes persist to this file and are reloaded at start.
    pub state_file: Option<PathBuf>,
    /// The URL clients reach the sandbox at, when it is not `http://{bind}`.
    pub public_base_url: Option<Url>,
    /// Genesys' Web Messaging side (deployment, guest token endpoints, gateway, agent); off
    /// when `None` (the default).
    pub web_messaging: Option<WebMessagingConfig>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            users: 1_250,
            seed: 1,
            rate_limit_per_minute: 300,
            code_lifetime: Duration::from_secs(600),
            clients: ClientConfig::defaults(),
            faults: FaultSettings::default(),
            fault_seed: None,
            state_file: None,
            public_base_url: None,
            web_messaging: None,
        }
    }
}

impl SandboxConfig {
    /// Checks the configuration; the message names the offending setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.users == 0 || self.users > MAX_USERS {
            return Err(format!(
                "users must be between 1 and {MAX_USERS}, got {}",
                self.users
            ));
        }
        if self.code_lifetime.is_zero() {
            return Err("code_lifetime must be positive".into());
        }
        let mut seen = std::collections::HashSet::new();
        for client in &self.clients {
            client.validate()?;
            if !seen.insert(client.id.as_str()) {
                return Err(format!("client id {:?} is configured twice", client.id));
            }
        }
        if let Some(wm) = &self.web_messaging {
            wm.validate()?;
        }
        Ok(())
    }
}

/// An OAuth grant a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

/// One OAuth client registered with the sandbox's login host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientConfig {
    pub id: String,
    pub name: String,
    /// `None` makes a public (PKCE) client.
    #[serde(default)]
    pub secret: Option<String>,
    pub grants: Vec<Grant>,
    /// Exact-match redirect URIs for `/oauth/authorize`.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Exact-match `redirect_uri`s accepted by `/logout`.
    #[serde(default)]
    pub logout_redirect_uris: Vec<String>,
    /// The scopes the client may be granted.
    pub scopes: Vec<String>,
    /// Access-token lifetime (Genesys allows 300..=172800; the sandbox also accepts shorter
    /// lifetimes, down to 1 s, for tests).
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_secs: u64,
}

fn default_token_lifetime() -> u64 {
    86_400
}

fn app_redirect_uris() -> Vec<String> {
    vec![
        "http://127.0.0.1:3000/auth/callback".into(),
        "http://localhost:3000/auth/callback".into(),
    ]
}

fn app_logout_uris() -> Vec<String> {
    vec![
        "http://127.0.0.1:3000/".into(),
        "http://localhost:3000/".into(),
    ]
}

impl ClientConfig {
    /// The app's default clients: confidential `portal-web`, public `portal-pkce`,
    /// client-credentials `portal-service`, and `portal-limited` (no users scope, for 403s).
    pub fn defaults() -> Vec<ClientConfig> {
        let user_scopes = vec![
            "users:readonly".to_string(),
            "user-basic-info".to_string(),
            "conversations:readonly".to_string(),
        ];
        vec![
            ClientConfig {
                id: WEB_CLIENT_ID.into(),
                name: "Genesys Portal (confidential)".into(),
                secret: Some(WEB_CLIENT_SECRET.into()),
                grants: vec![Grant::AuthorizationCode, Grant::RefreshToken],
                redirect_uris: app_redirect_uris(),
                logout_redirect_uris: app_logout_uris(),
                scopes: user_scopes.clone(),
                token_lifetime_secs: default_token_lifetime(),
            },
            ClientConfig {
                id: PKCE_CLIENT_ID.into(),
                name: "Genesys Portal (PKCE)".into(),
                secret: None,
                grants: vec![Grant::AuthorizationCode],
                redirect_uris: app_redirect_uris(),
                logout_redirect_uris: app_logout_uris(),
                scopes: user_scopes,
                token_lifetime_secs: default_token_lifetime(),
            },
            ClientConfig {
                id: SERVICE_CLIENT_ID.into(),
                name: "Genesys Portal (service)".into(),
                secret: Some(SERVICE_CLIENT_SECRET.into()),
                grants: vec![Grant::ClientCredentials],
                redirect_uris: Vec::new(),
                logout_redirect_uris: Vec::new(),
                scopes: vec!["users:readonly".into()],
                token_lifetime_secs: default_token_lifetime(),
            },
            ClientConfig {
                id: LIMITED_CLIENT_ID.into(),
                name: "Genesys Portal (basic info only)".into(),
                secret: None,
                grants: vec![Grant::AuthorizationCode],
                redirect_uris: app_redirect_uris(),
                logout_redirect_uris: app_logout_uris(),
                scopes: vec!["user-basic-info".into()],
                token_lifetime_secs: default_token_lifetime(),
            },
        ]
    }

    /// A public client has no secret and must use PKCE.
    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    pub fn allows(&self, grant: Grant) -> bool {
        self.grants.contains(&grant)
    }

    fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() || self.id.chars().any(|c| c.is_control() || c == ':') {
            return Err(format!(
                "client id {:?} is empty or has ':' or control characters",
                self.id
            ));
        }
        if self.token_lifetime_secs == 0 || self.token_lifetime_secs > MAX_TOKEN_LIFETIME_SECS {
            return Err(format!(
                "client {}: tokenLifetimeSecs must be between 1 and {MAX_TOKEN_LIFETIME_SECS}",
                self.id
            ));
        }
        if self.is_public() && self.allows(Grant::ClientCredentials) {
            return Err(format!(
                "client {}: client_credentials needs a secret",
                self.id
            ));
        }
        if matches!(&self.secret, Some(s) if s.is_empty()) {
            return Err(format!(
                "client {}: an empty secret; leave it out for a public client",
                self.id
            ));
        }
        for uri in self.redirect_uris.iter().chain(&self.logout_redirect_uris) {
            Url::parse(uri)
                .map_err(|e| format!("client {}: redirect URI {uri:?}: {e}", self.id))?;
        }
        Ok(())
    }
}

/// The clients file given to `--config`: either a list of clients or `{"clients": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ClientsFile {
    List(Vec<ClientConfig>),
    Object { clients: Vec<ClientConfig> },
}

impl ClientsFile {
    pub fn into_clients(self) -> Vec<ClientConfig> {
        match self {
            ClientsFile::List(c) | ClientsFile::Object { clients: c } => c,
        }
    }
}

/// Faults to inject. Rates are shares between 0 and 1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSettings {
    /// Added to every answer except the admin endpoint's.
    pub latency: Duration,
    /// Share of API requests answered with a 5xx.
    pub error_rate: f64,
    /// Share of API requests answered with a forced 429.
    pub rate_limit_rate: f64,
    /// `/oauth/token` answers 503.
    pub token_endpoint_down: bool,
    /// `/oauth/token` answers 200 with a body that is not valid JSON.
    pub malformed_token_body: bool,
    /// `/oauth/token` does its work (a refresh token is spent, new tokens are issued) and then
    /// the connection dies in the middle of the answer, as when a proxy or the network fails
    /// after the server committed.
    pub token_answer_lost: bool,
    /// Share of guest frames on the Web Messaging gateway after which the socket is dropped
    /// (no close frame, as when the network path dies).
    pub socket_drop_rate: f64,
    /// Added before every frame the gateway sends.
    pub socket_delay: Duration,
    /// User answers carry only `id` and `name`, the least the API reference requires, so that
    /// a client is shown to cope with every optional field left out.
    pub sparse_users: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_app() {
        let config = SandboxConfig::default();
        config.validate().unwrap();
        // What the portal relies on out of the box: its sign-in clients accept its default
        // callback, the PKCE one is public, the service one may use client credentials.
        let client = |id: &str| config.clients.iter().find(|c| c.id == id).unwrap();
        for id in ["portal-web", "portal-pkce"] {
            assert!(
                client(id)
                    .redirect_uris
                    .iter()
                    .any(|u| u == "http://127.0.0.1:3000/auth/callback"),
                "{id}"
            );
        }
        assert!(client("portal-pkce").is_public() && !client("portal-web").is_public());
        assert!(client("portal-service")
            .grants
            .contains(&Grant::ClientCredentials));
    }

    #[test]
    fn clients_file_in_both_shapes() {
        let object = r#"{"clients": [{"id": "my-app", "name": "My app", "secret": "s3cret",
            "grants": ["authorization_code", "refresh_token"],
            "redirectUris": ["http://localhost:8080/cb"], "logoutRedirectUris": [],
            "scopes": ["users:readonly"], "tokenLifetimeSecs": 3600}]}"#;
        let clients = serde_json::from_str::<ClientsFile>(object)
            .unwrap()
            .into_clients();
        assert_eq!(
            clients[0].grants,
            vec![Grant::AuthorizationCode, Grant::RefreshToken]
        );
        assert_eq!(clients[0].token_lifetime_secs, 3600);
        let list = r#"[{"id": "p", "name": "P", "grants": ["authorization_code"], "scopes": []}]"#;
        let clients = serde_json::from_str::<ClientsFile>(list)
            .unwrap()
            .into_clients();
        assert!(clients[0].is_public());
        assert_eq!(clients[0].token_lifetime_secs, 86_400);
        let typo = r#"[{"id": "p", "name": "P", "grants": [], "scopes": [], "redirectUri": []}]"#;
        assert!(serde_json::from_str::<ClientsFile>(typo).is_err());
    }

    #[test]
    fn bad_clients_are_refused() {
        let mut c = ClientConfig::defaults().remove(1);
        c.grants.push(Grant::ClientCredentials);
        assert!(c.validate().is_err());
        let mut c = ClientConfig::defaults().remove(0);
        c.redirect_uris.push("not a url".into());
        assert!(c.validate().is_err());
    }
}
