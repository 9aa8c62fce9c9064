//! The guest tokens the sandbox hands out: its own HS256 JWT (signed with a random per-sandbox
//! key) and an opaque refresh token, over an auth session that keeps the IdP's refresh token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::relying_party::{IdpGrant, VerifiedGuest};

/// The `iss` of the sandbox's guest JWTs.
pub(crate) const JWT_ISSUER: &str = "urn:genesys-sandbox:webmessaging";

/// The claims of a guest JWT: the guest's verified identity, the deployment and the auth
/// session (`sid`) that revocation kills.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GuestClaims {
    pub(crate) iss: String,
    /// The deployment id, also in `deploymentId`.
    pub(crate) aud: String,
    pub(crate) sub: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) jti: String,
    pub(crate) sid: String,
    #[serde(rename = "deploymentId")]
    pub(crate) deployment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) family_name: Option<String>,
}

/// One guest's authentication at Genesys: what `oauthcodegrantjwtexchange` started.
pub(crate) struct AuthSession {
    pub(crate) sid: String,
    pub(crate) deployment_id: String,
    pub(crate) guest: VerifiedGuest,
    /// The IdP's refresh token (rotated by the IdP at each use), never shown to the guest.
    pub(crate) idp_refresh_token: Option<String>,
    /// When the IdP's access token expires: past it, the guest is re-validated at the IdP.
    pub(crate) idp_expires_at_ms: i64,
    pub(crate) refresh_expires_at_ms: i64,
}

struct Entry {
    session: Arc<tokio::sync::Mutex<AuthSession>>,
    revoked: AtomicBool,
}

/// Why a JWT is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtRefusal {
    Invalid,
    Expired,
    Revoked,
}

pub(crate) struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwt_lifetime: Duration,
    refresh_lifetime: Duration,
    sessions: Mutex<HashMap<String, Arc<Entry>>>,
    /// SHA-256 of each refresh token → its session id.
    refresh: Mutex<HashMap<[u8; 32], String>>,
}

