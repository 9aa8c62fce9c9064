//! RP-initiated logout: the session ends and the cookie is cleared; the browser returns only to
//! a URI registered for the client, otherwise it sees a signed-out page.

mod common;

use common::*;

#[tokio::test]
async fn end_session_redirects_only_to_a_registered_uri() {
    let t = start().await;
    let (guest, cookie) = t.signed_in_guest("Ada").await;
    let tokens = t.tokens(&cookie).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let r = t
        .http
        .get(t.url("/end-session"))
        .query(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", REDIRECT_URI),
            ("state", "bye"),
        ])
        .header("cookie", format!("{}={cookie}", t.cookie_name()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("{REDIRECT_URI}?state=bye"));
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.starts_with("guest-session=;") && set_cookie.contains("Max-Age=0"),
        "{set_cookie}"
    );
    assert!(t.idp.guest_for_session(&cookie).await.unwrap().is_none());
    let (_, challenge) = pkce();
    assert_eq!(
        t.authorize(Some(&cookie), &t.auth_params(&challenge))
            .await
            .status(),
        401
    );
    assert!(t
        .idp
        .audit(Some(&guest.id), 10)
        .await
        .unwrap()
        .iter()
        .any(|e| e.action == "session.ended"));
}

#[tokio::test]
async fn unregistered_or_unattributed_targets_get_the_signed_out_page() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    for query in [
        vec![
            ("client_id", CLIENT_ID),
            ("post_logout_redirect_uri", "https://evil.example.com/"),
        ],
        vec![
            ("client_id", CLIENT_ID),
            (
                "post_logout_redirect_uri",
                "https://app.example.com/callback/",
            ),
        ],
        vec![("post_logout_redirect_uri", REDIRECT_URI)],
        vec![
            ("id_token_hint", "not.a.jwt"),
            ("post_logout_redirect_uri", REDIRECT_URI),
        ],
        vec![],
    ] {
        let r = t
            .http
            .get(t.url("/end-session"))
            .query(&query)
            .header("cookie", format!("{}={cookie}", t.cookie_name()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{query:?}");
        assert!(r.headers().get("location").is_none());
        assert!(r.text().await.unwrap().contains("signed out"));
    }
    assert!(t.idp.guest_for_session(&cookie).await.unwrap().is_none());
    // client_id and the hint's audience must agree.
    let (_, cookie) = t.signed_in_guest("Bo").await;
    let tokens = t.tokens(&cookie).await;
    let r = t
        .http
        .get(t.url("/end-session"))
        .query(&[
            ("id_token_hint", tokens["id_token"].as_str().unwrap()),
            ("client_id", OTHER_CLIENT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // With client_id alone the client's registered URI is accepted.
    let r = t
        .http
        .get(t.url("/end-session"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("post_logout_redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

/// The portal's guest page signs out with a form POST (no GET of its changes state).
#[tokio::test]
async fn a_form_post_ends_the_session_too() {
    let t = start().await;
    let (_, cookie) = t.signed_in_guest("Ada").await;
    let r = t
        .http
        .post(t.url("/end-session"))
        .form(&[
            ("client_id", CLIENT_ID),
            ("post_logout_redirect_uri", REDIRECT_URI),
        ])
        .header("cookie", format!("{}={cookie}", t.cookie_name()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], REDIRECT_URI);
    assert!(t.idp.guest_for_session(&cookie).await.unwrap().is_none());
}
