//! The login host from the outside: authorize, sign-in page, codes, token grants, logout.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use sandbox::test_support::{Decision, SignInAs, SignInError, SignInScript};
use sandbox::{
    ClientConfig, Grant, SandboxConfig, LIMITED_CLIENT_ID, PKCE_CLIENT_ID, SERVICE_CLIENT_ID,
    WEB_CLIENT_ID,
};
use serde_json::Value;

#[tokio::test]
async fn unknown_client_and_wrong_redirect_are_error_pages_never_redirects() {
    let h = start_default().await;
    let r = h
        .authorize(
            "no-such-client",
            &[("redirect_uri", REDIRECT), ("code_challenge", CHALLENGE)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    for bad in [
        "http://evil.example/cb",
        "http://127.0.0.1:3000/auth/callback/",
        "http://127.0.0.1:3000/AUTH/callback",
    ] {
        let r = h
            .authorize(
                PKCE_CLIENT_ID,
                &[
                    ("redirect_uri", bad),
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.headers().get("location").is_none());
        assert!(r.text().await.unwrap().contains("Redirect URI mismatch"));
    }
    let r = h
        .authorize(PKCE_CLIENT_ID, &[("code_challenge", CHALLENGE)])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
}

#[tokio::test]
async fn public_clients_must_send_an_s256_challenge() {
    let h = start_default().await;
    let r = h
        .authorize(
            PKCE_CLIENT_ID,
            &[("redirect_uri", REDIRECT), ("state", "abc")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = location(&r);
    assert!(loc.starts_with(REDIRECT));
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&loc, "state").as_deref(), Some("abc"));
    assert!(param(&loc, "error_description").is_some());

    let r = h
        .authorize(
            PKCE_CLIENT_ID,
            &[
                ("redirect_uri", REDIRECT),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "plain"),
            ],
        )
        .await;
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );

    let r = h
        .authorize(
            PKCE_CLIENT_ID,
            &[("redirect_uri", REDIRECT), ("code_challenge", CHALLENGE)],
        )
        .await;
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("invalid_request"),
        "method defaults to plain"
    );

    let r = h
        .authorize(
            PKCE_CLIENT_ID,
            &[
                ("redirect_uri", REDIRECT),
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );

    let r = h
        .authorize(
            PKCE_CLIENT_ID,
            &[
                ("redirect_uri", REDIRECT),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
                ("scope", "admin"),
            ],
        )
        .await;
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("invalid_scope")
    );

    // A confidential client may skip PKCE.
    let r = h
        .authorize(WEB_CLIENT_ID, &[("redirect_uri", REDIRECT)])
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // The service client has no code grant.
    let mut url = h.url("/oauth/authorize");
    url.query_pairs_mut()
        .append_pair("response_type", "token")
        .append_pair("client_id", PKCE_CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let r = h.http.get(url).send().await.unwrap();
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("unsupported_response_type")
    );
}

