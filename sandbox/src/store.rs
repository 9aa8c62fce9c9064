//! The login host's memory: pending sign-ins, codes, grants, access and refresh tokens.
//! Tokens and codes are kept only as SHA-256 hashes, so the optional state file holds no
//! usable secret; it is written atomically (temp file + rename) after every change.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a refresh token lives (Genesys keeps them for weeks; the sandbox, 30 days).
const REFRESH_LIFETIME_MS: u64 = 30 * 24 * 3600 * 1000;
/// How long a sign-in page may be answered.
pub(crate) const PENDING_LIFETIME_MS: u64 = 10 * 60 * 1000;
/// Pending sign-ins kept at most, so that nobody can grow the sandbox without bound.
pub(crate) const MAX_PENDING: usize = 10_000;
const STATE_FILE_VERSION: u32 = 1;

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A fresh opaque secret: `bytes` random bytes, base64url.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The key a secret is stored under.
pub(crate) fn hash_key(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(digest)
}

/// An authorization request waiting for the user to pick Allow or Deny.
#[derive(Debug, Clone)]
pub(crate) struct PendingAuthorization {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_ms: u64,
}

/// One authorization: a user (or none, for client credentials) consenting to a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GrantRecord {
    pub(crate) client_id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) revoked: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessRecord {
    pub(crate) grant_id: String,
    pub(crate) expires_ms: u64,
    pub(crate) revoked: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub(crate) grant_id: String,
    pub(crate) expires_ms: u64,
    /// Rotated away: presenting it again means it leaked, and the grant is revoked.
    pub(crate) used: bool,
    /// Issue order (many are issued in the same millisecond), to tell the oldest spent ones.
    #[serde(default)]
    pub(crate) seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CodeRecord {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: Option<String>,
    pub(crate) user_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_ms: u64,
    /// The grant the code was redeemed for, once it was.
    pub(crate) redeemed_grant: Option<String>,
}

/// What a valid access token stands for.
#[derive(Debug, Clone)]
pub(crate) struct TokenContext {
    /// The token's storage key (its hash), which also keys its rate limit.
    pub(crate) key: String,
    pub(crate) client_id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_ms: u64,
}

/// Tokens handed out by an issuing call. The plain secrets exist only here and in the answer.
pub(crate) struct IssuedTokens {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuedTokens([redacted])")
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Store {
    #[serde(default)]
    version: u32,
    #[serde(default)]
    grants: HashMap<String, GrantRecord>,
    #[serde(default)]
    access: HashMap<String, AccessRecord>,
    #[serde(default)]
    refresh: HashMap<String, RefreshRecord>,
    #[serde(default)]
    codes: HashMap<String, CodeRecord>,
    #[serde(skip)]
    pending: HashMap<String, PendingAuthorization>,
    #[serde(skip)]
    path: Option<PathBuf>,
    /// Changes since the last sweep of expired records (without a state file nothing else
    /// sweeps them, and a long-running sandbox must not grow without bound).
    #[serde(skip)]
    changes: usize,
    /// The raw access and refresh tokens issued since start, newest last (at most
    /// `ISSUED_KEPT`): in memory only, for the leak tests behind `GET /sandbox/issued-tokens`.
    #[serde(skip)]
    issued: VecDeque<String>,
    /// The next refresh token's [`RefreshRecord::seq`].
    #[serde(skip)]
    next_seq: u64,
}

/// How many raw tokens the sandbox remembers for the leak tests.
const ISSUED_KEPT: usize = 512;

/// Spent (rotated) refresh tokens remembered per grant, for replay detection.
const SPENT_KEPT: usize = 8;

/// Changes between two sweeps when there is no state file.
const SWEEP_EVERY: usize = 1_000;

/// Why a code or refresh token was refused (all are `invalid_grant` on the wire).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GrantRefusal {
    Unknown,
    Expired,
    WrongClient,
    Reused,
    Revoked,
}

impl GrantRefusal {
    pub(crate) fn description(&self, what: &str) -> String {
        match self {
            GrantRefusal::Unknown => format!("The {what} is invalid."),
            GrantRefusal::Expired => format!("The {what} has expired."),
            GrantRefusal::WrongClient => format!("The {what} was issued to another client."),
            GrantRefusal::Reused => {
                format!("The {what} was already used; every token issued from it is revoked.")
            }
            GrantRefusal::Revoked => format!("The {what} has been revoked."),
        }
    }
}

impl Store {
    /// Opens the store, reading `path` when it exists. A file that cannot be read is an
    /// error (better than silently signing everybody out).
    pub(crate) fn open(path: Option<PathBuf>) -> std::io::Result<Store> {
        let mut store = match &path {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(p)?;
                let store: Store = serde_json::from_str(&text).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("sandbox state file {}: {e}", p.display()),
                    )
                })?;
                store
            }
            _ => Store::default(),
        };
        store.version = STATE_FILE_VERSION;
        store.next_seq = store.refresh.values().map(|r| r.seq + 1).max().unwrap_or(0);
        store.path = path;
        store.prune(now_ms());
        Ok(store)
    }

    fn persist(&mut self) {
        let Some(path) = self.path.clone() else {
            self.changes += 1;
            if self.changes >= SWEEP_EVERY {
                self.changes = 0;
                self.prune(now_ms());
            }
            return;
        };
        self.prune(now_ms());
        if let Err(e) = write_atomically(&path, self) {
            tracing::warn!(path = %path.display(), error = %e, "could not save the sandbox state");
        }
    }

    /// Drops what can no longer matter: expired tokens and codes, and grants nothing points to.
    fn prune(&mut self, now: u64) {
        self.access.retain(|_, a| a.expires_ms > now && !a.revoked);
        self.refresh.retain(|_, r| r.expires_ms > now);
        // Redeemed codes stay until twice their lifetime is over so that a replay still
        // revokes what they issued.
        self.codes
            .retain(|_, c| c.expires_ms.saturating_add(PENDING_LIFETIME_MS) > now);
        self.pending.retain(|_, p| p.expires_ms > now);
        let live: std::collections::HashSet<&str> = self
            .access
            .values()
            .map(|a| a.grant_id.as_str())
            .chain(self.refresh.values().map(|r| r.grant_id.as_str()))
            .chain(
                self.codes
                    .values()
                    .filter_map(|c| c.redeemed_grant.as_deref()),
            )
            .collect();
        let keep: std::collections::HashSet<String> =
            live.into_iter().map(str::to_string).collect();
        self.grants.retain(|id, _| keep.contains(id));
    }

    // -- pending sign-ins ---------------------------------------------------------------

    /// Keeps a pending sign-in; `None` when too many are pending.
    pub(crate) fn add_pending(&mut self, pending: PendingAuthorization) -> Option<String> {
        if self.pending.len() >= MAX_PENDING {
            let now = now_ms();
            self.pending.retain(|_, p| p.expires_ms > now);
            if self.pending.len() >= MAX_PENDING {
                return None;
            }
        }
        let id = random_token(24);
        self.pending.insert(id.clone(), pending);
        Some(id)
    }

    pub(crate) fn pending(&self, id: &str) -> Option<&PendingAuthorization> {
        self.pending.get(id).filter(|p| p.expires_ms > now_ms())
    }

    pub(crate) fn take_pending(&mut self, id: &str) -> Option<PendingAuthorization> {
        self.pending.remove(id).filter(|p| p.expires_ms > now_ms())
    }

    // -- codes ----------------------------------------------------------------------------

    pub(crate) fn issue_code(&mut self, record: CodeRecord) -> String {
        let code = random_token(32);
        self.codes.insert(hash_key(&code), record);
        self.persist();
        code
    }

    /// Redeems a code. A second redemption revokes the grant the first one created.
    pub(crate) fn redeem_code(
        &mut self,
        code: &str,
        client_id: &str,
    ) -> Result<CodeRecord, GrantRefusal> {
        let key = hash_key(code);
        let now = now_ms();
        let record = self.codes.get(&key).cloned().ok_or(GrantRefusal::Unknown)?;
        if let Some(grant_id) = &record.redeemed_grant {
            self.revoke_grant(grant_id);
            self.persist();
            return Err(GrantRefusal::Reused);
        }
        if record.client_id != client_id {
            return Err(GrantRefusal::WrongClient);
        }
        if record.expires_ms <= now {
            return Err(GrantRefusal::Expired);
        }
        Ok(record)
    }

    /// Marks a code redeemed once its checks passed, so that a replay revokes `grant_id`.
    fn mark_code_redeemed(&mut self, code: &str, grant_id: &str) {
        if let Some(c) = self.codes.get_mut(&hash_key(code)) {
            c.redeemed_grant = Some(grant_id.to_string());
        }
    }

    /// Burns a code whose redemption failed a check (wrong verifier or redirect URI): a code
    /// is single use, whatever happened.
    pub(crate) fn burn_code(&mut self, code: &str) {
        if let Some(c) = self.codes.get_mut(&hash_key(code)) {
            if c.redeemed_grant.is_none() {
                c.redeemed_grant = Some(String::new());
            }
        }
        self.persist();
    }

    // -- grants and tokens -------------------------------------------------------------

    /// Creates a grant and its first tokens.
    pub(crate) fn issue_grant(
        &mut self,
        client_id: &str,
        user_id: Option<String>,
        scopes: Vec<String>,
        lifetime_secs: u64,
        with_refresh: bool,
        from_code: Option<&str>,
    ) -> IssuedTokens {
        let grant_id = random_token(16);
        self.grants.insert(
            grant_id.clone(),
            GrantRecord {
                client_id: client_id.to_string(),
                user_id,
                scopes,
                revoked: false,
            },
        );
        if let Some(code) = from_code {
            self.mark_code_redeemed(code, &grant_id);
        }
        let tokens = self.issue_tokens(&grant_id, lifetime_secs, with_refresh);
        self.persist();
        tokens
    }

    fn issue_tokens(
        &mut self,
        grant_id: &str,
        lifetime_secs: u64,
        with_refresh: bool,
    ) -> IssuedTokens {
        let now = now_ms();
        let access_token = random_token(48);
        self.access.insert(
            hash_key(&access_token),
            AccessRecord {
                grant_id: grant_id.to_string(),
                expires_ms: now.saturating_add(lifetime_secs.saturating_mul(1000)),
                revoked: false,
            },
        );
        let refresh_token = with_refresh.then(|| {
            let token = random_token(48);
            self.next_seq += 1;
            self.refresh.insert(
                hash_key(&token),
                RefreshRecord {
                    grant_id: grant_id.to_string(),
                    expires_ms: now.saturating_add(REFRESH_LIFETIME_MS),
                    used: false,
                    seq: self.next_seq,
                },
            );
            token
        });
        for token in std::iter::once(&access_token).chain(refresh_token.as_ref()) {
            if self.issued.len() == ISSUED_KEPT {
                self.issued.pop_front();
            }
            self.issued.push_back(token.clone());
        }
        IssuedTokens {
            access_token,
            refresh_token,
        }
    }

    /// Rotates a refresh token: the old one is spent, a new pair comes back. Presenting a
    /// spent refresh token revokes the whole grant (RFC 9700 §4.14.2).
    pub(crate) fn refresh(
        &mut self,
        refresh_token: &str,
        client_id: &str,
        lifetime_secs: u64,
    ) -> Result<IssuedTokens, GrantRefusal> {
        let key = hash_key(refresh_token);
        let now = now_ms();
        let record = self
            .refresh
            .get(&key)
            .cloned()
            .ok_or(GrantRefusal::Unknown)?;
        let grant = self
            .grants
            .get(&record.grant_id)
            .cloned()
            .ok_or(GrantRefusal::Unknown)?;
        if grant.client_id != client_id {
            return Err(GrantRefusal::WrongClient);
        }
        if record.used {
            self.revoke_grant(&record.grant_id);
            self.persist();
            return Err(GrantRefusal::Reused);
        }
        if grant.revoked {
            return Err(GrantRefusal::Revoked);
        }
        if record.expires_ms <= now {
            return Err(GrantRefusal::Expired);
        }
        if let Some(r) = self.refresh.get_mut(&key) {
            r.used = true;
        }
        self.forget_old_spent(&record.grant_id);
        let tokens = self.issue_tokens(&record.grant_id, lifetime_secs, true);
        self.persist();
        Ok(tokens)
    }

    /// Keeps the [`SPENT_KEPT`] most recently spent refresh tokens of a grant and forgets
    /// older ones. Spent tokens are kept so that a replay revokes the grant; keeping every one
    /// for its 30 days made a grant refreshed every few seconds grow the store (and each save
    /// of the state file) without bound. A replay of a forgotten one is still refused, as an
    /// unknown token.
    fn forget_old_spent(&mut self, grant_id: &str) {
        let mut spent: Vec<(u64, String)> = self
            .refresh
            .iter()
            .filter(|(_, r)| r.used && r.grant_id == grant_id)
            .map(|(k, r)| (r.seq, k.clone()))
            .collect();
        if spent.len() <= SPENT_KEPT {
            return;
        }
        spent.sort_unstable();
        for (_, key) in &spent[..spent.len() - SPENT_KEPT] {
            self.refresh.remove(key);
        }
    }

    fn revoke_grant(&mut self, grant_id: &str) {
        if let Some(g) = self.grants.get_mut(grant_id) {
            g.revoked = true;
        }
        for a in self.access.values_mut().filter(|a| a.grant_id == grant_id) {
            a.revoked = true;
        }
        for r in self.refresh.values_mut().filter(|r| r.grant_id == grant_id) {
            r.used = true;
        }
    }

    /// What an access token stands for, if it is known, unexpired and unrevoked.
    pub(crate) fn validate(&self, access_token: &str) -> Option<TokenContext> {
        let key = hash_key(access_token);
        let record = self.access.get(&key)?;
        if record.revoked || record.expires_ms <= now_ms() {
            return None;
        }
        let grant = self.grants.get(&record.grant_id)?;
        if grant.revoked {
            return None;
        }
        Some(TokenContext {
            key,
            client_id: grant.client_id.clone(),
            user_id: grant.user_id.clone(),
            scopes: grant.scopes.clone(),
            expires_ms: record.expires_ms,
        })
    }

    /// Whether `access_token` is one the sandbox issued that has since expired (Genesys then
    /// says `credentials.expired`, not `bad.credentials`).
    pub(crate) fn is_expired(&self, access_token: &str) -> bool {
        self.access
            .get(&hash_key(access_token))
            .is_some_and(|r| !r.revoked && r.expires_ms <= now_ms())
    }

    /// Revokes one access token (`DELETE /api/v2/tokens/me`).
    pub(crate) fn revoke_access(&mut self, key: &str) {
        if let Some(a) = self.access.get_mut(key) {
            a.revoked = true;
        }
        self.persist();
    }

    /// The raw tokens issued since start (the last `ISSUED_KEPT`), oldest first.
    pub(crate) fn issued_tokens(&self) -> Vec<String> {
        self.issued.iter().cloned().collect()
    }

    /// Makes every access token issued so far expired (refresh tokens stay valid).
    pub(crate) fn expire_all_access(&mut self) {
        let now = now_ms();
        for a in self.access.values_mut() {
            a.expires_ms = a.expires_ms.min(now);
        }
        self.persist();
    }
}

