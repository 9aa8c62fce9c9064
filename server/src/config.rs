//! Configuration from the environment. Every setting is checked up front and a bad one stops
//! the server with a message naming it; a real org is never silently replaced by the sandbox.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use genesys::{ClientSecret, WebhookSecret};
use url::Url;

/// Where the portal's upstream is.
#[derive(Debug, Clone)]
pub enum UpstreamConfig {
    /// No org configured: run the embedded sandbox.
    Sandbox(SandboxSettings),
    /// A real org.
    Org(OrgSettings),
}

#[derive(Debug, Clone)]
pub struct SandboxSettings {
    /// Loopback port of the embedded sandbox (0: any free port).
    pub port: u16,
    pub users: usize,
    pub seed: u64,
    /// Which of the sandbox's OAuth clients the portal signs in with: `web` (confidential,
    /// refresh tokens), `pkce` (public) or `limited` (public, without the users scope).
    pub client: String,
    pub token_lifetime_secs: Option<u64>,
    /// Requests per minute per token (0: no limit).
    pub rate_limit_per_minute: u32,
    /// Whether the sandbox keeps its tokens and grants in `sandbox-state.json` in the data
    /// directory (`SANDBOX_STATE=file`, the default: sign-ins survive a restart) or only in
    /// memory (`memory`: nothing written, as the sign-in benchmark needs).
    pub persist: bool,
}

#[derive(Debug, Clone)]
pub struct OrgSettings {
    /// A region domain (`mypurecloud.ie`) or explicit base URLs.
    pub region: Option<String>,
    pub login_url: Option<String>,
    pub api_url: Option<String>,
    pub client_id: String,
    /// Set: a confidential client (secret + PKCE); unset: a public PKCE client.
    pub client_secret: Option<ClientSecret>,
}

/// The client-credentials identity the portal uses for its own calls.
#[derive(Debug, Clone)]
pub struct ServiceClientSettings {
    pub client_id: String,
    pub client_secret: ClientSecret,
    pub scopes: Vec<String>,
}

/// Where the portal keeps its state (`PORTAL_DATABASE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// One machine: a SQLite file (by default `portal.db` in the data directory).
    Sqlite(PathBuf),
    /// Replicas: a PostgreSQL URL (kept out of `Debug` output: it may carry a password).
    Postgres(PostgresUrl),
}

/// A `postgres://` URL, whose password never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(pub String);

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match Url::parse(&self.0) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("…"));
                }
                write!(f, "{u}")
            }
            Err(_) => f.write_str("postgres://…"),
        }
    }
}

