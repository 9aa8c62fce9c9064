//! The claims of ID tokens (OIDC Core §2, §5.1) and userinfo (§5.3): standard claims by
//! scope, the guest's custom attributes on top without ever replacing a registered claim.

use serde_json::{Map, Value};

use crate::clock::now_unix;
use crate::guests::{Guest, RESERVED_CLAIMS};
use crate::{Idp, IdpError};

/// `email` with scope `email`; names and custom attributes with scope `profile` (OIDC Core §5.4).
pub(crate) fn user_claims(guest: &Guest, scope: &str) -> Map<String, Value> {
    let has = |s: &str| scope.split(' ').any(|x| x == s);
    let mut claims = Map::new();
    claims.insert("sub".into(), guest.id.clone().into());
    if has("email") {
        claims.insert("email".into(), guest.email.clone().into());
    }
    if has("profile") {
        claims.insert("given_name".into(), guest.given_name.clone().into());
        claims.insert("family_name".into(), guest.family_name.clone().into());
        claims.insert("name".into(), guest.full_name().into());
        for (key, value) in &guest.attributes {
            if !RESERVED_CLAIMS.contains(&key.as_str()) && !claims.contains_key(key) {
                claims.insert(key.clone(), value.clone().into());
            }
        }
    }
    claims
}

/// What an ID token says beyond the guest's claims.
pub(crate) struct IdTokenRequest<'a> {
    pub client_id: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub scope: &'a str,
}

impl Idp {
    /// A signed ID token (RS256, current `kid`) living as long as the access token.
    pub(crate) fn id_token(
        &self,
        guest: &Guest,
        req: &IdTokenRequest<'_>,
    ) -> Result<String, IdpError> {
        let now = now_unix();
        let lifetime =
            i64::try_from(self.config().access_token_ttl.as_secs()).unwrap_or(i64::MAX / 4);
        let mut claims = user_claims(guest, req.scope);
        claims.insert("iss".into(), self.issuer().as_str().into());
        claims.insert("aud".into(), req.client_id.into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), (now + lifetime.max(1)).into());
        claims.insert("auth_time".into(), req.auth_time.into());
        if let Some(nonce) = req.nonce {
            claims.insert("nonce".into(), nonce.into());
        }
        self.keys().sign(&Value::Object(claims))
    }
}
