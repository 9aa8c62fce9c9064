//! The signing keys: ID tokens verify with an independent library against the JWKS, keys
//! persist across a reopen (files 0600, folder 0700), and a rotation keeps the old key
//! published while new tokens carry the new `kid`.

mod common;

use common::*;

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
async fn keys_persist_across_a_reopen_with_private_file_modes() {
    let t = start().await;
    let kid_before = jwt_header(
        t.tokens(&t.signed_in_guest("Ada").await.1).await["id_token"]
            .as_str()
            .unwrap(),
    )["kid"]
        .clone();
    let jwks_before: serde_json::Value = t
        .http
        .get(t.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys_dir = t.dir.path().join("guest-idp-keys");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&keys_dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        for entry in std::fs::read_dir(&keys_dir).unwrap() {
            let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
    let dir = t.stop().await;
    let t = start_in(dir, |_| {}).await;
    let jwks_after: serde_json::Value = t
        .http
        .get(t.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

    let jwks: serde_json::Value = t
        .http
        .get(t.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let jwks: serde_json::Value = t
        .http
        .get(t.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(jwks["keys"][0]["kid"], new_kid);
}

#[tokio::test]
async fn a_retired_key_leaves_the_jwks_once_its_tokens_expired() {
    let t = start_with(|c| c.access_token_ttl = std::time::Duration::from_secs(1)).await;
    t.idp.rotate_signing_key().await.unwrap();
    let jwks: serde_json::Value = t
        .http
        .get(t.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    // Retained for the token lifetime plus a minute of clock skew: simulate by reopening
    // after rewriting the manifest's retirement time into the past.
    let manifest_path = t.dir.path().join("guest-idp-keys/keys.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    for k in manifest["keys"].as_array_mut().unwrap() {
        if k["retired_unix"].is_i64() {
            k["retired_unix"] = 1.into();
        }
    }
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let dir = t.stop().await;
    let t = start_in(dir, |_| {}).await;
    let jwks: serde_json::Value = t
        .http
        .get(t.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let pems = std::fs::read_dir(t.dir.path().join("guest-idp-keys"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "pem")
        })
        .count();
    assert_eq!(pems, 1, "the retired key file is deleted");
}
