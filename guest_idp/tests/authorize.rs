//! The authorization endpoint: client and exact redirect URI first (error page, never a
//! redirect), then redirected errors with `state` and `iss`, PKCE S256 only, sessions, max_age.

mod common;

use common::*;

fn with<'a>(
    mut params: Vec<(&'static str, &'a str)>,
    key: &'static str,
    value: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    params.retain(|(k, _)| *k != key);
    if let Some(v) = value {
        params.push((key, v));
    }
    params
}

async fn expect_redirected_error(t: &TestIdp, cookie: &str, params: &[(&str, &str)], error: &str) {
    let r = t.authorize(Some(cookie), params).await;
    assert_eq!(r.status(), 302, "{error}: should redirect");
    let q = redirect_query(&r);
    assert_eq!(q.get("error").map(String::as_str), Some(error), "{q:?}");
    assert_eq!(q["state"], "state-123");
    assert_eq!(q["iss"], t.issuer.as_str());
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn pkce_is_required_and_only_s256() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (_, challenge) = pkce();
    let base = t.auth_params(&challenge);
    let missing = with(
        with(base.clone(), "code_challenge", None),
        "code_challenge_method",
        None,
    );
    expect_redirected_error(&t, &cookie, &missing, "invalid_request").await;
    let no_method = with(base.clone(), "code_challenge_method", None);
    expect_redirected_error(&t, &cookie, &no_method, "invalid_request").await;
    let plain = with(base.clone(), "code_challenge_method", Some("plain"));
    expect_redirected_error(&t, &cookie, &plain, "invalid_request").await;
    let short = with(base.clone(), "code_challenge", Some("abc"));
    expect_redirected_error(&t, &cookie, &short, "invalid_request").await;
}

#[tokio::test]
async fn redirect_uri_variants_get_an_error_page_not_a_redirect() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (_, challenge) = pkce();
    for variant in [
        "https://app.example.com/callback/",
        "https://APP.example.com/callback",
        "https://app.example.com/Callback",
        "https://app.example.com/callback?x=1",
        "https://app.example.com/callback#frag",
        "http://app.example.com/callback",
        "https://evil.example.com/callback",
        "https://app.example.com/cb",
        "https://app.example.com/cb?tenant=1&x=2",
    ] {
        let params = with(t.auth_params(&challenge), "redirect_uri", Some(variant));
        let r = t.authorize(Some(&cookie), &params).await;
        assert_eq!(r.status(), 400, "{variant}");
        assert!(r.headers().get("location").is_none(), "{variant}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    let params = with(t.auth_params(&challenge), "redirect_uri", None);
    assert_eq!(t.authorize(Some(&cookie), &params).await.status(), 400);
    // Unknown client, and a redirect URI registered for another client.
    let params = with(t.auth_params(&challenge), "client_id", Some("nope"));
    assert_eq!(t.authorize(Some(&cookie), &params).await.status(), 400);
    let params = with(t.auth_params(&challenge), "client_id", Some(OTHER_CLIENT));
    let r = t.authorize(Some(&cookie), &params).await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
}

#[tokio::test]
async fn a_registered_uri_with_a_query_keeps_it() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (_, challenge) = pkce();
    let params = with(
        t.auth_params(&challenge),
        "redirect_uri",
        Some("https://app.example.com/cb?tenant=1"),
    );
    let r = t.authorize(Some(&cookie), &params).await;
    assert_eq!(r.status(), 302);
    let q = redirect_query(&r);
    assert_eq!(q["tenant"], "1");
    assert!(q.contains_key("code"));
}

