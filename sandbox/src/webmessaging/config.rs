//! How the sandbox's Web Messaging side is configured: the Messenger deployment, the "OpenID
//! Connect Messenger Configuration" integration (the guest IdP) and the scripted agent.

use std::time::Duration;

use url::Url;

use crate::clients::{GUEST_IDP_CLIENT_ID, GUEST_IDP_CLIENT_SECRET};

/// The id of the sandbox's Messenger deployment unless configured otherwise.
pub const WEB_DEPLOYMENT_ID: &str = "5b8c3a2e-7f41-4d0a-9c6e-2f1b8d4e6a70";

/// The longest JWT lifetime Genesys issues for a guest (15 minutes).
pub const MAX_JWT_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The bounds Genesys puts on the integration's maximum refresh-token lifetime.
pub const MIN_REFRESH_LIFETIME: Duration = Duration::from_secs(15 * 60);
pub const MAX_REFRESH_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

/// The Messenger deployment with authenticated web messaging, and the integration that trusts
/// the guest identity provider.
#[derive(Debug, Clone)]
pub struct WebMessagingConfig {
    /// The deployment's id (default [`WEB_DEPLOYMENT_ID`]).
    pub deployment_id: String,
    /// `authenticationSettings.enabled` (default `true`); when off, code exchanges are refused.
    pub auth_enabled: bool,
    /// `authenticationSettings.allowSessionUpgrade` (default `false`).
    pub allow_session_upgrade: bool,
    /// The OpenID provider's issuer; discovery is `{issuer}/.well-known/openid-configuration`.
    pub idp_issuer: Url,
    /// The client id Genesys uses at the provider (default [`GUEST_IDP_CLIENT_ID`]).
    pub client_id: String,
    /// Its secret (default [`GUEST_IDP_CLIENT_SECRET`]), sent as `client_secret_basic`.
    pub client_secret: String,
    /// The guest JWT's lifetime (default and at most 15 minutes; never longer than the IdP's
    /// access token).
    pub jwt_lifetime: Duration,
    /// How long a refresh token works (15 minutes to 90 days, default 30 days).
    pub max_refresh_lifetime: Duration,
    /// The scripted agent answering the guests.
    pub agent: AgentScript,
}

impl WebMessagingConfig {
    /// The defaults for a provider at `idp_issuer`.
    pub fn new(idp_issuer: Url) -> Self {
        Self {
            deployment_id: WEB_DEPLOYMENT_ID.into(),
            auth_enabled: true,
            allow_session_upgrade: false,
            idp_issuer,
            client_id: GUEST_IDP_CLIENT_ID.into(),
            client_secret: GUEST_IDP_CLIENT_SECRET.into(),
            jwt_lifetime: MAX_JWT_LIFETIME,
            max_refresh_lifetime: Duration::from_secs(30 * 24 * 3600),
            agent: AgentScript::default(),
        }
    }

    /// Checks every setting; the message names each bad one.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if uuid::Uuid::parse_str(&self.deployment_id).is_err() {
            problems.push(format!(
                "web_messaging.deployment_id {:?} is not a UUID",
                self.deployment_id
            ));
        }
        let issuer = &self.idp_issuer;
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            problems.push(format!(
                "web_messaging.idp_issuer {issuer} must be an http(s) URL without query or fragment"
            ));
        }
        if self.client_id.is_empty() || self.client_secret.is_empty() {
            problems.push("web_messaging.client_id and client_secret must not be empty".into());
        }
        if self.jwt_lifetime < Duration::from_secs(1) || self.jwt_lifetime > MAX_JWT_LIFETIME {
            problems.push("web_messaging.jwt_lifetime must be between 1 s and 15 minutes".into());
        }
        if self.max_refresh_lifetime < MIN_REFRESH_LIFETIME
            || self.max_refresh_lifetime > MAX_REFRESH_LIFETIME
        {
            problems.push(
                "web_messaging.max_refresh_lifetime must be between 15 minutes and 90 days".into(),
            );
        }
        if let Err(e) = self.agent.validate() {
            problems.push(e);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// What the scripted agent says. In the templates `{name}` is the guest's verified
/// `given_name` (or `anonymous_name` for anonymous or nameless guests) and `{text}` the
/// guest's message.
#[derive(Debug, Clone)]
pub struct AgentScript {
    /// The agent's display name (`channel.from.nickname` of its messages).
    pub nickname: String,
    /// The first message of an authenticated session.
    pub greeting: String,
    /// The first message of an anonymous session (no `{name}`).
    pub anonymous_greeting: String,
    /// The answer to every guest message.
    pub reply: String,
    /// What `{name}` becomes in `reply` when the guest has no verified given name.
    pub anonymous_name: String,
    /// How long the agent "types" before each reply (default 300 ms; tests use 0).
    pub reply_delay: Duration,
}

impl Default for AgentScript {
    fn default() -> Self {
        Self {
            nickname: "Sandbox Agent".into(),
            greeting: "Hello {name}, welcome! How can I help you today?".into(),
            anonymous_greeting: "Hello, welcome! How can I help you today?".into(),
            reply: "Thanks {name}, you wrote: \u{201c}{text}\u{201d}".into(),
            anonymous_name: "there".into(),
            reply_delay: Duration::from_millis(300),
        }
    }
}

impl AgentScript {
    fn validate(&self) -> Result<(), String> {
        if self.greeting.trim().is_empty()
            || self.anonymous_greeting.trim().is_empty()
            || self.reply.trim().is_empty()
        {
            return Err("web_messaging.agent templates must not be empty".into());
        }
        if self.reply_delay > Duration::from_secs(60) {
            return Err("web_messaging.agent.reply_delay must be at most 60 s".into());
        }
        Ok(())
    }

    /// `template` with `{name}` and `{text}` filled in (the values are not re-scanned).
    pub(crate) fn fill(template: &str, name: &str, text: &str) -> String {
        let mut out = String::with_capacity(template.len() + name.len() + text.len());
        let mut rest = template;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{name}") {
                out.push_str(name);
                rest = after;
            } else if let Some(after) = tail.strip_prefix("{text}") {
                out.push_str(text);
                rest = after;
            } else {
                out.push('{');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WebMessagingConfig {
        WebMessagingConfig::new(Url::parse("http://127.0.0.1:3000/guest-idp").unwrap())
    }

    #[test]
    fn defaults_are_valid() {
        config().validate().unwrap();
    }

    #[test]
    fn every_bad_setting_is_named() {
        let mut c = config();
        c.deployment_id = "nope".into();
        c.jwt_lifetime = Duration::from_secs(16 * 60);
        c.max_refresh_lifetime = Duration::from_secs(60);
        let e = c.validate().unwrap_err();
        assert!(
            e.contains("deployment_id") && e.contains("jwt_lifetime"),
            "{e}"
        );
        assert!(e.contains("max_refresh_lifetime"), "{e}");
    }

    #[test]
    fn templates_fill_once() {
        assert_eq!(
            AgentScript::fill("Hi {name}: {text} {x}", "Ada", "{name}"),
            "Hi Ada: {name} {x}"
        );
    }
}