impl DatabaseConfig {
    /// The URL sqlx connects with.
    pub fn url(&self) -> String {
        match self {
            DatabaseConfig::Sqlite(path) => format!("sqlite://{}?mode=rwc", path.display()),
            DatabaseConfig::Postgres(url) => url.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub public_url: Url,
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    /// The key tokens are sealed with (`PORTAL_TOKEN_KEY`); unset on SQLite: a key generated
    /// into the data directory.
    pub token_key: Option<app::backend::sealing::TokenKey>,
    /// The previous key during a rotation (`PORTAL_TOKEN_KEY_OLD`): opens, never seals.
    pub token_key_old: Option<app::backend::sealing::TokenKey>,
    /// This replica's name (`PORTAL_REPLICA_ID`, default the host name).
    pub replica_id: String,
    /// A refresh holds the grant's database row lock (`PORTAL_REFRESH_LOCK=database`, the
    /// default) or only this replica's (`process`: to show the race in a test).
    pub refresh_row_lock: bool,
    /// On SQLite, sessions and grants are also kept in memory, written through
    /// (`PORTAL_SQLITE_MEMORY=on`, the default): this process owns the file. `off` reads the
    /// database every time (for tests that change the database behind the portal's back).
    pub sqlite_memory: bool,
    pub upstream: UpstreamConfig,
    pub scopes: Vec<String>,
    pub org: Option<String>,
    pub provider: Option<String>,
    pub genesys_logout: bool,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    pub request_timeout: Duration,
    /// Requests served at once (`PORTAL_MAX_CONCURRENT_REQUESTS`); more get a 503 at once.
    pub max_concurrent_requests: usize,
    /// How long SIGTERM waits for in-flight requests before the process exits anyway.
    pub shutdown_grace: Duration,
    /// How long a started sign-in may take (10 minutes; shorter in tests).
    pub pending_login_ttl: Duration,
    pub json_logs: bool,
    pub service_client: Option<ServiceClientSettings>,
    /// Directory exports run as the service identity (`PORTAL_EXPORT_IDENTITY=service`).
    pub export_as_service: bool,
    /// Who may open the service page: `None` means every signed-in user (sandbox only).
    pub admins: Option<Vec<String>>,
    /// The header a trusted reverse proxy puts the client's address in
    /// (`PORTAL_TRUSTED_PROXY_HEADER`); the per-client sign-in limit keys on it. Never trusted
    /// unless set.
    pub trusted_proxy_header: Option<axum::http::HeaderName>,
    /// The bearer token `/metrics` asks for (`PORTAL_METRICS_TOKEN`); without one, only
    /// loopback clients may read it.
    pub metrics_token: Option<ClientSecret>,
    /// Where the token manager posts its lifecycle events, and the HMAC key that signs them.
    pub webhook: Option<(url::Url, WebhookSecret)>,
    /// Who may provision guests: `None` means every signed-in user (sandbox only).
    pub guest_managers: Option<Vec<String>>,
    /// The relying party of the guest identity provider: Genesys' "OpenID Connect Messenger
    /// Configuration" integration.
    pub guest_client: GuestClientSettings,
    /// The Messenger deployment guests chat on (`GENESYS_WEB_DEPLOYMENT_ID`); on the sandbox its
    /// own seeded deployment.
    pub web_deployment_id: Option<String>,
    /// The Client App (embedded) mode (`PORTAL_EMBED=true`), off by default.
    pub embed: Option<EmbedConfig>,
}

/// The Client App (embedded) mode's settings.
#[derive(Debug, Clone)]
pub struct EmbedConfig {
    /// Origins allowed to frame the portal besides the region's apps host
    /// (`PORTAL_EMBED_ORIGINS`, comma-separated).
    pub extra_origins: Vec<String>,
    /// The `{{gcTargetEnv}}` expected when the org has no region (the sandbox, explicit URLs):
    /// `PORTAL_EMBED_TARGET_ENV`, `local` by default.
    pub target_env: String,
}

/// The one relying party of the guest identity provider (Genesys' Web Messaging side).
#[derive(Debug, Clone)]
pub struct GuestClientSettings {
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Where the provider may send codes: the guest chat's callback (`/guest/callback`).
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
}

impl Config {
    /// The issuer URL of the guest identity provider.
    pub fn guest_issuer(&self) -> Url {
        let base = self.public_url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{GUEST_IDP_PATH}")).expect("the public URL plus a path is a URL")
    }
}

/// Where the guest identity provider is mounted; its issuer is the public URL plus this path.
pub const GUEST_IDP_PATH: &str = "/guest-idp";

impl Config {
    /// Whether the session cookie may drop `Secure` and the `__Host-` prefix: only for
    /// plain-HTTP loopback development.
    pub fn secure_cookie(&self) -> bool {
        !(self.public_url.scheme() == "http" && is_loopback_host(&self.public_url))
    }

    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

/// Loopback by name or by any 127.0.0.0/8 or ::1 address (a framing host page in tests is on
/// 127.0.0.2).
fn is_loopback_ip_or_name(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn is_loopback_host(url: &Url) -> bool {
    matches!(
        url.host_str(),
        Some("localhost") | Some("127.0.0.1") | Some("[::1]")
    )
}

/// A setting that is one of two words: the first is the default when it is unset; anything
/// else is an error naming both (and answers the default).
fn one_of_two(
    errors: &mut Vec<String>,
    name: &str,
    value: Option<String>,
    [(first, first_means), (second, second_means)]: [(&str, bool); 2],
) -> bool {
    match value.as_deref() {
        None => first_means,
        Some(v) if v == first => first_means,
        Some(v) if v == second => second_means,
        Some(other) => {
            errors.push(format!(
                "{name} must be `{first}` or `{second}` (got `{other}`)"
            ));
            first_means
        }
    }
}

/// Reads the configuration from a set of variables (the process environment in `main`).
pub fn from_vars(
    vars: &BTreeMap<String, String>,
    site_addr: SocketAddr,
) -> Result<Config, Vec<String>> {
    let mut errors = Vec::new();
    let get = |name: &str| {
        vars.get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };

    let public_url = match get("PORTAL_PUBLIC_URL") {
        Some(raw) => match Url::parse(&raw) {
            Ok(u) if u.scheme() == "https" || (u.scheme() == "http" && is_loopback_host(&u)) => {
                if u.path() != "/" || u.query().is_some() {
                    errors.push(format!(
                        "PORTAL_PUBLIC_URL must be an origin without a path (got `{raw}`)"
                    ));
                }
                u
            }
            Ok(_) => {
                errors.push(format!(
                    "PORTAL_PUBLIC_URL must be https (plain http only for localhost or 127.0.0.1); got `{raw}`"
                ));
                default_public_url(site_addr)
            }
            Err(e) => {
                errors.push(format!("PORTAL_PUBLIC_URL is not a URL ({e}): `{raw}`"));
                default_public_url(site_addr)
            }
        },
        None => default_public_url(site_addr),
    };

    let mut number = |name: &str, default: u64, min: u64, max: u64| -> u64 {
        match get(name) {
            None => default,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    errors.push(format!(
                        "{name} must be a whole number from {min} to {max} (got `{raw}`)"
                    ));
                    default
                }
            },
        }
    };
    let idle_minutes = number("PORTAL_SESSION_IDLE_MINUTES", 30, 1, 24 * 60);
    let absolute_hours = number("PORTAL_SESSION_MAX_HOURS", 12, 1, 24 * 30);
    let request_timeout = number("PORTAL_REQUEST_TIMEOUT_SECS", 30, 1, 600);
    let max_concurrent_requests = number("PORTAL_MAX_CONCURRENT_REQUESTS", 512, 1, 100_000);
    let shutdown_grace = number("PORTAL_SHUTDOWN_GRACE_SECS", 10, 1, 300);
    let pending_login_secs = number("PORTAL_SIGN_IN_TIMEOUT_SECS", 600, 0, 600);
    let sandbox_port = number("SANDBOX_PORT", 0, 0, 65535) as u16;
    let sandbox_users = number("SANDBOX_USERS", 1250, 1, 100_000) as usize;
    let sandbox_seed = number("SANDBOX_SEED", 42, 0, u64::MAX);
    let sandbox_rate_limit = number("SANDBOX_RATE_LIMIT", 300, 0, 1_000_000) as u32;
    let sandbox_lifetime = get("SANDBOX_TOKEN_LIFETIME_SECS")
        .map(|_| number("SANDBOX_TOKEN_LIFETIME_SECS", 86400, 1, 172_800));

    let mut flag = |name: &str, default: bool| -> bool {
        match get(name).as_deref() {
            None => default,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => {
                errors.push(format!("{name} must be true or false (got `{other}`)"));
                default
            }
        }
    };
    let genesys_logout = flag("GENESYS_LOGOUT", false);
    let embed_on = flag("PORTAL_EMBED", false);
    let json_logs = one_of_two(
        &mut errors,
        "PORTAL_LOG_FORMAT",
        get("PORTAL_LOG_FORMAT"),
        [("text", false), ("json", true)],
    );

    let region = get("GENESYS_REGION");
    let login_url = get("GENESYS_LOGIN_URL");
    let api_url = get("GENESYS_API_URL");
    let client_id = get("GENESYS_CLIENT_ID");
    let client_secret = get("GENESYS_CLIENT_SECRET");
    let org_given = region.is_some()
        || login_url.is_some()
        || api_url.is_some()
        || client_id.is_some()
        || client_secret.is_some();
    let upstream = if org_given {
        if client_id.is_none() {
            errors.push(
                "GENESYS_CLIENT_ID is required when a Genesys Cloud org is configured".into(),
            );
        }
        match (&region, &login_url, &api_url) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            (Some(_), _, _) => errors.push("set either GENESYS_REGION or GENESYS_LOGIN_URL with GENESYS_API_URL, not both".into()),
            (None, _, _) => errors.push(
                "GENESYS_REGION is required when a Genesys Cloud org is configured (e.g. mypurecloud.com, mypurecloud.ie, usw2.pure.cloud); or give both GENESYS_LOGIN_URL and GENESYS_API_URL".into(),
            ),
        }
        UpstreamConfig::Org(OrgSettings {
            region,
            login_url,
            api_url,
            client_id: client_id.unwrap_or_default(),
            client_secret: client_secret.map(ClientSecret::new),
        })
    } else {
        let client = get("SANDBOX_CLIENT").unwrap_or_else(|| "web".into());
        if !matches!(client.as_str(), "web" | "pkce" | "limited") {
            errors.push(format!(
                "SANDBOX_CLIENT must be `web`, `pkce` or `limited` (got `{client}`)"
            ));
        }
        let state = get("SANDBOX_STATE").unwrap_or_else(|| "file".into());
        if !matches!(state.as_str(), "file" | "memory") {
            errors.push(format!(
                "SANDBOX_STATE must be `file` or `memory` (got `{state}`)"
            ));
        }
        UpstreamConfig::Sandbox(SandboxSettings {
            persist: state != "memory",
            port: sandbox_port,
            users: sandbox_users,
            seed: sandbox_seed,
            client,
            token_lifetime_secs: sandbox_lifetime,
            rate_limit_per_minute: sandbox_rate_limit,
        })
    };

    let service_client = match (
        get("GENESYS_SERVICE_CLIENT_ID"),
        get("GENESYS_SERVICE_CLIENT_SECRET"),
    ) {
        (Some(client_id), Some(client_secret)) => Some(ServiceClientSettings {
            client_id,
            client_secret: ClientSecret::new(client_secret),
            scopes: get("GENESYS_SERVICE_SCOPES")
                .map(|s| split_scopes(&s))
                .unwrap_or_else(|| vec!["users:readonly".into()]),
        }),
        (None, None) if matches!(upstream, UpstreamConfig::Sandbox(_)) => {
            Some(ServiceClientSettings {
                client_id: sandbox::SERVICE_CLIENT_ID.into(),
                client_secret: ClientSecret::new(sandbox::SERVICE_CLIENT_SECRET),
                scopes: vec!["users:readonly".into()],
            })
        }
        (None, None) => None,
        _ => {
            errors.push(
                "GENESYS_SERVICE_CLIENT_ID and GENESYS_SERVICE_CLIENT_SECRET go together".into(),
            );
            None
        }
    };

    let export_as_service = match get("PORTAL_EXPORT_IDENTITY").as_deref() {
        None | Some("user") => false,
        Some("service") if service_client.is_some() => true,
        Some("service") => {
            errors.push("PORTAL_EXPORT_IDENTITY=service needs GENESYS_SERVICE_CLIENT_ID and GENESYS_SERVICE_CLIENT_SECRET".into());
            false
        }
        Some(other) => {
            errors.push(format!(
                "PORTAL_EXPORT_IDENTITY must be `user` or `service` (got `{other}`)"
            ));
            false
        }
    };
    let admins = match get("PORTAL_ADMINS") {
        Some(list) => Some(split_scopes(&list)),
        None if matches!(upstream, UpstreamConfig::Sandbox(_)) => None,
        None => Some(Vec::new()),
    };
    let guest_managers = match get("PORTAL_GUEST_MANAGERS") {
        Some(list) => Some(split_scopes(&list)),
        None => admins.clone(),
    };
    let guest_client = guest_client(&get, &upstream, &public_url, &mut errors);
    let web_deployment_id = get("GENESYS_WEB_DEPLOYMENT_ID");
    if let Some(id) = &web_deployment_id {
        if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            errors.push(format!(
                "GENESYS_WEB_DEPLOYMENT_ID must be a deployment id (a UUID); got `{id}`"
            ));
        }
    }
    let trusted_proxy_header = get("PORTAL_TRUSTED_PROXY_HEADER").and_then(|name| {
        match axum::http::HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()) {
            Ok(h) => Some(h),
            Err(_) => {
                errors.push(format!(
                    "PORTAL_TRUSTED_PROXY_HEADER must be a header name such as x-forwarded-for; got `{name}`"
                ));
                None
            }
        }
    });
    let metrics_token = get("PORTAL_METRICS_TOKEN").map(|token| {
        if token.len() < 16 {
            errors.push("PORTAL_METRICS_TOKEN must be at least 16 characters".into());
        }
        ClientSecret::new(token)
    });
    let webhook = match (get("PORTAL_WEBHOOK_URL"), get("PORTAL_WEBHOOK_SECRET")) {
        (None, None) => None,
        (Some(raw), Some(secret)) => match url::Url::parse(&raw) {
            Ok(u) if u.scheme() == "https" || (u.scheme() == "http" && is_loopback_host(&u)) => {
                if secret.len() < 16 {
                    errors.push("PORTAL_WEBHOOK_SECRET must be at least 16 characters".into());
                }
                Some((u, WebhookSecret::new(secret.into_bytes())))
            }
            _ => {
                errors.push(format!(
                    "PORTAL_WEBHOOK_URL must be an https URL (http only on loopback); got `{raw}`"
                ));
                None
            }
        },
        _ => {
            errors.push("PORTAL_WEBHOOK_URL and PORTAL_WEBHOOK_SECRET go together".into());
            None
        }
    };

    let embed = if embed_on {
        let mut extra_origins = Vec::new();
        for raw in get("PORTAL_EMBED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match app::backend::frames::normalise_origin(raw) {
                Some(origin)
                    if origin.starts_with("https://")
                        || Url::parse(&origin).is_ok_and(|u| is_loopback_ip_or_name(&u)) =>
                {
                    extra_origins.push(origin)
                }
                _ => errors.push(format!(
                    "PORTAL_EMBED_ORIGINS lists origins such as https://apps.mypurecloud.ie (http only on loopback), comma-separated; `{raw}` is not one"
                )),
            }
        }
        let target_env = get("PORTAL_EMBED_TARGET_ENV").unwrap_or_else(|| "local".into());
        if target_env.len() > 32
            || !target_env
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            errors.push(format!(
                "PORTAL_EMBED_TARGET_ENV is an environment name such as `local` (lower-case letters, digits, `-`); got `{target_env}`"
            ));
        }
        let has_region = matches!(&upstream, UpstreamConfig::Org(o) if o.region.is_some());
        if !has_region && extra_origins.is_empty() {
            errors.push("PORTAL_EMBED without GENESYS_REGION needs PORTAL_EMBED_ORIGINS: the origin of the page that frames the portal".into());
        }
        Some(EmbedConfig {
            extra_origins,
            target_env,
        })
    } else {
        None
    };

    let data_dir = get("PORTAL_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"));
    let database = database(get("PORTAL_DATABASE_URL"), &data_dir, &mut errors);
    let mut key = |name: &str| {
        get(name).and_then(|raw| match app::backend::sealing::TokenKey::parse(&raw) {
            Ok(key) => Some(key),
            Err(why) => {
                errors.push(format!(
                    "{name} {why}; make one with `openssl rand -base64 32`"
                ));
                None
            }
        })
    };
    let token_key = key("PORTAL_TOKEN_KEY");
    let token_key_old = key("PORTAL_TOKEN_KEY_OLD");
    if get("PORTAL_TOKEN_KEY").is_none() {
        if get("PORTAL_TOKEN_KEY_OLD").is_some() {
            errors.push("PORTAL_TOKEN_KEY_OLD is the previous key of a rotation: it needs PORTAL_TOKEN_KEY, the new one".into());
        }
        if matches!(database, DatabaseConfig::Postgres(_)) {
            errors.push("PORTAL_TOKEN_KEY is required with a PostgreSQL PORTAL_DATABASE_URL: every replica must encrypt tokens with the same key (make one with `openssl rand -base64 32`)".into());
        }
    }
    let replica_id = get("PORTAL_REPLICA_ID").unwrap_or_else(host_name);
    if replica_id.len() > 64
        || !replica_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        errors.push(format!(
            "PORTAL_REPLICA_ID is a name of at most 64 letters, digits, `.`, `_` or `-`; got `{replica_id}`"
        ));
    }
    let refresh_row_lock = one_of_two(
        &mut errors,
        "PORTAL_REFRESH_LOCK",
        get("PORTAL_REFRESH_LOCK"),
        [("database", true), ("process", false)],
    );
    let sqlite_memory = one_of_two(
        &mut errors,
        "PORTAL_SQLITE_MEMORY",
        get("PORTAL_SQLITE_MEMORY"),
        [("on", true), ("off", false)],
    );

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Config {
        public_url,
        data_dir,
        database,
        token_key,
        token_key_old,
        replica_id,
        refresh_row_lock,
        sqlite_memory,
        upstream,
        scopes: get("GENESYS_SCOPES")
            .map(|s| split_scopes(&s))
            .unwrap_or_default(),
        org: get("GENESYS_ORG"),
        provider: get("GENESYS_PROVIDER"),
        genesys_logout,
        idle_timeout: Duration::from_secs(idle_minutes * 60),
        absolute_timeout: Duration::from_secs(absolute_hours * 3600),
        request_timeout: Duration::from_secs(request_timeout),
        max_concurrent_requests: max_concurrent_requests as usize,
        shutdown_grace: Duration::from_secs(shutdown_grace),
        pending_login_ttl: Duration::from_secs(pending_login_secs),
        json_logs,
        service_client,
        export_as_service,
        admins,
        trusted_proxy_header,
        metrics_token,
        webhook,
        guest_managers,
        guest_client,
        web_deployment_id,
        embed,
    })
}