#[tokio::test]
async fn parameter_errors_are_redirected() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (_, challenge) = pkce();
    let base = t.auth_params(&challenge);
    let token = with(base.clone(), "response_type", Some("token"));
    expect_redirected_error(&t, &cookie, &token, "unsupported_response_type").await;
    let no_openid = with(base.clone(), "scope", Some("email profile"));
    expect_redirected_error(&t, &cookie, &no_openid, "invalid_scope").await;
    let unknown = with(base.clone(), "scope", Some("openid admin"));
    expect_redirected_error(&t, &cookie, &unknown, "invalid_scope").await;
    let fragment = with(base.clone(), "response_mode", Some("fragment"));
    expect_redirected_error(&t, &cookie, &fragment, "invalid_request").await;
    let consent = with(base.clone(), "prompt", Some("none login"));
    expect_redirected_error(&t, &cookie, &consent, "invalid_request").await;
    let max_age = with(base.clone(), "max_age", Some("-1"));
    expect_redirected_error(&t, &cookie, &max_age, "invalid_request").await;
    let request = with(base.clone(), "request", Some("eyJ.x.y"));
    expect_redirected_error(&t, &cookie, &request, "request_not_supported").await;
    // A parameter sent twice makes the request unreadable: error page.
    let mut twice = base.clone();
    twice.push(("state", "again"));
    assert_eq!(t.authorize(Some(&cookie), &twice).await.status(), 400);
}

#[tokio::test]
async fn without_a_session_the_guest_is_sent_back_to_the_invitation() {
    let t = start().await;
    let (_, challenge) = pkce();
    let r = t.authorize(None, &t.auth_params(&challenge)).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("invitation link again"));
    let r = t
        .authorize(Some("forged-cookie"), &t.auth_params(&challenge))
        .await;
    assert_eq!(r.status(), 401);
    let none = with(t.auth_params(&challenge), "prompt", Some("none"));
    let r = t.authorize(None, &none).await;
    assert_eq!(r.status(), 302);
    assert_eq!(redirect_query(&r)["error"], "login_required");
    // prompt=login always needs a fresh invitation.
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let login = with(t.auth_params(&challenge), "prompt", Some("login"));
    assert_eq!(t.authorize(Some(&cookie), &login).await.status(), 401);
    // prompt=none with a session works.
    let r = t.authorize(Some(&cookie), &none).await;
    assert!(redirect_query(&r).contains_key("code"));
}

#[tokio::test]
async fn max_age_gives_auth_time_and_a_stale_session_needs_login() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let (verifier, challenge) = pkce();
    let params = with(t.auth_params(&challenge), "max_age", Some("300"));
    let r = t.authorize(Some(&cookie), &params).await;
    let code = redirect_query(&r)["code"].clone();
    let body: serde_json::Value = t.redeem(&code, &verifier).await.json().await.unwrap();
    let claims = jwt_claims(body["id_token"].as_str().unwrap());
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!((claims["iat"].as_i64().unwrap() - auth_time) < 300);

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let stale = with(
        with(t.auth_params(&challenge), "max_age", Some("1")),
        "prompt",
        Some("none"),
    );
    let r = t.authorize(Some(&cookie), &stale).await;
    assert_eq!(r.status(), 302);
    assert_eq!(redirect_query(&r)["error"], "login_required");
    let stale = with(t.auth_params(&challenge), "max_age", Some("1"));
    assert_eq!(t.authorize(Some(&cookie), &stale).await.status(), 401);
}

#[tokio::test]
async fn login_hint_must_name_the_signed_in_guest() {
    let t = start().await;
    let (guest, cookie) = t.signed_in_guest("Ada").await;
    let (_, challenge) = pkce();
    let other = with(
        with(
            t.auth_params(&challenge),
            "login_hint",
            Some("someone@example.com"),
        ),
        "prompt",
        Some("none"),
    );
    assert_eq!(
        redirect_query(&t.authorize(Some(&cookie), &other).await)["error"],
        "login_required"
    );
    let same = with(t.auth_params(&challenge), "login_hint", Some(&guest.email));
    assert!(redirect_query(&t.authorize(Some(&cookie), &same).await).contains_key("code"));
}
