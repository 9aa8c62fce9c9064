//! The token endpoint: PKCE, single-use codes (a replay revokes), expiry, client
//! authentication methods, error shapes, and no input that makes it fail with a 500.

mod common;

use std::time::Duration;

use common::*;

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.expect("an OAuth error is JSON");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn pkce_mismatch_is_invalid_grant() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (code, _) = t.code(&cookie).await;
    let (wrong, _) = pkce();
    assert_eq!(
        error_of(t.redeem(&code, &wrong).await).await,
        (400, "invalid_grant".into())
    );
    let (code, _) = t.code(&cookie).await;
    assert_eq!(
        error_of(t.redeem(&code, "short").await).await,
        (400, "invalid_request".into())
    );
    let bad_chars = "a".repeat(42) + "!";
    assert_eq!(
        error_of(t.redeem(&code, &bad_chars).await).await,
        (400, "invalid_request".into())
    );
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_the_first_tokens() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (code, verifier) = t.code(&cookie).await;
    let first: serde_json::Value = t.redeem(&code, &verifier).await.json().await.unwrap();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(t.userinfo(access).await.status(), 200);
    assert_eq!(
        error_of(t.redeem(&code, &verifier).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(t.userinfo(access).await.status(), 401);
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(
        error_of(t.refresh(refresh).await).await,
        (400, "invalid_grant".into())
    );
    let audit = t.idp.audit(None, 50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "token.code_replayed"));
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let t = start_with(|c| c.code_ttl = Duration::from_millis(500)).await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (code, verifier) = t.code(&cookie).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        error_of(t.redeem(&code, &verifier).await).await,
        (400, "invalid_grant".into())
    );
}

#[tokio::test]
async fn the_code_is_bound_to_client_and_redirect_uri() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (code, verifier) = t.code(&cookie).await;
    let r = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/callback/"),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_grant".into()));
    let (code, verifier) = t.code(&cookie).await;
    let r = t
        .http
        .post(t.url("/token"))
        .basic_auth(OTHER_CLIENT, Some("another-secret-another"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await, (400, "invalid_grant".into()));
}

#[tokio::test]
async fn client_authentication_methods() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (code, verifier) = t.code(&cookie).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    // Wrong secret (Basic): 401 with a Basic challenge.
    let r = t
        .http
        .post(t.url("/token"))
        .basic_auth(CLIENT_ID, Some("wrong-secret-wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));
    // Neither method.
    let r = t
        .http
        .post(t.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));
    // Both methods.
    let mut both = form.to_vec();
    both.extend([("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]);
    let r = t
        .http
        .post(t.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&both)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));
    // Wrong secret (post).
    let mut post = form.to_vec();
    post.extend([("client_id", CLIENT_ID), ("client_secret", "wrong")]);
    let r = t
        .http
        .post(t.url("/token"))
        .form(&post)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await, (401, "invalid_client".into()));
    // client_secret_post works (the code was not spent by the refused requests).
    let mut post = form.to_vec();
    post.extend([("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]);
    let r = t
        .http
        .post(t.url("/token"))
        .form(&post)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    use base64::Engine;
    let t = start_with(|c| {
        c.clients[0].client_secret = guest_idp::ClientSecret::new("p@ss w:rd+long-enough");
    })
    .await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (code, verifier) = t.code(&cookie).await;
    let encoded = format!("{CLIENT_ID}:{}", "p%40ss+w%3Ard%2Blong-enough");
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(encoded)
    );
    let r = t
        .http
        .post(t.url("/token"))
        .header("authorization", header)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn grant_type_errors() {
    let t = start().await;
    assert_eq!(
        error_of(t.token(&[("grant_type", "password")]).await).await,
        (400, "unsupported_grant_type".into())
    );
    assert_eq!(
        error_of(t.token(&[("code", "x")]).await).await,
        (400, "invalid_request".into())
    );
    assert_eq!(
        error_of(
            t.token(&[("grant_type", "authorization_code"), ("code", "x")])
                .await
        )
        .await,
        (400, "invalid_request".into())
    );
    let (verifier, _) = pkce();
    let r = t
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "unknown"),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(error_of(r).await, (400, "invalid_grant".into()));
}

#[tokio::test]
async fn malformed_token_requests_never_fail_with_500() {
    let t = start().await;
    let url = t.url("/token");
    let huge = "a".repeat(20 * 1024);
    let cases: Vec<(Option<&str>, Option<&str>, Vec<u8>)> = vec![
        (Some("application/x-www-form-urlencoded"), None, b"%%%%&&&===".to_vec()),
        (Some("application/x-www-form-urlencoded"), None, vec![0xff, 0xfe, 0x00, b'=', 0x80]),
        (Some("application/x-www-form-urlencoded"), None, format!("grant_type={huge}").into_bytes()),
        (Some("application/x-www-form-urlencoded"), None, b"grant_type=refresh_token&grant_type=refresh_token".to_vec()),
        (Some("application/json"), None, br#"{"grant_type":"authorization_code"}"#.to_vec()),
        (None, None, b"grant_type=authorization_code".to_vec()),
        (Some("application/x-www-form-urlencoded"), Some("Basic !!!notbase64"), b"grant_type=refresh_token".to_vec()),
        (Some("application/x-www-form-urlencoded"), Some("Basic bm9jb2xvbg=="), b"grant_type=refresh_token".to_vec()),
        (Some("application/x-www-form-urlencoded"), Some("Bearer abc"), b"grant_type=refresh_token".to_vec()),
        (Some("application/x-www-form-urlencoded"), Some("Basic"), b"".to_vec()),
        (Some("application/x-www-form-urlencoded"), None, b"client_id=genesys-messenger&client_secret=s3cret-s3cret-s3cret&grant_type=refresh_token&refresh_token=\x01\x02".to_vec()),
        (Some("application/x-www-form-urlencoded"), None, format!("client_id=genesys-messenger&client_secret=s3cret-s3cret-s3cret&grant_type=authorization_code&code=x&redirect_uri=y&code_verifier={}", "a".repeat(200)).into_bytes()),
    ];
    for (i, (content_type, auth, body)) in cases.into_iter().enumerate() {
        let mut req = t.http.post(&url).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        assert!(status == 400 || status == 401, "case {i}: {status}");
        let body: serde_json::Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("case {i}: not JSON: {e}"));
        assert!(body["error"].is_string(), "case {i}");
    }
    let r = t.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 405);
}
