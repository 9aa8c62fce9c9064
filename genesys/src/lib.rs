//! The Genesys Cloud protocol for genesys-portal: regions, PKCE, OAuth grants, retry, API calls,
//! the token manager and the wire types (shared with the sandbox). No Leptos in here.

pub mod secret;
pub mod wire;

pub use secret::{AccessToken, AuthorizationCode, ClientSecret, CsrfState, PkceVerifier, RefreshToken};