fn write_atomically(path: &Path, store: &Store) -> std::io::Result<()> {
    let json = serde_json::to_vec(store).map_err(std::io::Error::other)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_record(client: &str) -> CodeRecord {
        CodeRecord {
            client_id: client.into(),
            redirect_uri: "http://x/cb".into(),
            code_challenge: None,
            user_id: "u".into(),
            scopes: vec![],
            expires_ms: now_ms() + 60_000,
            redeemed_grant: None,
        }
    }

    #[test]
    fn code_replay_revokes_issued_tokens() {
        let mut s = Store::default();
        let code = s.issue_code(code_record("c"));
        s.redeem_code(&code, "c").unwrap();
        let t = s.issue_grant("c", Some("u".into()), vec![], 60, true, Some(&code));
        assert!(s.validate(&t.access_token).is_some());
        assert_eq!(s.redeem_code(&code, "c").unwrap_err(), GrantRefusal::Reused);
        assert!(s.validate(&t.access_token).is_none());
        let refresh = t.refresh_token.unwrap();
        assert!(s.refresh(&refresh, "c", 60).is_err());
    }

    #[test]
    fn refresh_rotation_and_reuse_detection() {
        let mut s = Store::default();
        let t = s.issue_grant("c", Some("u".into()), vec![], 60, true, None);
        let old = t.refresh_token.unwrap();
        let t2 = s.refresh(&old, "c", 60).unwrap();
        assert!(s.validate(&t2.access_token).is_some());
        assert_eq!(s.refresh(&old, "c", 60).unwrap_err(), GrantRefusal::Reused);
        assert!(s.validate(&t2.access_token).is_none());
        assert!(s.refresh(&t2.refresh_token.unwrap(), "c", 60).is_err());
    }

    /// A grant refreshed over and over keeps a bounded number of refresh tokens (it grew by
    /// one per refresh before), and the spent tokens it keeps still catch a replay.
    #[test]
    fn spent_refresh_tokens_are_bounded_per_grant() {
        let mut s = Store::default();
        let first = s.issue_grant("c", Some("u".into()), vec![], 60, true, None);
        let mut spent = vec![first.refresh_token.unwrap()];
        for _ in 0..200 {
            let next = s.refresh(spent.last().unwrap(), "c", 60).unwrap();
            spent.push(next.refresh_token.unwrap());
        }
        assert_eq!(
            s.refresh.len(),
            SPENT_KEPT + 1,
            "the live one and the last spent ones"
        );
        let live = spent.pop().unwrap();
        // The oldest spent token is forgotten: refused, and the grant lives on.
        assert_eq!(
            s.refresh(&spent[0], "c", 60).unwrap_err(),
            GrantRefusal::Unknown
        );
        // A recently spent one is a replay: the whole grant is revoked.
        let recent = &spent[spent.len() - 2];
        assert_eq!(
            s.refresh(recent, "c", 60).unwrap_err(),
            GrantRefusal::Reused
        );
        assert!(s.refresh(&live, "c", 60).is_err());
    }

    #[test]
    fn state_file_holds_hashes_only_and_reloads() {
        let dir = std::env::temp_dir().join(format!("sandbox-store-{}", random_token(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let mut s = Store::open(Some(path.clone())).unwrap();
        let t = s.issue_grant("c", Some("u".into()), vec!["users".into()], 600, true, None);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&t.access_token));
        let reloaded = Store::open(Some(path)).unwrap();
        assert_eq!(
            reloaded.validate(&t.access_token).unwrap().scopes,
            vec!["users"]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
