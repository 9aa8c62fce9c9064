//! Refresh tokens rotate on every use, a replay revokes the family, and a disabled or deleted
//! guest gets nothing more (no sign-in, no refresh, no userinfo).

mod common;

use common::*;

async fn error_code(r: reqwest::Response) -> String {
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    body["error"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_revokes_the_family() {
    let t = start().await;
    let (guest, cookie) = t.signed_in_guest("Ada").await;
    let first = t.tokens(&cookie).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();

    let r = t.refresh(&rt1).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let second: serde_json::Value = r.json().await.unwrap();
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    let claims = jwt_claims(second["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], guest.id);
    assert_eq!(
        claims["auth_time"],
        jwt_claims(first["id_token"].as_str().unwrap())["auth_time"]
    );
    assert!(claims.get("nonce").is_none());
    let access2 = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(t.userinfo(&access2).await.status(), 200);

    // rt1 is spent: presenting it again is a replay; the whole family dies.
    assert_eq!(error_code(t.refresh(&rt1).await).await, "invalid_grant");
    assert_eq!(error_code(t.refresh(&rt2).await).await, "invalid_grant");
    assert_eq!(t.userinfo(&access2).await.status(), 401);
    assert!(t
        .idp
        .audit(Some(&guest.id), 50)
        .await
        .unwrap()
        .iter()
        .any(|e| e.action == "token.refreshed"));
}

#[tokio::test]
async fn a_narrower_scope_applies_and_a_wider_one_is_refused_without_burning_the_token() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let first = t.tokens(&cookie).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let r = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", "openid phone"),
        ])
        .await;
    assert_eq!(error_code(r).await, "invalid_scope");
    let r = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", "openid email"),
        ])
        .await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["scope"], "openid email");
    assert!(jwt_claims(body["id_token"].as_str().unwrap())
        .get("given_name")
        .is_none());
    assert!(
        body["refresh_token"].is_string(),
        "the grant keeps offline_access"
    );
}

#[tokio::test]
async fn another_client_cannot_use_the_refresh_token() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let first = t.tokens(&cookie).await;
    let r = t
        .http
        .post(t.url("/token"))
        .basic_auth(OTHER_CLIENT, Some("another-secret-another"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "invalid_grant");
}

#[tokio::test]
async fn a_disabled_guest_cannot_sign_in_refresh_or_call_userinfo() {
    let t = start().await;
    let (guest, cookie) = t.signed_in_guest("Ada").await;
    let tokens = t.tokens(&cookie).await;
    let disabled = t
        .idp
        .set_disabled(&guest.id, true, "admin@test")
        .await
        .unwrap();
    assert!(disabled.disabled);
    assert_eq!(
        t.userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    assert_eq!(
        error_code(t.refresh(tokens["refresh_token"].as_str().unwrap()).await).await,
        "invalid_grant"
    );
    // Its session ended: authorize asks for the invitation again.
    let (_, challenge) = pkce();
    assert_eq!(
        t.authorize(Some(&cookie), &t.auth_params(&challenge))
            .await
            .status(),
        401
    );
    assert!(t.idp.guest_for_session(&cookie).await.unwrap().is_none());
    // A new invitation is refused while disabled; an old one opens no session.
    assert!(t.idp.reinvite(&guest.id, "admin@test").await.is_err());
    let (other, invitation) = t
        .idp
        .create_guest(new_guest("Bo"), "admin@test")
        .await
        .unwrap();
    t.idp
        .set_disabled(&other.id, true, "admin@test")
        .await
        .unwrap();
    let r = t.http.post(&invitation.url).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());
    // Enabled again, a re-invitation works.
    t.idp
        .set_disabled(&other.id, false, "admin@test")
        .await
        .unwrap();
    let again = t.idp.reinvite(&other.id, "admin@test").await.unwrap();
    assert!(t.open_invitation(&again.url).await.is_some());
}

#[tokio::test]
async fn a_deleted_guest_loses_everything() {
    let t = start().await;
    let (guest, cookie) = t.signed_in_guest("Ada").await;
    let tokens = t.tokens(&cookie).await;
    t.idp.delete_guest(&guest.id, "admin@test").await.unwrap();
    assert!(t.idp.guest(&guest.id).await.unwrap().is_none());
    assert_eq!(
        t.userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    assert_eq!(
        error_code(t.refresh(tokens["refresh_token"].as_str().unwrap()).await).await,
        "invalid_grant"
    );
    assert!(t.idp.guest_for_session(&cookie).await.unwrap().is_none());
    assert!(matches!(
        t.idp.delete_guest(&guest.id, "admin@test").await,
        Err(guest_idp::IdpError::NotFound)
    ));
}
