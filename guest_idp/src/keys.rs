//! The RS256 signing keys: a 2048-bit RSA key generated on first start (`rsa`, generation and
//! encoding only), kept in `guest-idp-keys/` (0700, files 0600), signed with via `jsonwebtoken`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::now_unix;
use crate::error::IdpError;

const KEY_DIR: &str = "guest-idp-keys";
const MANIFEST: &str = "keys.json";

/// One key: its id, when it stopped signing, and what signing and the JWKS need.
struct SigningKey {
    kid: String,
    created_unix: i64,
    retired_unix: Option<i64>,
    encoding: EncodingKey,
    n: String,
    e: String,
}

#[derive(Serialize, Deserialize)]
struct ManifestEntry {
    kid: String,
    created_unix: i64,
    retired_unix: Option<i64>,
}

#[derive(Serialize, Deserialize, Default)]
struct Manifest {
    keys: Vec<ManifestEntry>,
}

/// The current key and the retired ones whose tokens may still be alive.
pub(crate) struct KeyRing {
    dir: PathBuf,
    /// How long after retirement a key's tokens can still be valid (the ID token lifetime).
    retain_secs: i64,
    keys: RwLock<Vec<Arc<SigningKey>>>,
}

impl KeyRing {
    /// Loads the keys in `data_dir/guest-idp-keys`, generating the first one if there is none.
    pub(crate) fn open(data_dir: &Path, retain_secs: i64) -> Result<KeyRing, IdpError> {
        let dir = data_dir.join(KEY_DIR);
        create_private_dir(&dir)?;
        let ring = KeyRing {
            dir,
            retain_secs,
            keys: RwLock::new(Vec::new()),
        };
        let manifest: Manifest = match fs::read(ring.dir.join(MANIFEST)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| IdpError::Key(format!("{MANIFEST} is unreadable: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
            Err(e) => return Err(IdpError::Key(format!("cannot read {MANIFEST}: {e}"))),
        };
        let mut keys = Vec::new();
        for entry in manifest.keys {
            let pem = fs::read_to_string(ring.dir.join(format!("{}.pem", entry.kid)))
                .map_err(|e| IdpError::Key(format!("cannot read key {}: {e}", entry.kid)))?;
            let private = RsaPrivateKey::from_pkcs1_pem(&pem)
                .map_err(|e| IdpError::Key(format!("key {} is unreadable: {e}", entry.kid)))?;
            keys.push(Arc::new(signing_key(
                &private,
                entry.created_unix,
                entry.retired_unix,
            )?));
        }
        if !keys.iter().any(|k| k.retired_unix.is_none()) {
            keys.push(Arc::new(ring.generate()?));
        }
        *ring.keys.write().expect("key lock") = keys;
        ring.prune_and_save()?;
        Ok(ring)
    }

    /// Makes a new key the signing key; the previous one stays in the JWKS for `retain_secs`.
    pub(crate) fn rotate(&self) -> Result<String, IdpError> {
        let fresh = Arc::new(self.generate()?);
        let kid = fresh.kid.clone();
        {
            let mut keys = self.keys.write().expect("key lock");
            let now = now_unix();
            let retired: Vec<Arc<SigningKey>> = keys
                .iter()
                .map(|k| match k.retired_unix {
                    Some(_) => k.clone(),
                    None => Arc::new(SigningKey {
                        retired_unix: Some(now),
                        ..clone_key(k)
                    }),
                })
                .collect();
            *keys = retired;
            keys.push(fresh);
        }
        self.prune_and_save()?;
        Ok(kid)
    }

    /// Signs `claims` as a JWS with RS256 and the current key's `kid`.
    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> Result<String, IdpError> {
        let key = self.current();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| IdpError::Key(e.to_string()))
    }

    /// The public keys to verify our own ID tokens with (for `id_token_hint`), by `kid`.
    pub(crate) fn decoding_key(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.keys.read().expect("key lock");
        let key = keys.iter().find(|k| k.kid == kid)?;
        DecodingKey::from_rsa_components(&key.n, &key.e).ok()
    }

    /// The JWK Set (RFC 7517 §5): the current key and the retired ones still needed.
    pub(crate) fn jwks(&self) -> serde_json::Value {
        let now = now_unix();
        let keys = self.keys.read().expect("key lock");
        let jwks: Vec<serde_json::Value> = keys
            .iter()
            .filter(|k| k.retired_unix.is_none_or(|r| r + self.retain_secs > now))
            .rev()
            .map(|k| {
                serde_json::json!({
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "n": k.n, "e": k.e,
                })
            })
            .collect();
        serde_json::json!({ "keys": jwks })
    }

    /// The current signing key's id.
    pub(crate) fn current_kid(&self) -> String {
        self.current().kid.clone()
    }

    fn current(&self) -> Arc<SigningKey> {
        let keys = self.keys.read().expect("key lock");
        keys.iter()
            .rev()
            .find(|k| k.retired_unix.is_none())
            .cloned()
            .expect("the key ring always holds a current key")
    }

    fn generate(&self) -> Result<SigningKey, IdpError> {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
            .map_err(|e| IdpError::Key(format!("cannot generate an RSA key: {e}")))?;
        let key = signing_key(&private, now_unix(), None)?;
        let pem = private
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| IdpError::Key(format!("cannot encode the key: {e}")))?;
        write_private_file(&self.dir.join(format!("{}.pem", key.kid)), pem.as_bytes())?;
        tracing::info!(kid = %key.kid, "guest IdP signing key generated");
        Ok(key)
    }

