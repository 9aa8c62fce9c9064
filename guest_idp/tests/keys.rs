//! The signing keys: ID tokens verify with an independent library against the JWKS, keys
//! persist in the database across a reopen (sealed by the host's vault), a rotation keeps the
//! old key published while new tokens carry the new `kid`, and instances on one database
//! publish a rotated key before it signs.

mod common;

use common::*;
use guest_idp::{Idp, IdpConfig, KeyVault};
use sqlx::AnyPool;

#[tokio::test]
async fn id_tokens_verify_with_openidconnect_against_the_jwks() {
    let t = start().await;
    let (guest, cookie) = t.signed_in_guest("Ada").await;
    let tokens = t.tokens(&cookie).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims = verify_independently(&t, id_token, Some("nonce-456"))
        .await
        .expect("verifies");
    assert_eq!(claims.subject().as_str(), guest.id);
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.email().unwrap().as_str(), "ada@example.com");
    // The wrong nonce, and a tampered payload, fail.
    assert!(verify_independently(&t, id_token, Some("other"))
        .await
        .is_err());
    let mut parts: Vec<String> = id_token.split('.').map(str::to_owned).collect();
    let mut payload = jwt_claims(id_token);
    payload["sub"] = "someone-else".into();
    use base64::Engine;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
    assert!(
        verify_independently(&t, &parts.join("."), Some("nonce-456"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn keys_persist_in_the_database_across_a_reopen() {
    let t = start().await;
    let kid_before = jwt_header(
        t.tokens(&t.signed_in_guest("Ada").await.1).await["id_token"]
            .as_str()
            .unwrap(),
    )["kid"]
        .clone();
    let jwks_before = fetch_jwks(&t).await;
    // In the database, not in files.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guest_idp_keys WHERE kid = $1")
        .bind(kid_before.as_str().unwrap())
        .fetch_one(&t.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    assert!(!t.dir.path().join("guest-idp-keys").exists());
    let dir = t.stop().await;
    let t = start_in(dir, |_| {}).await;
    let jwks_after = fetch_jwks(&t).await;
    assert_eq!(jwks_before["keys"][0]["n"], jwks_after["keys"][0]["n"]);
    assert_eq!(jwks_after["keys"][0]["kid"], kid_before);
    // Guests survive the reopen too.
    let page = t.idp.list_guests("", 1, 10).await.unwrap();
    assert_eq!(page.total, 1);
}

#[tokio::test]
async fn a_rotated_key_stays_published_and_new_tokens_use_the_new_kid() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let old = t.tokens(&cookie).await;
    let old_token = old["id_token"].as_str().unwrap().to_owned();
    let old_kid = jwt_header(&old_token)["kid"].as_str().unwrap().to_owned();
    t.idp.rotate_signing_key().await.unwrap();

    let jwks = fetch_jwks(&t).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&old_kid.as_str()));
    verify_independently(&t, &old_token, Some("nonce-456"))
        .await
        .expect("the old token still verifies");

    let new = t.tokens(&cookie).await;
    let new_token = new["id_token"].as_str().unwrap();
    let new_kid = jwt_header(new_token)["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(kids[0], new_kid, "the current key comes first");
    verify_independently(&t, new_token, Some("nonce-456"))
        .await
        .expect("the new token verifies");
    // Refreshed tokens are signed with the new key as well.
    let refreshed: serde_json::Value = t
        .refresh(old["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwt_header(refreshed["id_token"].as_str().unwrap())["kid"],
        new_kid
    );

    // The rotation survives a reopen: same two keys, the new one signing.
    let dir = t.stop().await;
    let t = start_in(dir, |_| {}).await;
    let jwks = fetch_jwks(&t).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(jwks["keys"][0]["kid"], new_kid);
}

#[tokio::test]
async fn a_retired_key_leaves_the_jwks_once_its_tokens_expired() {
    let t = start_with(|c| c.access_token_ttl = std::time::Duration::from_secs(1)).await;
    t.idp.rotate_signing_key().await.unwrap();
    let jwks = fetch_jwks(&t).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    // Retained for the token lifetime plus a minute of clock skew: simulate by reopening
    // after moving the rotation into the past (the new key signing since 1970).
    sqlx::query("UPDATE guest_idp_keys SET active_from_ms = 1")
        .execute(&t.pool)
        .await
        .unwrap();
    let current = t.idp.signing_key_id();
    sqlx::query("UPDATE guest_idp_keys SET active_from_ms = 2 WHERE kid = $1")
        .bind(&current)
        .execute(&t.pool)
        .await
        .unwrap();
    let dir = t.stop().await;
    let t = start_in(dir, |_| {}).await;
    let jwks = fetch_jwks(&t).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], current.as_str());
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guest_idp_keys")
        .fetch_one(&t.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "the retired key is deleted");
}

async fn fetch_jwks(t: &TestIdp) -> serde_json::Value {
    t.http
        .get(t.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn jwks_kids(t: &TestIdp) -> Vec<String> {
    let jwks = fetch_jwks(t).await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Two instances on one database (the portal's replicas): a key rotated on one is in the
/// other's JWKS after a reload, before either signs with it; once its time comes both sign
/// with it, and every token verifies against either instance's JWKS.
#[tokio::test]
async fn a_key_rotated_on_one_instance_is_published_by_the_other_before_it_signs() {
    let ahead = std::time::Duration::from_secs(2);
    let t = start_with(|c| c.key_publish_ahead = ahead).await;
    let mut config = IdpConfig::new(t.issuer.clone(), t.dir.path().to_path_buf());
    config.clients = clients();
    config.key_publish_ahead = ahead;
    let other = Idp::open(config, t.pool.clone()).await.unwrap();
    let old = t.idp.signing_key_id();
    assert_eq!(other.signing_key_id(), old, "one key for both");

    let new = other.rotate_signing_key().await.unwrap();
    assert_eq!(other.signing_key_id(), old, "not signing yet");
    assert_eq!(jwks_kids(&t).await, vec![old.clone()], "before the reload");
    t.idp.reload_keys().await.unwrap();
    assert_eq!(jwks_kids(&t).await, vec![new.clone(), old.clone()]);
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let early = t.tokens(&cookie).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jwt_header(&early)["kid"], old.as_str());

    tokio::time::sleep(ahead + std::time::Duration::from_millis(1_100)).await;
    assert_eq!(t.idp.signing_key_id(), new);
    assert_eq!(other.signing_key_id(), new);
    let (_, cookie) = t.signed_in_guest("Grace").await;
    let late = t.tokens(&cookie).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jwt_header(&late)["kid"], new.as_str());
    for token in [&early, &late] {
        verify_independently(&t, token, Some("nonce-456"))
            .await
            .expect("verifies against the JWKS");
    }
}

/// The host's vault seals the private keys: no PEM in the database; a vault that cannot open
/// them is a clear error at start; a key stored as PEM before the vault is sealed on read.
#[tokio::test]
async fn keys_are_sealed_by_the_hosts_vault() {
    #[derive(Debug)]
    struct Reverse;
    impl KeyVault for Reverse {
        fn seal(&self, kid: &str, pem: &str) -> String {
            format!("sealed:{kid}:{}", pem.chars().rev().collect::<String>())
        }
        fn open(&self, kid: &str, stored: &str) -> Result<String, String> {
            let body = stored
                .strip_prefix(&format!("sealed:{kid}:"))
                .ok_or("not for this row")?;
            Ok(body.chars().rev().collect())
        }
    }
    #[derive(Debug)]
    struct Refuses;
    impl KeyVault for Refuses {
        fn seal(&self, _: &str, pem: &str) -> String {
            pem.to_owned()
        }
        fn open(&self, _: &str, _: &str) -> Result<String, String> {
            Err("the wrong key".into())
        }
    }
    let stored = |pool: AnyPool| async move {
        let rows: Vec<String> = sqlx::query_scalar("SELECT private_key FROM guest_idp_keys")
            .fetch_all(&pool)
            .await
            .unwrap();
        rows
    };
    // Made without a vault: stored as PEM.
    let t = start().await;
    let kid = t.idp.signing_key_id();
    assert!(stored(t.pool.clone()).await[0].starts_with("-----BEGIN RSA PRIVATE KEY"));
    // Opened with one: the same key, sealed now.
    let dir = t.stop().await;
    let t = start_in(dir, |c| c.key_vault = Some(std::sync::Arc::new(Reverse))).await;
    assert_eq!(t.idp.signing_key_id(), kid);
    let rows = stored(t.pool.clone()).await;
    assert!(
        rows[0].starts_with(&format!("sealed:{kid}:")),
        "{:.40}",
        rows[0]
    );
    assert!(!rows[0].contains("BEGIN RSA PRIVATE KEY"));
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let token = t.tokens(&cookie).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    verify_independently(&t, &token, Some("nonce-456"))
        .await
        .expect("signs with the opened key");
    // A vault that cannot open them stops the start, naming the key, never showing it.
    let dir = t.stop().await;
    let mut config = IdpConfig::new(
        url::Url::parse("http://127.0.0.1:1/guest-idp").unwrap(),
        dir.path().to_path_buf(),
    );
    config.key_vault = Some(std::sync::Arc::new(Refuses));
    let err = Idp::open(config, pool(dir.path()).await).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&kid) && text.contains("the wrong key"),
        "{text}"
    );
    assert!(!text.contains("sealed:"));
}

/// A key directory from before keys moved to the database is imported (the same `kid` signs)
/// and deleted.
#[tokio::test]
async fn a_key_directory_from_before_is_imported_and_deleted() {
    let t = start().await;
    let kid = t.idp.signing_key_id();
    let pem: String = sqlx::query_scalar("SELECT private_key FROM guest_idp_keys")
        .fetch_one(&t.pool)
        .await
        .unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let legacy = fresh.path().join("guest-idp-keys");
    std::fs::create_dir_all(&legacy).unwrap();
    std::fs::write(legacy.join(format!("{kid}.pem")), &pem).unwrap();
    std::fs::write(
        legacy.join("keys.json"),
        serde_json::json!({"keys": [{"kid": kid, "created_unix": 1_700_000_000, "retired_unix": null}]})
            .to_string(),
    )
    .unwrap();
    let t = start_in(fresh, |_| {}).await;
    assert_eq!(t.idp.signing_key_id(), kid);
    assert_eq!(jwks_kids(&t).await, vec![kid.clone()]);
    assert!(
        !t.dir.path().join("guest-idp-keys").exists(),
        "the files are gone"
    );
}
