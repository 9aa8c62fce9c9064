//! Client authentication at the token endpoint (RFC 6749 §2.3.1, OIDC Core §9):
//! `client_secret_basic` or `client_secret_post`, exactly one per request, secrets compared in
//! constant time.

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::config::{IdpConfig, RelyingParty};
use crate::form::Params;
use crate::oauth_error::TokenError;
use crate::secret::ClientSecret;

/// The credentials a request presents, before checking them.
pub(crate) struct Presented {
    pub client_id: String,
    secret: String,
    pub basic: bool,
}

/// Reads the credentials; `Err` for none, both methods, or an unreadable header.
pub(crate) fn presented(headers: &HeaderMap, params: &Params) -> Result<Presented, TokenError> {
    let authorization = headers.get(header::AUTHORIZATION);
    let in_body = params.has("client_secret");
    match (authorization, in_body) {
        (Some(_), true) | (None, false) => Err(TokenError::invalid_client(true)),
        (Some(value), false) => {
            let basic = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
                .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|pair| {
                    let (id, secret) = pair.split_once(':')?;
                    Some((form_decode(id), form_decode(secret)))
                });
            let Some((client_id, secret)) = basic else {
                return Err(TokenError::invalid_client(true));
            };
            // A client_id in the body as well must name the same client.
            if params.get("client_id").is_some_and(|id| id != client_id) {
                return Err(TokenError::invalid_client(true));
            }
            Ok(Presented {
                client_id,
                secret,
                basic: true,
            })
        }
        (None, true) => {
            let client_id = params
                .get("client_id")
                .ok_or_else(|| TokenError::invalid_client(false))?;
            let secret = params.get("client_secret").unwrap_or_default();
            Ok(Presented {
                client_id: client_id.to_owned(),
                secret: secret.to_owned(),
                basic: false,
            })
        }
    }
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64.
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Verifies the presented credentials against the registered clients.
pub(crate) fn authenticate<'a>(
    config: &'a IdpConfig,
    p: &Presented,
) -> Result<&'a RelyingParty, TokenError> {
    match config.client(&p.client_id) {
        Some(client) if client.client_secret.verify(&p.secret) => Ok(client),
        Some(_) => Err(TokenError::invalid_client(p.basic)),
        None => {
            // Same work for an unknown client, so timing does not tell which ids exist.
            let _ = ClientSecret::new("unknown-client-placeholder").verify(&p.secret);
            Err(TokenError::invalid_client(p.basic))
        }
    }
}
