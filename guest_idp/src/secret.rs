//! Secrets of the provider: the client secret newtype, fresh random tokens and the one-way
//! hash under which every token is stored (a database dump reveals no usable token).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A relying party's client secret. `Debug`/`Display` print `[redacted]`; no `PartialEq`:
/// [`ClientSecret::verify`] compares in constant time.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> ClientSecret {
        ClientSecret(value.into())
    }

    /// The secret itself; never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this secret. Both sides are hashed first so that neither the
    /// content nor the length leaks through timing.
    pub fn verify(&self, presented: &str) -> bool {
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(presented.as_bytes());
        a.ct_eq(&b).into()
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

impl std::fmt::Display for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A fresh bearer secret (invitation, session id, code, access or refresh token): 32 bytes
/// (256 bits) from the OS CSPRNG, base64url without padding (43 characters).
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token: BASE64URL(SHA-256(token)). Tokens carry 256 bits of entropy,
/// so an unsalted fast hash is enough (no dictionary to try).
pub(crate) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The S256 PKCE transformation, RFC 7636 §4.2: BASE64URL(SHA-256(ASCII(verifier))).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Constant-time string equality (for the PKCE challenge).
pub(crate) fn ct_eq_str(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secret_redacts_and_verifies() {
        let s = ClientSecret::new("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
        assert_eq!(format!("{s}"), "[redacted]");
        assert!(s.verify("hunter2-hunter2"));
        assert!(!s.verify("hunter2"));
    }

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), a);
    }
}
