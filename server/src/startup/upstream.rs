//! The Genesys Cloud the portal talks to: a real org from the `GENESYS_*` settings, or the
//! embedded sandbox, started here on its own loopback listener with this portal's redirect URIs.

use genesys::{ClientId, ClientSecret, Environment, OAuthClientConfig};

use app::{backend::portal::WebMessaging, model::Upstream};

use crate::config::{Config, OrgSettings, SandboxSettings, UpstreamConfig};

/// Where the portal's calls go and who it is there.
pub struct Connection {
    pub environment: Environment,
    pub oauth_client: OAuthClientConfig,
    pub upstream: Upstream,
    /// The embedded sandbox, when no org is configured (stops when dropped).
    pub sandbox: Option<sandbox::RunningSandbox>,
    /// The Web Messaging deployment guests chat on, if any.
    pub web_messaging: Option<WebMessaging>,
}

pub async fn connect(config: &Config) -> Result<Connection, String> {
    let redirect_uri = config
        .public_url
        .join("/auth/callback")
        .map_err(|e| e.to_string())?;
    match &config.upstream {
        UpstreamConfig::Org(org) => {
            let mut connection = org_connection(org, redirect_uri)?;
            connection.web_messaging = config.web_deployment_id.as_ref().and_then(|id| {
                let domain = connection.environment.region_domain()?;
                Some(web_messaging(
                    config,
                    id,
                    format!("wss://webmessaging.{domain}/v1?deploymentId={id}"),
                ))
            });
            Ok(connection)
        }
        UpstreamConfig::Sandbox(s) => sandbox_connection(config, s, redirect_uri).await,
    }
}

fn org_connection(org: &OrgSettings, redirect_uri: url::Url) -> Result<Connection, String> {
    let (environment, upstream) = match (&org.region, &org.login_url, &org.api_url) {
        (Some(region), _, _) => {
            let env =
                Environment::from_region(region).map_err(|e| format!("GENESYS_REGION: {e}"))?;
            let domain = env.region_domain().unwrap_or(region).to_string();
            (env, Upstream::Region(domain))
        }
        (None, Some(login), Some(api)) => {
            let env = Environment::custom(login, api)
                .map_err(|e| format!("GENESYS_LOGIN_URL/GENESYS_API_URL: {e}"))?;
            let host = env.api_base().host_str().unwrap_or("custom").to_string();
            (env, Upstream::Custom(host))
        }
        _ => return Err("GENESYS_REGION is missing".into()),
    };
    let oauth_client = OAuthClientConfig {
        client_id: ClientId::new(org.client_id.clone()),
        client_secret: org.client_secret.clone(),
        redirect_uri,
    };
    Ok(Connection {
        environment,
        oauth_client,
        upstream,
        sandbox: None,
        web_messaging: None,
    })
}

fn web_messaging(config: &Config, deployment_id: &str, gateway_url: String) -> WebMessaging {
    let client = &config.guest_client;
    WebMessaging {
        deployment_id: deployment_id.to_string(),
        gateway_url,
        client_id: client.client_id.clone(),
        redirect_uri: client
            .redirect_uris
            .first()
            .cloned()
            .unwrap_or_else(|| format!("{}/guest/callback", config.public_origin())),
    }
}

async fn sandbox_connection(
    config: &Config,
    s: &SandboxSettings,
    redirect_uri: url::Url,
) -> Result<Connection, String> {
    let mut sandbox_config = sandbox::SandboxConfig {
        bind: ([127, 0, 0, 1], s.port).into(),
        users: s.users,
        seed: s.seed,
        rate_limit_per_minute: s.rate_limit_per_minute,
        state_file: s
            .persist
            .then(|| config.data_dir.join("sandbox-state.json")),
        web_messaging: Some(sandbox::WebMessagingConfig::new(config.guest_issuer())),
        ..Default::default()
    };
    let home = config.public_url.join("/").map_err(|e| e.to_string())?;
    for client in &mut sandbox_config.clients {
        client.redirect_uris.push(redirect_uri.to_string());
        client.logout_redirect_uris.push(home.to_string());
        if let Some(lifetime) = s.token_lifetime_secs {
            client.token_lifetime_secs = lifetime;
        }
    }
    let (client_id, secret) = match s.client.as_str() {
        "pkce" => (sandbox::PKCE_CLIENT_ID, None),
        "limited" => (sandbox::LIMITED_CLIENT_ID, None),
        _ => (sandbox::WEB_CLIENT_ID, Some(sandbox::WEB_CLIENT_SECRET)),
    };
    let running = sandbox::spawn(sandbox_config)
        .await
        .map_err(|e| format!("the embedded sandbox could not start: {e}"))?;
    let base = running.base_url();
    let environment =
        Environment::custom(base.as_str(), base.as_str()).map_err(|e| e.to_string())?;
    tracing::info!(url = %base, client = client_id, "no Genesys Cloud org configured: using the embedded sandbox");
    let oauth_client = OAuthClientConfig {
        client_id: ClientId::new(client_id.to_string()),
        client_secret: secret.map(ClientSecret::new),
        redirect_uri,
    };
    let deployment = sandbox::WEB_DEPLOYMENT_ID;
    let gateway = sandbox::gateway_url(&base, deployment).to_string();
    Ok(Connection {
        environment,
        oauth_client,
        upstream: Upstream::Sandbox,
        sandbox: Some(running),
        web_messaging: Some(web_messaging(config, deployment, gateway)),
    })
}