pub(crate) fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    pub(crate) fn new(jwt_lifetime: Duration, refresh_lifetime: Duration) -> Self {
        let key: [u8; 32] = rand::random();
        Self {
            encoding: EncodingKey::from_secret(&key).expect("a 32-byte HMAC key"),
            decoding: DecodingKey::from_secret(&key).expect("a 32-byte HMAC key"),
            jwt_lifetime,
            refresh_lifetime,
            sessions: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
        }
    }

    /// Starts an auth session for a verified guest: the first JWT and the refresh token.
    pub(crate) fn start(
        &self,
        deployment_id: &str,
        guest: VerifiedGuest,
        grant: &IdpGrant,
    ) -> (String, String) {
        let now = now_ms();
        let session = AuthSession {
            sid: uuid::Uuid::new_v4().to_string(),
            deployment_id: deployment_id.to_string(),
            guest,
            idp_refresh_token: grant.refresh_token.clone(),
            idp_expires_at_ms: now.saturating_add(grant.expires_in.map_or(i64::MAX / 4, ms)),
            refresh_expires_at_ms: now.saturating_add(ms(self.refresh_lifetime)),
        };
        let jwt = self.jwt(&session).unwrap_or_default();
        let refresh = random_token();
        let sid = session.sid.clone();
        let entry = Arc::new(Entry {
            session: Arc::new(tokio::sync::Mutex::new(session)),
            revoked: AtomicBool::new(false),
        });
        lock(&self.sessions).insert(sid.clone(), entry);
        lock(&self.refresh).insert(digest(&refresh), sid);
        (jwt, refresh)
    }

    /// A JWT for the session, living `jwt_lifetime` or until the IdP's token expires, whichever
    /// is sooner; `None` once the IdP's token has expired (re-validate first).
    pub(crate) fn jwt(&self, session: &AuthSession) -> Option<String> {
        let now = now_ms();
        let exp_ms = now
            .saturating_add(ms(self.jwt_lifetime))
            .min(session.idp_expires_at_ms);
        let exp = exp_ms / 1000;
        if exp * 1000 <= now {
            return None;
        }
        let claims = GuestClaims {
            iss: JWT_ISSUER.into(),
            aud: session.deployment_id.clone(),
            sub: session.guest.sub.clone(),
            iat: now / 1000,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: session.sid.clone(),
            deployment_id: session.deployment_id.clone(),
            email: session.guest.email.clone(),
            given_name: session.guest.given_name.clone(),
            family_name: session.guest.family_name.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).ok()
    }

    /// Checks a JWT: signature, `iss`, `exp` (to the millisecond) and that its auth session
    /// lives. The caller checks the deployment.
    pub(crate) fn verify(&self, jwt: &str) -> Result<GuestClaims, JwtRefusal> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[JWT_ISSUER]);
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<GuestClaims>(jwt, &self.decoding, &validation)
            .map_err(|_| JwtRefusal::Invalid)?
            .claims;
        if claims.aud != claims.deployment_id {
            return Err(JwtRefusal::Invalid);
        }
        if claims.exp.saturating_mul(1000) <= now_ms() {
            return Err(JwtRefusal::Expired);
        }
        match lock(&self.sessions).get(&claims.sid) {
            Some(e) if !e.revoked.load(Ordering::SeqCst) => Ok(claims),
            _ => Err(JwtRefusal::Revoked),
        }
    }

    /// The live auth session a refresh token belongs to.
    pub(crate) fn by_refresh_token(
        &self,
        refresh_token: &str,
    ) -> Option<Arc<tokio::sync::Mutex<AuthSession>>> {
        let sid = lock(&self.refresh).get(&digest(refresh_token)).cloned()?;
        let entry = lock(&self.sessions).get(&sid).cloned()?;
        (!entry.revoked.load(Ordering::SeqCst)).then(|| entry.session.clone())
    }

    pub(crate) fn is_revoked(&self, sid: &str) -> bool {
        lock(&self.sessions)
            .get(sid)
            .is_none_or(|e| e.revoked.load(Ordering::SeqCst))
    }

    /// Kills the session: its JWTs and its refresh token stop working.
    pub(crate) fn revoke(&self, sid: &str) {
        if let Some(e) = lock(&self.sessions).get(sid) {
            e.revoked.store(true, Ordering::SeqCst);
        }
        lock(&self.refresh).retain(|_, s| s != sid);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps are updated in single statements; a poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires_in: u64) -> IdpGrant {
        IdpGrant {
            guest: None,
            expires_in: Some(Duration::from_secs(expires_in)),
            refresh_token: Some("idp-refresh".into()),
        }
    }

    fn guest() -> VerifiedGuest {
        VerifiedGuest {
            sub: "g1".into(),
            email: Some("ada@example.com".into()),
            given_name: Some("Ada".into()),
            family_name: Some("Tester".into()),
        }
    }

    #[test]
    fn jwt_lives_no_longer_than_the_idp_token() {
        let t = Tokens::new(Duration::from_secs(900), Duration::from_secs(3600));
        let (jwt, refresh) = t.start("dep", guest(), &grant(60));
        let claims = t.verify(&jwt).unwrap();
        assert!(claims.exp - claims.iat <= 61, "{claims:?}");
        assert_eq!(claims.given_name.as_deref(), Some("Ada"));
        assert!(t.by_refresh_token(&refresh).is_some());
        t.revoke(&claims.sid);
        assert_eq!(t.verify(&jwt).unwrap_err(), JwtRefusal::Revoked);
        assert!(t.by_refresh_token(&refresh).is_none());
    }

    #[test]
    fn foreign_and_tampered_jwts_are_invalid() {
        let a = Tokens::new(Duration::from_secs(900), Duration::from_secs(3600));
        let b = Tokens::new(Duration::from_secs(900), Duration::from_secs(3600));
        let (jwt, _) = a.start("dep", guest(), &grant(600));
        assert_eq!(b.verify(&jwt).unwrap_err(), JwtRefusal::Invalid);
        assert_eq!(a.verify("x.y.z").unwrap_err(), JwtRefusal::Invalid);
    }
}
