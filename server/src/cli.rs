//! The command line: every setting as a `--flag` or an environment variable, a `.env` file in
//! the working directory filling in what the environment leaves unset, and `--help` listing
//! each setting with its meaning and default. A flag wins over the environment, which wins over
//! `.env`. The values are then checked by [`crate::config::from_vars`], which names a bad one.

use std::{collections::BTreeMap, ffi::OsString, net::SocketAddr};

use clap::{Arg, ArgAction, Command};

/// One setting: its environment variable (the flag is its name in kebab case, without the
/// `PORTAL_` prefix), what it means, and what applies when it is unset.
pub struct Setting {
    pub env: &'static str,
    pub help: &'static str,
    pub default: &'static str,
}

const fn s(env: &'static str, help: &'static str, default: &'static str) -> Setting {
    Setting { env, help, default }
}

/// Every setting [`crate::config::from_vars`] reads (a test keeps the two lists equal).
pub const SETTINGS: &[Setting] = &[
    s(
        "GENESYS_REGION",
        "The org's region domain (mypurecloud.com, mypurecloud.ie, usw2.pure.cloud, ...)",
        "none: the embedded sandbox",
    ),
    s(
        "GENESYS_LOGIN_URL",
        "Explicit login base URL instead of a region (with GENESYS_API_URL)",
        "from the region",
    ),
    s(
        "GENESYS_API_URL",
        "Explicit API base URL instead of a region (with GENESYS_LOGIN_URL)",
        "from the region",
    ),
    s(
        "GENESYS_CLIENT_ID",
        "The OAuth client users sign in with (Code Authorization or PKCE grant)",
        "required with an org",
    ),
    s(
        "GENESYS_CLIENT_SECRET",
        "Its secret: set, a confidential client (refresh tokens); unset, a public PKCE client",
        "unset",
    ),
    s(
        "GENESYS_SCOPES",
        "Scopes to ask for, space or comma separated",
        "the client's own",
    ),
    s(
        "GENESYS_ORG",
        "The `org` authorize parameter (the org's short name)",
        "unset",
    ),
    s(
        "GENESYS_PROVIDER",
        "The `provider` authorize parameter (an SSO provider)",
        "unset",
    ),
    s(
        "GENESYS_LOGOUT",
        "Continue to Genesys' logout page after signing out (true/false)",
        "false",
    ),
    s(
        "GENESYS_SERVICE_CLIENT_ID",
        "The client-credentials client of the portal's own calls",
        "the sandbox's portal-service",
    ),
    s(
        "GENESYS_SERVICE_CLIENT_SECRET",
        "Its secret",
        "the sandbox's",
    ),
    s("GENESYS_SERVICE_SCOPES", "Its scopes", "users:readonly"),
    s(
        "GENESYS_WEB_DEPLOYMENT_ID",
        "The Messenger deployment guests chat on",
        "the sandbox's seeded deployment",
    ),
    s(
        "PORTAL_EMBED",
        "Run as a Genesys Cloud Client App: the /embed entry may be framed by the apps host",
        "false",
    ),
    s(
        "PORTAL_EMBED_ORIGINS",
        "Origins besides the region's apps host allowed to frame the portal (comma-separated)",
        "none",
    ),
    s(
        "PORTAL_EMBED_TARGET_ENV",
        "The {{gcTargetEnv}} expected when the org has no region (the sandbox, explicit URLs)",
        "local",
    ),
    s(
        "PORTAL_PUBLIC_URL",
        "The site's origin (https; plain http only on localhost/127.0.0.1)",
        "http:// + the listen address",
    ),
    s(
        "PORTAL_DATA_DIR",
        "Where the session database, sandbox state and export files live",
        "data",
    ),
    s(
        "PORTAL_DATABASE_URL",
        "The database: sqlite://<file> (one machine) or postgres://user:pass@host/db (replicas)",
        "sqlite in PORTAL_DATA_DIR/portal.db",
    ),
    s(
        "PORTAL_TOKEN_KEY",
        "The AES-256 key tokens are encrypted with at rest, 32 bytes of base64 (openssl rand -base64 32); the same on every replica",
        "sqlite: generated into PORTAL_DATA_DIR/token.key; postgres: required",
    ),
    s(
        "PORTAL_TOKEN_KEY_OLD",
        "The previous PORTAL_TOKEN_KEY during a rotation: still decrypts, rows are re-encrypted on read",
        "unset",
    ),
    s(
        "PORTAL_REPLICA_ID",
        "This replica's name in logs, audit records and the service page (letters, digits, . _ -)",
        "the host name",
    ),
    s(
        "PORTAL_REFRESH_LOCK",
        "database: a refresh holds the grant's row lock (PostgreSQL); process: this replica's lock only (a test shows the race it allows)",
        "database",
    ),
    s(
        "PORTAL_SQLITE_MEMORY",
        "on: with SQLite, sessions and grants are also kept in memory, written through (this process owns the file); off: every read goes to the database",
        "on",
    ),
    s(
        "PORTAL_SESSION_IDLE_MINUTES",
        "Minutes without a request before a session ends (1-1440)",
        "30",
    ),
    s(
        "PORTAL_SESSION_MAX_HOURS",
        "Hours after sign-in a session ends regardless (1-720)",
        "12",
    ),
    s(
        "PORTAL_REQUEST_TIMEOUT_SECS",
        "Longest a request may take; each Genesys call gets two thirds of it, at most 20 s (1-600)",
        "30",
    ),
    s(
        "PORTAL_MAX_CONCURRENT_REQUESTS",
        "Requests served at once; one more gets a 503 at once (1-100000)",
        "512",
    ),
    s(
        "PORTAL_SHUTDOWN_GRACE_SECS",
        "How long SIGTERM waits for in-flight requests (1-300)",
        "10",
    ),
    s(
        "PORTAL_SIGN_IN_TIMEOUT_SECS",
        "How long a started sign-in stays valid (0-600)",
        "600",
    ),
    s("PORTAL_LOG_FORMAT", "Log lines as `text` or `json`", "text"),
    s(
        "PORTAL_EXPORT_IDENTITY",
        "`user`: exports use the user's token; `service`: an admin's use the service identity",
        "user",
    ),
    s(
        "PORTAL_ADMINS",
        "Who may open the service page: user ids, usernames or emails, comma separated",
        "everyone on the sandbox, nobody on an org",
    ),
    s(
        "PORTAL_GUEST_MANAGERS",
        "Who may provision guests (as PORTAL_ADMINS)",
        "PORTAL_ADMINS",
    ),
    s(
        "PORTAL_GUEST_CLIENT_ID",
        "The guest provider's relying party: Genesys' OpenID Connect Messenger Configuration",
        "the sandbox's; none on an org",
    ),
    s(
        "PORTAL_GUEST_CLIENT_SECRET",
        "Its secret (16+ characters)",
        "the sandbox's",
    ),
    s(
        "PORTAL_GUEST_REDIRECT_URIS",
        "Where the guest provider may send codes (exact URLs)",
        "PORTAL_PUBLIC_URL/guest/callback",
    ),
    s(
        "PORTAL_GUEST_SCOPES",
        "The scopes the guest provider allows",
        "openid email profile offline_access",
    ),
    s(
        "PORTAL_TRUSTED_PROXY_HEADER",
        "Behind a reverse proxy, the header with the client's address (x-forwarded-for, x-real-ip)",
        "unset: the TCP peer",
    ),
    s(
        "PORTAL_METRICS_TOKEN",
        "The bearer token /metrics asks for (16+ characters)",
        "unset: loopback clients only",
    ),
    s(
        "PORTAL_WEBHOOK_URL",
        "Where the token manager posts its signed lifecycle events",
        "off",
    ),
    s(
        "PORTAL_WEBHOOK_SECRET",
        "The HMAC-SHA256 key that signs them (16+ characters)",
        "off",
    ),
    s(
        "SANDBOX_PORT",
        "Loopback port of the embedded sandbox (0: any free port)",
        "0",
    ),
    s(
        "SANDBOX_USERS",
        "Users in the sandbox's seeded org (1-100000)",
        "1250",
    ),
    s("SANDBOX_SEED", "The seed of the sandbox's org", "42"),
    s(
        "SANDBOX_RATE_LIMIT",
        "The sandbox's requests per minute per token (0: none)",
        "300",
    ),
    s(
        "SANDBOX_CLIENT",
        "The sandbox client the portal signs in with: web, pkce or limited",
        "web",
    ),
    s(
        "SANDBOX_STATE",
        "Where the sandbox keeps its tokens and grants: file (survives a restart) or memory",
        "file",
    ),
    s(
        "SANDBOX_TOKEN_LIFETIME_SECS",
        "Token lifetime of the sandbox's clients (1-172800)",
        "86400",
    ),
];

