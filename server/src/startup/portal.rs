//! The portal's shared state from the configuration and the connection: the Genesys client,
//! export jobs, the client-credentials token manager when configured, admins and session limits.

use std::{sync::Arc, time::Duration};

use app::backend::{
    admins::AdminPolicy,
    chat_store::ChatStore,
    export::ExportJobs,
    frames::{Embed, EmbedSettings},
    portal::{Portal, SessionSettings},
};
use genesys::{
    ClientCredentialsSource, ClientId, ClientOptions, GenesysClient, TokenManager,
    TokenManagerConfig, WebhookConfig,
};

use guest_idp::{ClientSecret as IdpClientSecret, Idp, IdpConfig, RelyingParty};

use super::{storage::Storage, upstream::Connection};
use crate::config::{Config, EmbedConfig, ServiceClientSettings};

pub async fn assemble(
    config: &Config,
    connection: &Connection,
    storage: &Storage,
    observer: Option<std::sync::Arc<dyn genesys::CallObserver>>,
) -> Result<Portal, String> {
    let options = ClientOptions {
        request_timeout: upstream_timeout(config),
        observer,
        ..Default::default()
    };
    let genesys = GenesysClient::new(connection.environment.clone(), options)
        .map_err(|e| format!("HTTP client: {e}"))?;
    // Exports were files in `exports/` before they moved to the database: none is reachable.
    let _ = std::fs::remove_dir_all(config.data_dir.join("exports"));
    let exports = ExportJobs::open(storage.db.clone(), &config.replica_id)
        .await
        .map_err(|e| format!("the export jobs' table: {e}"))?;
    let guest_chats = ChatStore::new(storage.db.clone(), storage.sealer.clone());
    let guest_idp = guest_provider(config, storage).await?;
    let service = match &config.service_client {
        Some(settings) => Some(token_manager(config, settings, &genesys)?),
        None => None,
    };
    let exports = Arc::new(exports);
    tokio::spawn(reap_exports(exports.clone()));
    Ok(Portal {
        genesys,
        oauth_client: connection.oauth_client.clone(),
        upstream: connection.upstream.clone(),
        scopes: config.scopes.clone(),
        org: config.org.clone(),
        provider: config.provider.clone(),
        public_origin: config.public_origin(),
        genesys_logout: config.genesys_logout,
        grants: storage.grants.clone(),
        claims: storage.claims.clone(),
        replica_id: config.replica_id.clone(),
        signals: app::backend::signals::ReplicaSignals::new(storage.db.clone()),
        seen_rotation: Default::default(),
        exports,
        service,
        export_as_service: config.export_as_service,
        admins: policy(&config.admins),
        guest_managers: policy(&config.guest_managers),
        guest_idp,
        web_messaging: connection.web_messaging.clone(),
        guest_chats,
        settings: SessionSettings {
            idle_timeout: config.idle_timeout,
            absolute_timeout: config.absolute_timeout,
            pending_login_ttl: config.pending_login_ttl,
            callback_budget: upstream_timeout(config),
            ..Default::default()
        },
        embed: config.embed.as_ref().map(|e| {
            Embed::new(
                embed_settings(e, &connection.environment),
                storage.db.clone(),
                storage.sealer.clone(),
            )
        }),
    })
}

/// Who may frame the portal and which environment the host must name: the region's apps host
/// and `prod-…` name, plus the configured extra origins (the only ones without a region).
fn embed_settings(config: &EmbedConfig, environment: &genesys::Environment) -> EmbedSettings {
    let mut allowed_origins = Vec::new();
    if let Some(region) = environment.region() {
        allowed_origins.push(region.apps_origin());
    }
    for origin in &config.extra_origins {
        if !allowed_origins.contains(origin) {
            allowed_origins.push(origin.clone());
        }
    }
    EmbedSettings {
        allowed_origins,
        target_env: environment
            .region()
            .map(|r| r.target_env())
            .unwrap_or_else(|| config.target_env.clone()),
        region_domain: environment.region_domain().map(str::to_string),
    }
}

/// What one upstream call, and the sign-in callback's calls in all, may take: two thirds of
/// the request timeout (at most 20 s), so that a slow Genesys gets the portal's "Genesys Cloud
/// is slow" page rather than the outer layer's bare 504.
fn upstream_timeout(config: &Config) -> Duration {
    (config.request_timeout * 2 / 3).min(Duration::from_secs(20))
}

