//! The core flow: discovery, JWKS, invitation, authorization, code exchange, userinfo.

mod common;

use common::*;

#[tokio::test]
async fn discovery_lists_every_required_field() {
    let t = start().await;
    let r = t
        .http
        .get(t.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let d: serde_json::Value = r.json().await.unwrap();
    assert_eq!(d["issuer"], t.issuer.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("jwks_uri", "/jwks"),
        ("userinfo_endpoint", "/userinfo"),
        ("end_session_endpoint", "/end-session"),
    ] {
        assert_eq!(d[field], t.url(path), "{field}");
    }
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["response_modes_supported"], serde_json::json!(["query"]));
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["prompt_values_supported"],
        serde_json::json!(["none", "login"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        d["grant_types_supported"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    for scope in ["openid", "email", "profile", "offline_access"] {
        assert!(d["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == scope));
    }
    for claim in [
        "sub",
        "email",
        "given_name",
        "family_name",
        "auth_time",
        "nonce",
    ] {
        assert!(d["claims_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == claim));
    }
}

#[tokio::test]
async fn jwks_serves_the_rsa_signing_key() {
    let t = start().await;
    let r = t.http.get(t.url("/jwks")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let jwks: serde_json::Value = r.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["use"], "sig");
    assert_eq!(k["alg"], "RS256");
    assert_eq!(k["e"], "AQAB");
    assert!(k["kid"].as_str().unwrap().len() >= 20);
    // 2048-bit modulus: 256 bytes, 342 base64url characters.
    assert_eq!(k["n"].as_str().unwrap().len(), 342);
    assert!(k.get("d").is_none(), "no private part");
}

#[tokio::test]
async fn code_flow_issues_tokens_and_userinfo_answers() {
    let t = start().await;
    let (guest, cookie) = t.signed_in_guest("Ada").await;
    let (verifier, challenge) = pkce();
    let r = t.authorize(Some(&cookie), &t.auth_params(&challenge)).await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let q = redirect_query(&r);
    assert_eq!(q["state"], "state-123");
    assert_eq!(q["iss"], t.issuer.as_str());
    assert!(q["code"].len() >= 43);
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{REDIRECT_URI}?code=")));

    let r = t.redeem(&q["code"], &verifier).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "email offline_access openid profile");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
    let claims = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], t.issuer.as_str());
    assert_eq!(claims["sub"], guest.id);
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["family_name"], "Tester");
    assert_eq!(claims["name"], "Ada Tester");
    assert_eq!(claims["customerTier"], "gold");
    assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    let header = jwt_header(body["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());

    let r = t.userinfo(body["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 200);
    let info: serde_json::Value = r.json().await.unwrap();
    assert_eq!(info["sub"], guest.id);
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["name"], "Ada Tester");
    assert_eq!(info["customerTier"], "gold");

    // POST with the token in the form body (RFC 6750 §2.2).
    let r = t
        .http
        .post(t.url("/userinfo"))
        .form(&[("access_token", body["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn without_offline_access_there_is_no_refresh_token() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Bo").await;
    let (verifier, challenge) = pkce();
    let mut params = t.auth_params(&challenge);
    params.retain(|(k, _)| *k != "scope");
    params.push(("scope", "openid email"));
    let r = t.authorize(Some(&cookie), &params).await;
    let q = redirect_query(&r);
    let body: serde_json::Value = t.redeem(&q["code"], &verifier).await.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    let claims = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], "bo@example.com");
    assert!(
        claims.get("given_name").is_none(),
        "no profile scope, no names"
    );
}

#[tokio::test]
async fn userinfo_rejects_bad_tokens_with_a_bearer_challenge() {
    let t = start().await;
    let r = t.userinfo("not-a-token").await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"));
    assert!(challenge.contains("error=\"invalid_token\""));
    let r = t.http.get(t.url("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
}