#[tokio::test]
async fn sign_in_page_works_without_js_and_escapes_hostile_names() {
    let h = start_default().await;
    let (pending, html) = h.sign_in_page(PKCE_CLIENT_ID, Some(CHALLENGE), "s").await;
    assert!(pending.len() >= 22, "a random pending id");
    assert!(!html.contains("<script"), "no script on the page");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(&#x27;sandbox&#x27;)&lt;/script&gt;"));
    assert!(
        html.contains("山田 太郎")
            && html.contains("محمد الأحمد")
            && html.contains("José Álvarez Núñez")
    );
    let choices = user_choices(&html);
    assert!((15..=20).contains(&choices.len()), "{}", choices.len());
    assert!(
        html.contains("value=\"allow\"")
            && html.contains("value=\"deny\"")
            && html.contains("name=\"username\"")
    );
    assert!(html.contains("<form method=\"post\" action=\"authorize\">"));
}

#[tokio::test]
async fn sign_in_page_headers_forbid_framing_and_sniffing() {
    let h = start_default().await;
    let r = h
        .authorize(
            PKCE_CLIENT_ID,
            &[
                ("redirect_uri", REDIRECT),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_state() {
    let h = start_default().await;
    let (pending, _) = h
        .sign_in_page(PKCE_CLIENT_ID, Some(CHALLENGE), "the-state")
        .await;
    let r = h
        .decide(&[("pending", &pending), ("decision", "deny")])
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = location(&r);
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&loc, "state").as_deref(), Some("the-state"));
    assert!(param(&loc, "error_description").is_some());
    assert!(param(&loc, "code").is_none());
    // The pending sign-in is spent.
    let r = h
        .decide(&[("pending", &pending), ("decision", "allow")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
}

#[tokio::test]
async fn typed_username_signs_in_and_unknown_or_inactive_users_cannot() {
    let h = start_default().await;
    let (pending, _) = h.sign_in_page(PKCE_CLIENT_ID, Some(CHALLENGE), "s").await;
    let r = h
        .decide(&[
            ("pending", &pending),
            ("username", "nobody@nowhere"),
            ("decision", "allow"),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("No such user"));
    // The page can be answered again after a typo.
    let r = h
        .decide(&[
            ("pending", &pending),
            ("username", "TARO.YAMADA@sandbox.example.com"),
            ("decision", "allow"),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let code = param(&location(&r), "code").unwrap();
    let token = {
        let r = h
            .token(
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                    ("client_id", PKCE_CLIENT_ID),
                ],
            )
            .await;
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    };
    let me: Value = h
        .api(Some(&token), "/api/v2/users/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "山田 太郎");

    // Find an inactive user through the API and try to sign in as them.
    let listing: Value = h
        .api(Some(&token), "/api/v2/users?state=inactive&pageSize=1")
        .await
        .json()
        .await
        .unwrap();
    let inactive = listing["entities"][0]["username"]
        .as_str()
        .unwrap()
        .to_string();
    let (pending, _) = h.sign_in_page(PKCE_CLIENT_ID, Some(CHALLENGE), "s").await;
    let r = h
        .decide(&[
            ("pending", &pending),
            ("username", &inactive),
            ("decision", "allow"),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("cannot sign in"));
}

#[tokio::test]
async fn the_sign_in_script_picks_types_and_denies_as_a_browser_would() {
    let h = &start_default().await;
    let (_, html) = h.sign_in_page(PKCE_CLIENT_ID, Some(CHALLENGE), "s").await;
    let third = user_choices(&html).remove(2);
    let url = || h.sign_in_url(PKCE_CLIENT_ID, Some(CHALLENGE), "s");
    let me = |code: String| async move {
        let token = h.pkce_exchange(PKCE_CLIENT_ID, &code).await;
        let me: Value = h
            .api(Some(&token), "/api/v2/users/me")
            .await
            .json()
            .await
            .unwrap();
        me
    };

    let callback = SignInScript::new(&h.http)
        .sign_in_as(SignInAs::Offered(third.clone()))
        .run(url())
        .await
        .unwrap();
    assert_eq!(callback.state().as_deref(), Some("s"));
    assert_eq!(me(callback.code().unwrap()).await["id"], third.as_str());

    let callback = SignInScript::new(&h.http)
        .sign_in_as(SignInAs::Typed("TARO.YAMADA@sandbox.example.com".into()))
        .run(url())
        .await
        .unwrap();
    assert_eq!(me(callback.code().unwrap()).await["name"], "山田 太郎");

    let callback = SignInScript::new(&h.http)
        .decision(Decision::Deny)
        .run(url())
        .await
        .unwrap();
    assert_eq!(callback.param("error").as_deref(), Some("access_denied"));
    assert_eq!(callback.state().as_deref(), Some("s"));
    assert!(callback.code().is_none());

    let refused = SignInScript::new(&h.http)
        .sign_in_as(SignInAs::Offered("not-a-user".into()))
        .run(url())
        .await;
    assert!(matches!(refused, Err(SignInError::NotOffered(_))));
    let refused = SignInScript::new(&h.http)
        .sign_in_as(SignInAs::Typed("nobody@nowhere".into()))
        .run(url())
        .await;
    assert!(
        matches!(&refused, Err(SignInError::Answer { status, body })
            if *status == StatusCode::BAD_REQUEST && body.contains("No such user")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn pkce_code_flow_and_verifier_checks() {
    let h = start_default().await;
    let token = h.pkce_token(PKCE_CLIENT_ID).await;
    assert!(token.len() >= 40);
    let r = h.api(Some(&token), "/api/v2/users/me").await;
    assert_eq!(r.status(), StatusCode::OK);

    // Public clients get no refresh token.
    let code = h.code_for(PKCE_CLIENT_ID, Some(CHALLENGE)).await;
    let r = h
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", PKCE_CLIENT_ID),
            ],
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert!(v.get("refresh_token").is_none());
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(
        v["expires_in"], 86399,
        "as Genesys says it for a one-day token"
    );

    // A wrong verifier fails, and burns the code.
    let code = h.code_for(PKCE_CLIENT_ID, Some(CHALLENGE)).await;
    let wrong = "x".repeat(43);
    let r = h
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &wrong),
                ("client_id", PKCE_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
    let r = h
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", PKCE_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");

    // A missing verifier fails.
    let code = h.code_for(PKCE_CLIENT_ID, Some(CHALLENGE)).await;
    let r = h
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", PKCE_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");

    // The code is bound to its redirect URI and client.
    let code = h.code_for(PKCE_CLIENT_ID, Some(CHALLENGE)).await;
    let r = h
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://localhost:3000/auth/callback"),
                ("code_verifier", VERIFIER),
                ("client_id", PKCE_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
    let code = h.code_for(PKCE_CLIENT_ID, Some(CHALLENGE)).await;
    let r = h
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", LIMITED_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_it_issued() {
    let h = start_default().await;
    let code = h.code_for(WEB.0, Some(CHALLENGE)).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let v: Value = h.token(Some(WEB), &form).await.json().await.unwrap();
    let access = v["access_token"].as_str().unwrap().to_string();
    let refresh = v["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        h.api(Some(&access), "/api/v2/users/me").await.status(),
        StatusCode::OK
    );

    assert_eq!(
        token_error(h.token(Some(WEB), &form).await, 400).await,
        "invalid_grant"
    );
    api_error(h.api(Some(&access), "/api/v2/users/me").await, 401).await;
    let r = h
        .token(
            Some(WEB),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
}

#[tokio::test]
async fn confidential_clients_must_authenticate_with_basic() {
    let h = start_default().await;
    let code = h.code_for(WEB.0, Some(CHALLENGE)).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", WEB.0),
    ];
    let r = h.token(None, &form).await;
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(token_error(r, 401).await, "invalid_client");
    let r = h.token(Some((WEB.0, "wrong-secret")), &form).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["error"].as_str(), v["description"].as_str()),
        (Some("invalid_client"), Some("authentication failed"))
    );
    let mut with_secret = form.to_vec();
    with_secret.push(("client_secret", WEB.1));
    assert_eq!(
        token_error(h.token(None, &with_secret).await, 401).await,
        "invalid_client"
    );
    let r = h.token(Some(("nobody", "x")), &form).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["error"].as_str(), v["description"].as_str()),
        (Some("invalid_client"), Some("client not found"))
    );
    // Those failures did not spend the code.
    assert_eq!(h.token(Some(WEB), &form).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn confidential_pkce_is_checked_only_when_a_challenge_was_sent() {
    let h = start_default().await;
    // No challenge: no verifier needed, and a stray verifier is refused (PKCE downgrade).
    let code = h.code_for(WEB.0, None).await;
    let r = h
        .token(
            Some(WEB),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let code = h.code_for(WEB.0, None).await;
    let r = h
        .token(
            Some(WEB),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
    // With a challenge the verifier is required.
    let code = h.code_for(WEB.0, Some(CHALLENGE)).await;
    let r = h
        .token(
            Some(WEB),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
}

#[tokio::test]
async fn codes_expire() {
    let h = start(SandboxConfig {
        users: 50,
        code_lifetime: Duration::from_millis(1),
        ..Default::default()
    })
    .await;
    let code = h.code_for(PKCE_CLIENT_ID, Some(CHALLENGE)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r = h
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", PKCE_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_grant() {
    let h = start_default().await;
    let (access1, refresh1) = h.web_tokens().await;
    h.sandbox.expire_tokens();
    api_error(h.api(Some(&access1), "/api/v2/users/me").await, 401).await;

    let r = h
        .token(
            Some(WEB),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh1),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let access2 = v["access_token"].as_str().unwrap().to_string();
    let refresh2 = v["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, refresh2);
    assert_eq!(
        h.api(Some(&access2), "/api/v2/users/me").await.status(),
        StatusCode::OK
    );

    assert_eq!(h.sandbox.stats().refresh_token_reuses(), 0);
    // The old refresh token comes back: the whole grant goes.
    let r = h
        .token(
            Some(WEB),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh1),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
    assert_eq!(
        h.sandbox.stats().refresh_token_reuses(),
        1,
        "counted for tests"
    );
    api_error(h.api(Some(&access2), "/api/v2/users/me").await, 401).await;
    let r = h
        .token(
            Some(WEB),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh2),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
}

#[tokio::test]
async fn refresh_is_for_confidential_clients_with_their_own_tokens() {
    let h = start_default().await;
    let (_, refresh) = h.web_tokens().await;
    let r = h
        .token(
            None,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", PKCE_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "unauthorized_client");
    let r = h
        .token(
            Some(SERVICE),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "unauthorized_client");
    let r = h
        .token(
            Some(WEB),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "made-up"),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
    let r = h.token(Some(WEB), &[("grant_type", "refresh_token")]).await;
    assert_eq!(token_error(r, 400).await, "invalid_request");
    // The genuine one still works after all that.
    let r = h
        .token(
            Some(WEB),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn client_credentials_grant() {
    let h = start_default().await;
    let r = h
        .token(Some(SERVICE), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert!(v.get("refresh_token").is_none());
    let r = h
        .token(
            Some(SERVICE),
            &[("grant_type", "client_credentials"), ("scope", "users")],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_scope");
    let r = h
        .token(Some(WEB), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(token_error(r, 400).await, "unauthorized_client");
    let r = h
        .token(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", PKCE_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "unauthorized_client");
    let r = h
        .token(
            Some((SERVICE.0, "nope")),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(token_error(r, 401).await, "invalid_client");
}

#[tokio::test]
async fn malformed_token_requests() {
    let h = start_default().await;
    assert_eq!(
        token_error(
            h.token(Some(SERVICE), &[("grant_type", "password")]).await,
            400
        )
        .await,
        "unsupported_grant_type"
    );
    assert_eq!(
        token_error(h.token(Some(SERVICE), &[]).await, 400).await,
        "invalid_request"
    );
    let r = h
        .token(
            Some(SERVICE),
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_request");
    let r = h
        .http
        .post(h.url("/oauth/token"))
        .basic_auth(SERVICE.0, Some(SERVICE.1))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(token_error(r, 400).await, "invalid_request");
    let r = h
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", "made-up"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", PKCE_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(token_error(r, 400).await, "invalid_grant");
}

#[tokio::test]
async fn token_lifetime_is_per_client() {
    let mut clients = ClientConfig::defaults();
    clients.push(ClientConfig {
        id: "short-lived".into(),
        name: "Short".into(),
        secret: Some("s3cret".into()),
        grants: vec![Grant::ClientCredentials],
        redirect_uris: vec![],
        logout_redirect_uris: vec![],
        scopes: vec!["users:readonly".into()],
        token_lifetime_secs: 1,
    });
    let h = start(SandboxConfig {
        users: 20,
        clients,
        ..Default::default()
    })
    .await;
    let v: Value = h
        .token(
            Some(("short-lived", "s3cret")),
            &[("grant_type", "client_credentials")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["expires_in"], 1);
}

#[tokio::test]
async fn logout_redirects_only_to_allow_listed_uris() {
    let h = start_default().await;
    let get = |q: String| {
        let url = h.url(&format!("/logout{q}"));
        let http = h.http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let r = get(format!(
        "?client_id={WEB_CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2F"
    ))
    .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), "http://127.0.0.1:3000/");
    let r = get(format!(
        "?client_id={WEB_CLIENT_ID}&redirect_uri=https%3A%2F%2Fevil.example%2F"
    ))
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    let r = get(format!(
        "?client_id={SERVICE_CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2F"
    ))
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = get(String::new()).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_endpoint_faults() {
    let h = start_default().await;
    h.sandbox.faults().set_token_endpoint_down(true);
    let r = h
        .token(Some(SERVICE), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    h.sandbox.faults().set_token_endpoint_down(false);
    h.sandbox.faults().set_malformed_token_body(true);
    let r = h
        .token(Some(SERVICE), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&body).is_err());
    h.sandbox.faults().set_malformed_token_body(false);
    assert_eq!(
        h.token(Some(SERVICE), &[("grant_type", "client_credentials")])
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_configurations_are_refused() {
    let bad = SandboxConfig {
        users: 100_001,
        ..Default::default()
    };
    assert!(sandbox::spawn(bad).await.is_err());
    let mut clients = ClientConfig::defaults();
    clients.push(clients[0].clone());
    assert!(sandbox::spawn(SandboxConfig {
        clients,
        ..Default::default()
    })
    .await
    .is_err());
    let mut clients = ClientConfig::defaults();
    clients[0].token_lifetime_secs = 172_801;
    assert!(sandbox::spawn(SandboxConfig {
        clients,
        ..Default::default()
    })
    .await
    .is_err());
}

/// A secret with `&`, `+`, `%` and `=` authenticates whether the client percent-encodes it
/// (RFC 6749 §2.3.1) or sends it as is.
#[tokio::test]
async fn basic_credentials_with_reserved_characters_authenticate_both_ways() {
    let secret = "s&cr+t%=42";
    let mut clients = sandbox::ClientConfig::defaults();
    clients.push(sandbox::ClientConfig {
        id: "odd+client&id".into(),
        name: "Odd".into(),
        secret: Some(secret.into()),
        grants: vec![sandbox::Grant::ClientCredentials],
        redirect_uris: vec![],
        logout_redirect_uris: vec![],
        scopes: vec!["users:readonly".into()],
        token_lifetime_secs: 3600,
    });
    let h = start(SandboxConfig {
        users: 10,
        clients,
        ..Default::default()
    })
    .await;
    let encoded = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    for (id, secret) in [
        ("odd+client&id".to_string(), secret.to_string()),
        (encoded("odd+client&id"), encoded(secret)),
    ] {
        let r = h
            .token(
                Some((&id, &secret)),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{id}:{secret}");
    }
    let r = h
        .token(
            Some(("odd+client&id", "s&cr t%=42")),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a space is not a plus"
    );
}