/// `PORTAL_DATABASE_URL`: `sqlite://<file>` (relative to the working directory), or
/// `postgres://` / `postgresql://` with a host and a database name; SQLite in the data directory
/// when unset.
fn database(
    raw: Option<String>,
    data_dir: &std::path::Path,
    errors: &mut Vec<String>,
) -> DatabaseConfig {
    let default = DatabaseConfig::Sqlite(data_dir.join("portal.db"));
    let Some(raw) = raw else { return default };
    if let Some(path) = raw.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            errors.push("PORTAL_DATABASE_URL: a sqlite:// URL names a file, e.g. sqlite://data/portal.db (an in-memory database would lose every session at a restart)".into());
            return default;
        }
        return DatabaseConfig::Sqlite(PathBuf::from(path));
    }
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        return match Url::parse(&raw) {
            Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) && u.path().len() > 1 => {
                DatabaseConfig::Postgres(PostgresUrl(raw))
            }
            Ok(_) => {
                errors.push("PORTAL_DATABASE_URL: a postgres:// URL needs a host and a database, e.g. postgres://portal:secret@db.internal:5432/portal".into());
                default
            }
            Err(e) => {
                errors.push(format!("PORTAL_DATABASE_URL is not a URL ({e})"));
                default
            }
        };
    }
    let scheme = raw
        .split("://")
        .next()
        .filter(|s| s.len() < raw.len())
        .unwrap_or("none");
    errors.push(format!(
        "PORTAL_DATABASE_URL must start with sqlite:// or postgres:// (got the scheme `{scheme}`)"
    ));
    default
}