fn policy(listed: &Option<Vec<String>>) -> AdminPolicy {
    match listed {
        None => AdminPolicy::Everyone,
        Some(list) => AdminPolicy::Listed(list.clone()),
    }
}

/// The guests' OpenID Connect provider at `PORTAL_PUBLIC_URL/guest-idp`, with Genesys' Web
/// Messaging side as its relying party.
async fn guest_provider(config: &Config, storage: &Storage) -> Result<Idp, String> {
    let mut idp = IdpConfig::new(config.guest_issuer(), config.data_dir.clone());
    // Its signing keys are in the database, sealed like the tokens; with several replicas a
    // rotated key is published for 10 s (five reloads) before it signs.
    idp.key_vault = Some(Arc::new(SealedKeys(storage.sealer.clone())));
    idp.instance = Some(config.replica_id.clone());
    let shared = storage.db.engine() == app::backend::db::Engine::Postgres;
    if shared {
        idp.key_publish_ahead = KEY_PUBLISH_AHEAD;
    }
    idp.secure_cookie = config.secure_cookie();
    idp.after_sign_in_path = "/guest".into();
    let client = &config.guest_client;
    if !client.client_id.is_empty() {
        idp.clients.push(RelyingParty {
            client_id: client.client_id.clone(),
            client_secret: IdpClientSecret::new(client.client_secret.secret().to_string()),
            redirect_uris: client.redirect_uris.clone(),
            allowed_scopes: client.scopes.clone(),
        });
    }
    let idp = Idp::open(idp, storage.db.pool().clone())
        .await
        .map_err(|e| format!("the guest identity provider cannot start: {e}"))?;
    tokio::spawn(purge_guest_grants(idp.clone()));
    if shared {
        tokio::spawn(reload_guest_keys(idp.clone()));
    }
    Ok(idp)
}

/// How long a guest signing key rotated on one replica is published before it signs.
const KEY_PUBLISH_AHEAD: Duration = Duration::from_secs(10);
/// How often every replica reads the guest signing keys again.
const KEY_RELOAD_EVERY: Duration = Duration::from_secs(2);

/// The guest provider's private keys sealed with the portal's token key (AES-256-GCM, the
/// key's row as associated data).
struct SealedKeys(Arc<app::backend::sealing::Sealer>);

impl std::fmt::Debug for SealedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedKeys")
    }
}

impl guest_idp::KeyVault for SealedKeys {
    fn seal(&self, kid: &str, pem: &str) -> String {
        self.0.seal(pem, &format!("guest_idp_keys:{kid}"))
    }

    fn open(&self, kid: &str, stored: &str) -> Result<String, String> {
        self.0
            .open(stored, &format!("guest_idp_keys:{kid}"))
            .map(|o| o.plain)
            .map_err(|_| "not sealed with PORTAL_TOKEN_KEY or PORTAL_TOKEN_KEY_OLD".into())
    }
}

/// Every replica follows the others' key rotations within [`KEY_RELOAD_EVERY`].
async fn reload_guest_keys(idp: Idp) {
    let mut tick = tokio::time::interval(KEY_RELOAD_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = idp.reload_keys().await {
            tracing::warn!(error = %e, "could not reload the guest signing keys");
        }
    }
}

/// Every minute, deletes the exports whose 30 minutes are over (and marks the ones whose
/// replica stopped).
async fn reap_exports(exports: Arc<ExportJobs>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = exports.reap().await {
            tracing::warn!(error = %e, "could not reap exports");
        }
    }
}

/// Every hour, deletes the provider's expired codes, sessions, tokens and invitations.
async fn purge_guest_grants(idp: Idp) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = idp.purge_expired().await {
            tracing::warn!(error = %e, "guest provider purge failed");
        }
    }
}

/// The client-credentials token manager of the service identity, with its webhook if set.
fn token_manager(
    config: &Config,
    settings: &ServiceClientSettings,
    genesys: &GenesysClient,
) -> Result<Arc<TokenManager>, String> {
    let source = ClientCredentialsSource::new(
        genesys.clone(),
        ClientId::new(settings.client_id.clone()),
        settings.client_secret.clone(),
        settings.scopes.clone(),
    );
    let mut manager_config = TokenManagerConfig::new(settings.scopes.clone());
    if let Some((url, secret)) = &config.webhook {
        manager_config.webhook = Some(WebhookConfig::new(url.clone(), secret.clone()));
    }
    TokenManager::start(Arc::new(source), manager_config)
        .map_err(|e| format!("the client-credentials token manager cannot start: {e}"))
}