/// `PORTAL_SESSION_IDLE_MINUTES` → `session-idle-minutes`, `GENESYS_REGION` → `genesys-region`.
pub fn flag_name(env: &str) -> String {
    env.strip_prefix("PORTAL_")
        .unwrap_or(env)
        .to_ascii_lowercase()
        .replace('_', "-")
}

const SITE_ADDR: &str = "LEPTOS_SITE_ADDR";

pub fn command() -> Command {
    let mut cmd = Command::new("genesys-portal")
        .about("A Genesys Cloud portal: OAuth sign-in, the org's directory, a guest identity provider for Web Messaging.")
        .after_help(
            "Each setting is a flag or its environment variable; a .env file in the working \
             directory fills in what the environment leaves unset (the environment wins, and a \
             flag wins over both). Without GENESYS_REGION (or the two URLs) the portal runs on \
             its embedded sandbox. Prefer the environment for secrets: flags show in `ps`.",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .arg(
            Arg::new(SITE_ADDR)
                .long("site-addr")
                .env(SITE_ADDR)
                .value_name("ADDR")
                .help("The address to listen on [default: 127.0.0.1:3000, or Cargo.toml's leptos settings]"),
        );
    for setting in SETTINGS {
        cmd = cmd.arg(
            Arg::new(setting.env)
                .long(flag_name(setting.env))
                .env(setting.env)
                // Never print a value from the environment: some are secrets.
                .hide_env_values(true)
                .value_name("VALUE")
                .action(ArgAction::Set)
                .help(format!("{} [default: {}]", setting.help, setting.default)),
        );
    }
    cmd
}

/// What the command line asks for.
#[derive(Debug)]
pub struct Invocation {
    /// Every setting given, by its environment variable's name.
    pub vars: BTreeMap<String, String>,
    /// `--site-addr` / `LEPTOS_SITE_ADDR`, when given.
    pub site_addr: Option<SocketAddr>,
}

/// Reads the command line (and, through clap, the environment).
pub fn parse<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    let vars = SETTINGS
        .iter()
        .filter_map(|s| {
            matches
                .get_one::<String>(s.env)
                .map(|v| (s.env.to_string(), v.clone()))
        })
        .collect();
    let site_addr = match matches.get_one::<String>(SITE_ADDR) {
        None => None,
        Some(raw) => Some(raw.trim().parse().map_err(|_| {
            command().error(
                clap::error::ErrorKind::ValueValidation,
                format!("--site-addr / {SITE_ADDR} must be an address such as 127.0.0.1:3000 (got `{raw}`)"),
            )
        })?),
    };
    Ok(Invocation { vars, site_addr })
}

