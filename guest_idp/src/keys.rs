//! The RS256 signing keys: 2048-bit RSA keys (`rsa`, generation and encoding only) kept in the
//! database (`guest_idp_keys`), sealed by the host's [`KeyVault`] when it gives one, signed with
//! via `jsonwebtoken`. Every instance of the provider on one database (the portal's replicas)
//! signs with the same key and publishes the same JWKS: each reloads the table every few
//! seconds ([`crate::Idp::reload_keys`]), and a rotated key is published
//! `key_publish_ahead` before it signs, so no relying party meets a `kid` that the JWKS of the
//! instance it asks does not hold yet.
//!
//! A key's retirement is not stored: a key retires when the next one starts signing, and stays
//! in the JWKS for `retain_secs` more (the longest an ID token it signed may live).

use std::fs;
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

use crate::clock::{now_ms, now_unix};
use crate::error::IdpError;

/// Where keys lived before they moved to the database: imported once, then deleted.
const LEGACY_KEY_DIR: &str = "guest-idp-keys";
const LEGACY_MANIFEST: &str = "keys.json";
const PEM_START: &str = "-----BEGIN";

/// Seals the provider's private keys for the database and opens them again: the host's
/// encryption at rest (the portal's AES-256-GCM with its `PORTAL_TOKEN_KEY`). Without one,
/// keys are stored as PEM and the database must be protected like a key file.
pub trait KeyVault: Send + Sync + std::fmt::Debug {
    /// `pem` (a PKCS#1 private key) sealed for the row of `kid`.
    fn seal(&self, kid: &str, pem: &str) -> String;
    /// What [`KeyVault::seal`] stored for `kid`, opened; an error names why not, never the key.
    fn open(&self, kid: &str, stored: &str) -> Result<String, String>;
}

/// One key: its id, when it starts signing, and what signing and the JWKS need.
struct SigningKey {
    kid: String,
    created_unix: i64,
    active_from_ms: i64,
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

/// The keys in the database, as this instance last read them.
pub(crate) struct KeyRing {
    pool: AnyPool,
    vault: Option<Arc<dyn KeyVault>>,
    /// How long after retirement a key's tokens can still be valid (the ID token lifetime).
    retain_ms: i64,
    /// How long a rotated key is published before it signs.
    publish_ahead_ms: i64,
    /// Sorted by when they start signing (then creation, then `kid`).
    keys: RwLock<Vec<Arc<SigningKey>>>,
}

impl KeyRing {
    /// The keys in the database; the ones of a key directory from before (`data_dir/
    /// guest-idp-keys`) are imported first when the table is empty, and the first key is
    /// generated when there is none.
    pub(crate) async fn open(
        pool: AnyPool,
        data_dir: &Path,
        vault: Option<Arc<dyn KeyVault>>,
        retain_ms: i64,
        publish_ahead_ms: i64,
    ) -> Result<KeyRing, IdpError> {
        let ring = KeyRing {
            pool,
            vault,
            retain_ms,
            publish_ahead_ms: publish_ahead_ms.max(0),
            keys: RwLock::new(Vec::new()),
        };
        ring.import_legacy(&data_dir.join(LEGACY_KEY_DIR)).await?;
        ring.reload().await?;
        if ring.keys.read().expect("key lock").is_empty() {
            // Two instances starting together on an empty table both get here: both keys are
            // published, and the newer signs everywhere.
            ring.insert(generate().await?, now_ms()).await?;
            ring.reload().await?;
        }
        ring.prune().await?;
        Ok(ring)
    }