/// The machine's host name (the default replica name).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "portal".into())
}

/// `PORTAL_GUEST_CLIENT_ID` / `_SECRET` / `_REDIRECT_URIS` / `_SCOPES`: the relying party the
/// org's Genesys integration uses at the guest provider; on the sandbox, the sandbox's own.
fn guest_client(
    get: &dyn Fn(&str) -> Option<String>,
    upstream: &UpstreamConfig,
    public_url: &Url,
    errors: &mut Vec<String>,
) -> GuestClientSettings {
    let base = public_url.as_str().trim_end_matches('/');
    let redirect_uris = match get("PORTAL_GUEST_REDIRECT_URIS") {
        Some(list) => {
            let uris = split_scopes(&list);
            for uri in &uris {
                match Url::parse(uri) {
                    Ok(u) if u.scheme() == "https" || (u.scheme() == "http" && is_loopback_host(&u)) => {}
                    _ => errors.push(format!(
                        "PORTAL_GUEST_REDIRECT_URIS: `{uri}` is not an https URL (http only on loopback)"
                    )),
                }
            }
            uris
        }
        None => vec![format!("{base}/guest/callback")],
    };
    let scopes = get("PORTAL_GUEST_SCOPES")
        .map(|s| split_scopes(&s))
        .unwrap_or_else(|| {
            ["openid", "email", "profile", "offline_access"]
                .map(String::from)
                .to_vec()
        });
    let (client_id, client_secret) = match (
        get("PORTAL_GUEST_CLIENT_ID"),
        get("PORTAL_GUEST_CLIENT_SECRET"),
    ) {
        (Some(id), Some(secret)) => {
            if secret.len() < 16 {
                errors.push("PORTAL_GUEST_CLIENT_SECRET must be at least 16 characters".into());
            }
            (id, secret)
        }
        (None, None) if matches!(upstream, UpstreamConfig::Sandbox(_)) => (
            sandbox::GUEST_IDP_CLIENT_ID.to_string(),
            sandbox::GUEST_IDP_CLIENT_SECRET.to_string(),
        ),
        (None, None) => {
            // A real org without a guest client: the provider runs, but nobody may redeem codes.
            (String::new(), String::new())
        }
        _ => {
            errors.push("PORTAL_GUEST_CLIENT_ID and PORTAL_GUEST_CLIENT_SECRET go together".into());
            (String::new(), String::new())
        }
    };
    GuestClientSettings {
        client_id,
        client_secret: ClientSecret::new(client_secret),
        redirect_uris,
        scopes,
    }
}