/// Loads `.env` from the working directory into the environment, without replacing what is
/// already set. Call before any thread starts. A missing file is fine; a malformed one is an
/// error naming the line.
pub fn load_dotenv() -> Result<(), String> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(dotenvy::Error::LineParse(line, at)) => Err(format!(
            ".env: cannot read the line `{}` (at character {at})",
            line.chars().take(60).collect::<String>()
        )),
        Err(e) => Err(format!(".env: {e}")),
    }
}

/// The first line of a clap error, for a one-line message.
pub fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("bad command line").trim();
    format!("genesys-portal: {first} (see --help)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_the_config_reads_is_a_flag_with_help_and_a_default() {
        // The names config.rs reads, from its source: a setting added there and not here fails.
        let source = include_str!("config.rs");
        let mut read: Vec<&str> = Vec::new();
        for call in ["get(\"", "number(\"", "flag(\""] {
            for (i, _) in source.match_indices(call) {
                let rest = &source[i + call.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !read.contains(&name)
                {
                    read.push(name);
                }
            }
        }
        read.sort();
        let mut listed: Vec<&str> = SETTINGS.iter().map(|s| s.env).collect();
        listed.sort();
        assert_eq!(read, listed);
        let help = command().render_long_help().to_string();
        for s in SETTINGS {
            assert!(
                help.contains(&format!("--{}", flag_name(s.env))),
                "{}",
                s.env
            );
            assert!(help.contains(&format!("[env: {}]", s.env)), "{}", s.env);
            assert!(!s.help.is_empty() && !s.default.is_empty(), "{}", s.env);
        }
    }

    #[test]
    fn flags_name_the_settings() {
        assert_eq!(
            flag_name("PORTAL_SESSION_IDLE_MINUTES"),
            "session-idle-minutes"
        );
        assert_eq!(flag_name("GENESYS_REGION"), "genesys-region");
        assert_eq!(flag_name("SANDBOX_USERS"), "sandbox-users");
        let got = parse([
            "genesys-portal",
            "--session-idle-minutes",
            "5",
            "--genesys-logout=true",
            "--site-addr",
            "127.0.0.1:4000",
        ])
        .unwrap();
        assert_eq!(got.vars["PORTAL_SESSION_IDLE_MINUTES"], "5");
        assert_eq!(got.vars["GENESYS_LOGOUT"], "true");
        assert_eq!(got.site_addr, Some("127.0.0.1:4000".parse().unwrap()));
    }

    #[test]
    fn unknown_flags_and_bad_addresses_are_one_line_errors() {
        let e = parse(["genesys-portal", "--sesion-idle-minutes", "5"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
        let line = one_line(&e);
        assert!(line.contains("--sesion-idle-minutes"), "{line}");
        assert!(!line.contains('\n'));
        let e = parse(["genesys-portal", "--site-addr", "nowhere"]).unwrap_err();
        assert!(one_line(&e).contains("--site-addr"), "{}", one_line(&e));
        let e = parse(["genesys-portal", "--session-idle-minutes"]).unwrap_err();
        assert!(
            one_line(&e).contains("--session-idle-minutes"),
            "{}",
            one_line(&e)
        );
    }
}