    /// Drops retired keys whose tokens have all expired (file and entry), then writes the manifest.
    fn prune_and_save(&self) -> Result<(), IdpError> {
        let now = now_unix();
        let mut keys = self.keys.write().expect("key lock");
        let (keep, drop): (Vec<_>, Vec<_>) = keys
            .drain(..)
            .partition(|k| k.retired_unix.is_none_or(|r| r + self.retain_secs > now));
        *keys = keep;
        let manifest = Manifest {
            keys: keys
                .iter()
                .map(|k| ManifestEntry {
                    kid: k.kid.clone(),
                    created_unix: k.created_unix,
                    retired_unix: k.retired_unix,
                })
                .collect(),
        };
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| IdpError::Key(e.to_string()))?;
        write_private_file(&self.dir.join(MANIFEST), &json)?;
        for k in drop {
            let _ = fs::remove_file(self.dir.join(format!("{}.pem", k.kid)));
        }
        Ok(())
    }
}

fn clone_key(k: &SigningKey) -> SigningKey {
    SigningKey {
        kid: k.kid.clone(),
        created_unix: k.created_unix,
        retired_unix: k.retired_unix,
        encoding: k.encoding.clone(),
        n: k.n.clone(),
        e: k.e.clone(),
    }
}

fn signing_key(
    private: &RsaPrivateKey,
    created_unix: i64,
    retired_unix: Option<i64>,
) -> Result<SigningKey, IdpError> {
    let der = private
        .to_pkcs1_der()
        .map_err(|e| IdpError::Key(format!("cannot encode the key: {e}")))?;
    let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
    Ok(SigningKey {
        kid: thumbprint(&n, &e),
        created_unix,
        retired_unix,
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        n,
        e,
    })
}

/// The JWK thumbprint (RFC 7638 §3): SHA-256 over the required members in lexicographic order.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn create_private_dir(dir: &Path) -> Result<(), IdpError> {
    let err = |e: std::io::Error| IdpError::Key(format!("cannot create {}: {e}", dir.display()));
    fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (temporary file, then rename), readable by the owner only.
fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), IdpError> {
    let err = |e: std::io::Error| IdpError::Key(format!("cannot write {}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_thumbprint_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
