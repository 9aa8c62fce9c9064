//! Invitation links: single use, expiring, hashed at rest; opening one sets the session cookie
//! and lands on the guest page.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test]
async fn an_invitation_opens_once_and_sets_a_session_cookie() {
    let t = start().await;
    let (guest, invitation) = t
        .idp
        .create_guest(new_guest("Ada"), "admin@test")
        .await
        .unwrap();
    assert!(invitation.url.starts_with(&t.url("/invite/")));
    assert!(!format!("{invitation:?}").contains(invitation.url.rsplit('/').next().unwrap()));
    let r = t.http.post(&invitation.url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/guest");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("guest-session="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"));
    let value = set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("guest-session=");
    assert!(value.len() >= 43);
    let signed_in = t.idp.guest_for_session(value).await.unwrap().unwrap();
    assert_eq!(signed_in.id, guest.id);
    assert!(t
        .idp
        .guest(&guest.id)
        .await
        .unwrap()
        .unwrap()
        .last_sign_in_unix
        .is_some());

    let again = t.http.post(&invitation.url).send().await.unwrap();
    assert_eq!(again.status(), 410);
    assert!(again.headers().get("set-cookie").is_none());
    assert!(again.text().await.unwrap().contains("already been used"));
    // Nothing but hashes at rest: the token is nowhere in the database.
    let token = invitation.url.rsplit('/').next().unwrap();
    let raw: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM guest_idp_invitations")
        .fetch_all(&t.pool)
        .await
        .unwrap();
    assert!(raw.iter().all(|h| h != token));
    let sessions: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM guest_idp_sessions")
        .fetch_all(&t.pool)
        .await
        .unwrap();
    assert!(sessions.iter().all(|h| h != value));
}

#[tokio::test]
async fn secure_cookies_use_the_host_prefix() {
    let t = start_with(|c| c.secure_cookie = true).await;
    let (_, invitation) = t
        .idp
        .create_guest(new_guest("Ada"), "admin@test")
        .await
        .unwrap();
    let r = t.http.post(&invitation.url).send().await.unwrap();
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("__Host-guest-session="));
    assert!(set_cookie.contains("; Secure"));
    assert_eq!(t.idp.session_cookie_name(), "__Host-guest-session");
}

#[tokio::test]
async fn expired_and_unknown_invitations_are_refused() {
    let t = start_with(|c| c.invitation_ttl = Duration::from_millis(300)).await;
    let (_, invitation) = t
        .idp
        .create_guest(new_guest("Ada"), "admin@test")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = t.http.post(&invitation.url).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await.unwrap().contains("expired"));
    let r = t
        .http
        .post(t.url("/invite/not-a-real-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = t
        .http
        .post(t.url(&format!("/invite/{}", "x".repeat(300))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_reinvitation_voids_the_earlier_unused_link() {
    let t = start().await;
    let (guest, first) = t
        .idp
        .create_guest(new_guest("Ada"), "admin@test")
        .await
        .unwrap();
    let second = t.idp.reinvite(&guest.id, "admin@test").await.unwrap();
    assert_eq!(t.http.post(&first.url).send().await.unwrap().status(), 404);
    assert!(t.open_invitation(&second.url).await.is_some());
}

#[tokio::test]
async fn opening_an_invitation_replaces_the_old_session() {
    let t = start().await;
    let (guest, old_cookie) = t.signed_in_guest("Ada").await;
    let invitation = t.idp.reinvite(&guest.id, "admin@test").await.unwrap();
    let r = t
        .http
        .post(&invitation.url)
        .header("cookie", format!("{}={old_cookie}", t.cookie_name()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(t
        .idp
        .guest_for_session(&old_cookie)
        .await
        .unwrap()
        .is_none());
}

/// Mail scanners and link previews fetch links: a GET shows the "Continue" form and spends
/// nothing, so the guest's own click still works.
#[tokio::test]
async fn fetching_an_invitation_spends_nothing() {
    let t = start().await;
    let (_, invitation) = t
        .idp
        .create_guest(new_guest("Grace"), "admin@test")
        .await
        .unwrap();
    for _ in 0..3 {
        let r = t.http.get(&invitation.url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("set-cookie").is_none());
        // The form's POST must carry the page's origin: no `no-referrer` (`Origin: null`).
        assert_eq!(r.headers()["referrer-policy"], "same-origin");
        let html = r.text().await.unwrap();
        assert!(html.contains("<form method=\"post\">"), "{html}");
    }
    let r = t.http.head(&invitation.url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = t.http.post(&invitation.url).send().await.unwrap();
    assert_eq!(r.status(), 303, "the guest's own click still signs in");
}