fn split_scopes(raw: &str) -> Vec<String> {
    raw.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn default_public_url(site_addr: SocketAddr) -> Url {
    Url::parse(&format!("http://{site_addr}")).expect("a socket address is a valid URL authority")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn addr() -> SocketAddr {
        "127.0.0.1:3000".parse().unwrap()
    }

    #[test]
    fn no_org_means_the_sandbox_on_loopback_http() {
        let c = from_vars(&vars(&[]), addr()).unwrap();
        assert!(matches!(c.upstream, UpstreamConfig::Sandbox(_)));
        assert_eq!(c.public_origin(), "http://127.0.0.1:3000");
        assert!(!c.secure_cookie());
    }

    #[test]
    fn the_sandbox_keeps_its_state_in_a_file_unless_told_memory() {
        let persist = |v: &[(&str, &str)]| match from_vars(&vars(v), addr()).unwrap().upstream {
            UpstreamConfig::Sandbox(s) => s.persist,
            UpstreamConfig::Org(_) => panic!("no org was configured"),
        };
        assert!(persist(&[]));
        assert!(persist(&[("SANDBOX_STATE", "file")]));
        assert!(!persist(&[("SANDBOX_STATE", "memory")]));
        let e = from_vars(&vars(&[("SANDBOX_STATE", "disk")]), addr()).unwrap_err();
        assert!(
            e.iter()
                .any(|m| m.contains("SANDBOX_STATE must be `file` or `memory` (got `disk`)")),
            "{e:?}"
        );
    }

    fn errors_of(v: &[(&str, &str)]) -> Vec<String> {
        from_vars(&vars(v), addr()).unwrap_err()
    }

    #[test]
    fn the_database_is_sqlite_in_the_data_dir_unless_a_url_is_given() {
        let c = from_vars(&vars(&[("PORTAL_DATA_DIR", "/tmp/d")]), addr()).unwrap();
        assert_eq!(
            c.database,
            DatabaseConfig::Sqlite("/tmp/d/portal.db".into())
        );
        let c = from_vars(&vars(&[("PORTAL_DATABASE_URL", "sqlite://x/y.db")]), addr()).unwrap();
        assert_eq!(c.database, DatabaseConfig::Sqlite("x/y.db".into()));
        let key = app::backend::sealing::TokenKey::generate().to_base64();
        let url = "postgres://portal:hunter2@db.internal:5432/portal";
        let c = from_vars(
            &vars(&[("PORTAL_DATABASE_URL", url), ("PORTAL_TOKEN_KEY", &key)]),
            addr(),
        )
        .unwrap();
        assert_eq!(c.database.url(), url);
        let shown = format!("{:?}", c.database);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.internal"), "{shown}");
        assert!(!format!("{c:?}").contains(&key));
    }

    #[test]
    fn bad_database_settings_are_named() {
        for (url, says) in [
            (
                "mysql://h/db",
                "must start with sqlite:// or postgres:// (got the scheme `mysql`)",
            ),
            ("portal.db", "(got the scheme `none`)"),
            ("sqlite://", "names a file"),
            ("sqlite://:memory:", "names a file"),
            ("postgres://host", "needs a host and a database"),
            ("postgres://", "needs a host and a database"),
        ] {
            let e = errors_of(&[("PORTAL_DATABASE_URL", url)]);
            assert!(e.iter().any(|m| m.contains(says)), "{url}: {e:?}");
        }
        let e = errors_of(&[("PORTAL_DATABASE_URL", "postgres://u@h/db")]);
        assert!(
            e.iter()
                .any(|m| m.contains("PORTAL_TOKEN_KEY is required with a PostgreSQL")),
            "{e:?}"
        );
    }

    #[test]
    fn token_keys_replica_ids_and_the_lock_mode_are_checked() {
        let e = errors_of(&[("PORTAL_TOKEN_KEY", "c2hvcnQ=")]);
        assert!(
            e.iter()
                .any(|m| m.starts_with("PORTAL_TOKEN_KEY must be 32 bytes")),
            "{e:?}"
        );
        let key = app::backend::sealing::TokenKey::generate().to_base64();
        let e = errors_of(&[("PORTAL_TOKEN_KEY_OLD", &key)]);
        assert!(
            e.iter().any(|m| m.contains("needs PORTAL_TOKEN_KEY")),
            "{e:?}"
        );
        let e = errors_of(&[("PORTAL_REPLICA_ID", "a b")]);
        assert!(
            e.iter().any(|m| m.starts_with("PORTAL_REPLICA_ID")),
            "{e:?}"
        );
        let e = errors_of(&[("PORTAL_REFRESH_LOCK", "none")]);
        assert!(
            e.iter().any(|m| m.contains("`database` or `process`")),
            "{e:?}"
        );
        let e = errors_of(&[("PORTAL_SQLITE_MEMORY", "maybe")]);
        assert!(
            e.iter()
                .any(|m| m == "PORTAL_SQLITE_MEMORY must be `on` or `off` (got `maybe`)"),
            "{e:?}"
        );
        assert!(from_vars(&vars(&[]), addr()).unwrap().sqlite_memory);
        assert!(
            !from_vars(&vars(&[("PORTAL_SQLITE_MEMORY", "off")]), addr())
                .unwrap()
                .sqlite_memory
        );
        let c = from_vars(
            &vars(&[
                ("PORTAL_REPLICA_ID", "portal-2"),
                ("PORTAL_REFRESH_LOCK", "process"),
            ]),
            addr(),
        )
        .unwrap();
        assert_eq!(c.replica_id, "portal-2");
        assert!(!c.refresh_row_lock);
        let c = from_vars(&vars(&[]), addr()).unwrap();
        assert!(!c.replica_id.is_empty());
        assert!(c.refresh_row_lock);
    }

    #[test]
    fn a_partial_org_is_an_error_not_a_sandbox() {
        let e = from_vars(&vars(&[("GENESYS_CLIENT_ID", "abc")]), addr()).unwrap_err();
        assert!(e.iter().any(|m| m.contains("GENESYS_REGION")), "{e:?}");
        let e = from_vars(&vars(&[("GENESYS_REGION", "mypurecloud.ie")]), addr()).unwrap_err();
        assert!(e.iter().any(|m| m.contains("GENESYS_CLIENT_ID")), "{e:?}");
    }

    #[test]
    fn a_real_org_with_secret_is_confidential() {
        let c = from_vars(
            &vars(&[
                ("GENESYS_REGION", "mypurecloud.ie"),
                ("GENESYS_CLIENT_ID", "id"),
                ("GENESYS_CLIENT_SECRET", "s"),
                ("PORTAL_PUBLIC_URL", "https://portal.example.com"),
            ]),
            addr(),
        )
        .unwrap();
        match c.upstream {
            UpstreamConfig::Org(ref o) => {
                assert_eq!(o.client_secret.as_ref().map(|s| s.secret()), Some("s"))
            }
            other => panic!("{other:?}"),
        }
        assert!(c.secure_cookie());
        assert!(c.service_client.is_none());
    }

    #[test]
    fn public_http_urls_other_than_loopback_are_refused() {
        let e = from_vars(
            &vars(&[("PORTAL_PUBLIC_URL", "http://portal.example.com")]),
            addr(),
        )
        .unwrap_err();
        assert!(e[0].contains("https"));
        let e = from_vars(
            &vars(&[("PORTAL_PUBLIC_URL", "https://x.example.com/app")]),
            addr(),
        )
        .unwrap_err();
        assert!(e[0].contains("without a path"));
    }

    #[test]
    fn bad_numbers_and_flags_are_named() {
        let e = from_vars(
            &vars(&[
                ("PORTAL_SESSION_IDLE_MINUTES", "soon"),
                ("GENESYS_LOGOUT", "maybe"),
            ]),
            addr(),
        )
        .unwrap_err();
        assert!(e.iter().any(|m| m.contains("PORTAL_SESSION_IDLE_MINUTES")));
        assert!(e.iter().any(|m| m.contains("GENESYS_LOGOUT")));
    }

    /// This stop's settings: a bad value of each is named, and the good ones are read.
    #[test]
    fn limit_and_probe_settings_are_checked() {
        let e = from_vars(
            &vars(&[
                ("PORTAL_TRUSTED_PROXY_HEADER", "not a header"),
                ("PORTAL_METRICS_TOKEN", "short"),
                ("PORTAL_MAX_CONCURRENT_REQUESTS", "0"),
            ]),
            addr(),
        )
        .unwrap_err();
        for name in [
            "PORTAL_TRUSTED_PROXY_HEADER",
            "PORTAL_METRICS_TOKEN",
            "PORTAL_MAX_CONCURRENT_REQUESTS",
        ] {
            assert!(e.iter().any(|m| m.contains(name)), "{name}: {e:?}");
        }
        let c = from_vars(
            &vars(&[
                ("PORTAL_TRUSTED_PROXY_HEADER", " X-Real-IP "),
                ("PORTAL_METRICS_TOKEN", "a-long-enough-metrics-token"),
                ("PORTAL_MAX_CONCURRENT_REQUESTS", "64"),
            ]),
            addr(),
        )
        .unwrap();
        assert_eq!(c.trusted_proxy_header.unwrap().as_str(), "x-real-ip");
        assert!(c.metrics_token.is_some());
        assert_eq!(c.max_concurrent_requests, 64);
    }

    #[test]
    fn secrets_do_not_print() {
        // Every secret the configuration holds, set at once: none reaches its Debug output.
        let config = from_vars(
            &vars(&[
                ("GENESYS_REGION", "mypurecloud.ie"),
                ("GENESYS_CLIENT_ID", "web-client"),
                ("GENESYS_CLIENT_SECRET", "org-secret-hunter2"),
                ("GENESYS_SERVICE_CLIENT_ID", "svc"),
                ("GENESYS_SERVICE_CLIENT_SECRET", "service-secret-hunter2"),
                ("PORTAL_WEBHOOK_URL", "https://hooks.example.com/x"),
                ("PORTAL_WEBHOOK_SECRET", "webhook-secret-hunter2"),
                ("PORTAL_GUEST_CLIENT_ID", "genesys"),
                ("PORTAL_GUEST_CLIENT_SECRET", "guest-secret-hunter2"),
                ("PORTAL_PUBLIC_URL", "https://portal.example.com"),
                ("PORTAL_ADMINS", "admin@example.com"),
                ("PORTAL_GUEST_MANAGERS", "admin@example.com"),
            ]),
            addr(),
        )
        .unwrap();
        let printed = format!("{config:?}");
        assert!(printed.contains("web-client"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}