    async fn import_legacy(&self, dir: &Path) -> Result<(), IdpError> {
        let manifest: Manifest = match fs::read(dir.join(LEGACY_MANIFEST)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| IdpError::Key(format!("{LEGACY_MANIFEST} is unreadable: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(IdpError::Key(format!("cannot read {LEGACY_MANIFEST}: {e}"))),
        };
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guest_idp_keys")
            .fetch_one(&self.pool)
            .await?;
        if stored > 0 {
            tracing::warn!(dir = %dir.display(), "signing keys are in the database: the key directory is ignored (delete it)");
            return Ok(());
        }
        for entry in &manifest.keys {
            let pem = fs::read_to_string(dir.join(format!("{}.pem", entry.kid)))
                .map_err(|e| IdpError::Key(format!("cannot read key {}: {e}", entry.kid)))?;
            let private = RsaPrivateKey::from_pkcs1_pem(&pem)
                .map_err(|e| IdpError::Key(format!("key {} is unreadable: {e}", entry.kid)))?;
            let active_from_ms = entry.created_unix.saturating_mul(1000);
            let key = signing_key(&private, entry.created_unix, active_from_ms)?;
            self.insert((key, pem), active_from_ms).await?;
        }
        fs::remove_dir_all(dir)
            .map_err(|e| IdpError::Key(format!("cannot delete {}: {e}", dir.display())))?;
        tracing::info!(
            keys = manifest.keys.len(),
            "guest IdP signing keys moved from the data directory to the database"
        );
        Ok(())
    }

    async fn insert(
        &self,
        (key, pem): (SigningKey, String),
        active_from_ms: i64,
    ) -> Result<(), IdpError> {
        let stored = match &self.vault {
            Some(vault) => vault.seal(&key.kid, &pem),
            None => pem,
        };
        sqlx::query(
            "INSERT INTO guest_idp_keys (kid, private_key, created_unix, active_from_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(&key.kid)
        .bind(stored)
        .bind(key.created_unix)
        .bind(active_from_ms)
        .execute(&self.pool)
        .await?;
        tracing::info!(kid = %key.kid, active_from_ms, "guest IdP signing key stored");
        Ok(())
    }

    /// Reads the keys again (the ones another instance added, rotated or pruned); keys already
    /// known are not parsed twice.
    pub(crate) async fn reload(&self) -> Result<(), IdpError> {
        let rows = sqlx::query(
            "SELECT kid, private_key, created_unix, active_from_ms FROM guest_idp_keys",
        )
        .fetch_all(&self.pool)
        .await?;
        let known: Vec<Arc<SigningKey>> = self.keys.read().expect("key lock").clone();
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let kid: String = row.try_get(0)?;
            let active_from_ms: i64 = row.try_get(3)?;
            if let Some(k) = known
                .iter()
                .find(|k| k.kid == kid && k.active_from_ms == active_from_ms)
            {
                keys.push(k.clone());
                continue;
            }
            let stored: String = row.try_get(1)?;
            let created_unix: i64 = row.try_get(2)?;
            let legacy_plain = stored.starts_with(PEM_START);
            let pem = match (&self.vault, legacy_plain) {
                (Some(vault), false) => vault
                    .open(&kid, &stored)
                    .map_err(|e| IdpError::Key(format!("key {kid} cannot be opened: {e}")))?,
                _ => stored,
            };
            let private = RsaPrivateKey::from_pkcs1_pem(&pem)
                .map_err(|e| IdpError::Key(format!("key {kid} is unreadable: {e}")))?;
            let key = signing_key(&private, created_unix, active_from_ms)?;
            if key.kid != kid {
                return Err(IdpError::Key(format!(
                    "key {kid} holds another key ({})",
                    key.kid
                )));
            }
            if let (Some(vault), true) = (&self.vault, legacy_plain) {
                // Stored before the host sealed keys: sealed now.
                sqlx::query("UPDATE guest_idp_keys SET private_key = $1 WHERE kid = $2")
                    .bind(vault.seal(&kid, &pem))
                    .bind(&kid)
                    .execute(&self.pool)
                    .await?;
            }
            keys.push(Arc::new(key));
        }
        keys.sort_by(|a, b| {
            (a.active_from_ms, a.created_unix, &a.kid).cmp(&(
                b.active_from_ms,
                b.created_unix,
                &b.kid,
            ))
        });
        *self.keys.write().expect("key lock") = keys;
        Ok(())
    }

    /// Makes a new key the signing key, `publish_ahead` from now (published at once); the
    /// previous one stays in the JWKS for `retain_secs` after that. Returns its `kid`.
    pub(crate) async fn rotate(&self) -> Result<String, IdpError> {
        let fresh = generate().await?;
        let kid = fresh.0.kid.clone();
        // After every key there is, even one rotated in the same millisecond.
        let last = self
            .keys
            .read()
            .expect("key lock")
            .last()
            .map_or(i64::MIN, |k| k.active_from_ms);
        let from = (now_ms() + self.publish_ahead_ms).max(last.saturating_add(1));
        self.insert(fresh, from).await?;
        self.reload().await?;
        self.prune().await?;
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

    /// The JWK Set (RFC 7517 §5): the key about to sign (if a rotation is under way), the
    /// current one and the retired ones still needed, newest first.
    pub(crate) fn jwks(&self) -> serde_json::Value {
        let now = now_ms();
        let keys = self.keys.read().expect("key lock");
        let jwks: Vec<serde_json::Value> = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| self.still_published(&keys, *i, now))
            .rev()
            .map(|(_, k)| {
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
        let now = now_ms();
        let keys = self.keys.read().expect("key lock");
        keys.iter()
            .rev()
            .find(|k| k.active_from_ms <= now)
            .or_else(|| keys.first())
            .cloned()
            .expect("the key ring always holds a key")
    }

    /// When key `i` stopped signing: when the next one started, if it has.
    fn retired_at(keys: &[Arc<SigningKey>], i: usize, now: i64) -> Option<i64> {
        keys.get(i + 1)
            .map(|next| next.active_from_ms)
            .filter(|at| *at <= now)
    }

    fn still_published(&self, keys: &[Arc<SigningKey>], i: usize, now: i64) -> bool {
        Self::retired_at(keys, i, now).is_none_or(|r| r.saturating_add(self.retain_ms) > now)
    }

    /// Deletes the retired keys whose tokens have all expired.
    async fn prune(&self) -> Result<(), IdpError> {
        let now = now_ms();
        let gone: Vec<String> = {
            let keys = self.keys.read().expect("key lock");
            (0..keys.len())
                .filter(|i| !self.still_published(&keys, *i, now))
                .map(|i| keys[i].kid.clone())
                .collect()
        };
        for kid in &gone {
            sqlx::query("DELETE FROM guest_idp_keys WHERE kid = $1")
                .bind(kid)
                .execute(&self.pool)
                .await?;
            tracing::info!(%kid, "guest IdP signing key deleted (its tokens have expired)");
        }
        if !gone.is_empty() {
            self.keys
                .write()
                .expect("key lock")
                .retain(|k| !gone.contains(&k.kid));
        }
        Ok(())
    }
}

/// A new key and its PEM (generation takes a while: off the async threads).
async fn generate() -> Result<(SigningKey, String), IdpError> {
    tokio::task::spawn_blocking(|| {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
            .map_err(|e| IdpError::Key(format!("cannot generate an RSA key: {e}")))?;
        let key = signing_key(&private, now_unix(), now_ms())?;
        let pem = private
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| IdpError::Key(format!("cannot encode the key: {e}")))?;
        tracing::info!(kid = %key.kid, "guest IdP signing key generated");
        Ok((key, pem.to_string()))
    })
    .await
    .map_err(|e| IdpError::Key(e.to_string()))?
}

fn signing_key(
    private: &RsaPrivateKey,
    created_unix: i64,
    active_from_ms: i64,
) -> Result<SigningKey, IdpError> {
    let der = private
        .to_pkcs1_der()
        .map_err(|e| IdpError::Key(format!("cannot encode the key: {e}")))?;
    let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
    Ok(SigningKey {
        kid: thumbprint(&n, &e),
        created_unix,
        active_from_ms,
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
