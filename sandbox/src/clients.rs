//! The ids and secrets of the sandbox's default OAuth clients (`ClientConfig::defaults`), for
//! the apps and tests that sign in to a sandbox without a clients file.

/// The confidential client: authorization code (PKCE optional) with refresh tokens.
pub const WEB_CLIENT_ID: &str = "portal-web";
/// The secret of [`WEB_CLIENT_ID`].
pub const WEB_CLIENT_SECRET: &str = "sandbox-portal-secret";
/// The public client: authorization code with PKCE, no refresh tokens.
pub const PKCE_CLIENT_ID: &str = "portal-pkce";
/// The client-credentials client, with `users:readonly`.
pub const SERVICE_CLIENT_ID: &str = "portal-service";
/// The secret of [`SERVICE_CLIENT_ID`].
pub const SERVICE_CLIENT_SECRET: &str = "sandbox-service-secret";
/// A public client with only `user-basic-info`, so the users endpoints answer 403.
pub const LIMITED_CLIENT_ID: &str = "portal-limited";

/// The client the sandbox's Web Messaging side (Genesys' "OpenID Connect Messenger
/// Configuration" integration) uses at the portal's guest identity provider.
pub const GUEST_IDP_CLIENT_ID: &str = "genesys-webmessaging";
/// The secret of [`GUEST_IDP_CLIENT_ID`], registered at the portal's provider by default.
pub const GUEST_IDP_CLIENT_SECRET: &str = "sandbox-webmessaging-secret";
