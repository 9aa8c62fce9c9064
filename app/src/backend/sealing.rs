//! Tokens at rest: every access token, refresh token and guest messaging token the portal keeps
//! is sealed with AES-256-GCM before it reaches the database, under a key all replicas share
//! (`PORTAL_TOKEN_KEY`). The associated data names the row and column, so a sealed value moved
//! to another row (or from the refresh to the access column) does not open.
//!
//! A sealed value reads `enc1:<base64url(nonce ‖ ciphertext ‖ tag)>`. Values without the prefix
//! are rows written before sealing existed: they are read as they are and sealed again at once
//! ([`Opened::reseal`]), as are values sealed under the previous key (`PORTAL_TOKEN_KEY_OLD`).

use aes_gcm::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    Aes256Gcm, Key, Nonce,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};

const PREFIX: &str = "enc1:";
const NONCE_LEN: usize = 12;

/// A 256-bit key, as given in `PORTAL_TOKEN_KEY` (base64, standard or URL-safe alphabet).
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(…)")
    }
}

impl TokenKey {
    /// Reads a key from its base64 text; the error says what is wrong without echoing it.
    pub fn parse(text: &str) -> Result<TokenKey, String> {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let text = text.trim();
        let bytes = [&STANDARD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .or_else(|| {
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(text)
                    .ok()
            })
            .ok_or("is not base64")?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "must be 32 bytes (256 bits) of base64, and decodes to {} bytes",
                b.len()
            )
        })?;
        Ok(TokenKey(key))
    }

    /// A new random key.
    pub fn generate() -> TokenKey {
        TokenKey(Aes256Gcm::generate_key(OsRng).into())
    }

    /// The key as `PORTAL_TOKEN_KEY` takes it (URL-safe base64, no padding).
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

/// The sealing keys: the current one seals and opens; the previous one only opens.
#[derive(Clone)]
pub struct Sealer {
    current: Aes256Gcm,
    previous: Option<Aes256Gcm>,
}

/// Why a stored value did not open. Never carries the value.
#[derive(Debug, thiserror::Error)]
#[error("a stored token did not decrypt with the current or the previous PORTAL_TOKEN_KEY (wrong key, or the row was altered)")]
pub struct Unsealable;

/// An opened value, and whether it should be written back sealed under the current key.
pub struct Opened {
    pub plain: String,
    pub reseal: bool,
}

impl Sealer {
    pub fn new(current: &TokenKey, previous: Option<&TokenKey>) -> Sealer {
        Sealer {
            current: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&current.0)),
            previous: previous.map(|k| Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&k.0))),
        }
    }

    /// Seals `plain` for the place `aad` names (e.g. `grants/<id>/access_token`).
    pub fn seal(&self, plain: &str, aad: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .current
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a token cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a stored value sealed for `aad` (or a plaintext row from before sealing).
    pub fn open(&self, stored: &str, aad: &str) -> Result<Opened, Unsealable> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Ok(Opened {
                plain: stored.to_string(),
                reseal: true,
            });
        };
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| Unsealable)?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(Unsealable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let payload = |msg| Payload {
            msg,
            aad: aad.as_bytes(),
        };
        let nonce = Nonce::from_slice(nonce);
        let (plain, reseal) = match self.current.decrypt(nonce, payload(sealed)) {
            Ok(plain) => (plain, false),
            Err(_) => match &self.previous {
                Some(previous) => (
                    previous
                        .decrypt(nonce, payload(sealed))
                        .map_err(|_| Unsealable)?,
                    true,
                ),
                None => return Err(Unsealable),
            },
        };
        Ok(Opened {
            plain: String::from_utf8(plain).map_err(|_| Unsealable)?,
            reseal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> (Sealer, TokenKey) {
        let key = TokenKey::generate();
        (Sealer::new(&key, None), key)
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_place() {
        let (s, _) = sealer();
        let sealed = s.seal("secret-token", "grants/a/access_token");
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("secret-token"));
        let opened = s.open(&sealed, "grants/a/access_token").unwrap();
        assert_eq!(opened.plain, "secret-token");
        assert!(!opened.reseal);
        assert!(s.open(&sealed, "grants/b/access_token").is_err());
        assert!(s.open(&sealed, "grants/a/refresh_token").is_err());
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let (s, _) = sealer();
        assert_ne!(s.seal("t", "x"), s.seal("t", "x"));
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let (s, _) = sealer();
        let sealed = s.seal("secret-token", "p");
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed[PREFIX.len()..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        assert!(s.open(&tampered, "p").is_err());
        assert!(s.open("enc1:", "p").is_err());
        assert!(s.open("enc1:!!", "p").is_err());
    }

    #[test]
    fn the_previous_key_opens_and_asks_for_a_reseal_a_third_does_not() {
        let (old, old_key) = sealer();
        let sealed = old.seal("v", "p");
        let new_key = TokenKey::generate();
        let rotated = Sealer::new(&new_key, Some(&old_key));
        let opened = rotated.open(&sealed, "p").unwrap();
        assert_eq!(opened.plain, "v");
        assert!(opened.reseal);
        assert!(Sealer::new(&new_key, None).open(&sealed, "p").is_err());
    }

    #[test]
    fn plaintext_rows_are_read_and_marked_for_sealing() {
        let (s, _) = sealer();
        let opened = s.open("legacy-token", "p").unwrap();
        assert_eq!(opened.plain, "legacy-token");
        assert!(opened.reseal);
    }

    #[test]
    fn keys_parse_from_either_base64_alphabet_and_must_be_256_bits() {
        let key = TokenKey::generate();
        let text = key.to_base64();
        assert_eq!(TokenKey::parse(&text).unwrap().0, key.0);
        let standard = base64::engine::general_purpose::STANDARD.encode(key.0);
        assert_eq!(TokenKey::parse(&standard).unwrap().0, key.0);
        let short = TokenKey::parse("c2hvcnQ=").unwrap_err();
        assert!(short.contains("32 bytes"), "{short}");
        assert_eq!(
            TokenKey::parse("not base64 at all!").unwrap_err(),
            "is not base64"
        );
        assert!(!format!("{key:?}").contains(&text));
    }
}
