//! The admin API: validation, search and paging, audit trail, persistence across a reopen.

mod common;

use common::*;
use guest_idp::IdpError;

#[tokio::test]
async fn invalid_guests_name_the_field() {
    let t = start().await;
    let mut g = new_guest("Ada");
    g.email = "not-an-address".into();
    match t.idp.create_guest(g, "admin").await {
        Err(IdpError::Invalid { field, .. }) => assert_eq!(field, "email"),
        other => panic!("{other:?}"),
    }
    let mut g = new_guest("Ada");
    for i in 0..21 {
        g.attributes.insert(format!("k{i}"), "v".into());
    }
    assert!(matches!(
        t.idp.create_guest(g, "admin").await,
        Err(IdpError::Invalid { .. })
    ));
    let mut g = new_guest("Ada");
    g.attributes
        .insert("email".into(), "spoof@example.com".into());
    assert!(matches!(
        t.idp.create_guest(g, "admin").await,
        Err(IdpError::Invalid { .. })
    ));
    assert_eq!(t.idp.list_guests("", 1, 10).await.unwrap().total, 0);
}

#[tokio::test]
async fn search_is_case_insensitive_over_name_and_email_and_pages() {
    let t = start().await;
    for name in ["Ada", "Bob", "Carla", "Dora", "Adalbert"] {
        t.idp.create_guest(new_guest(name), "admin").await.unwrap();
    }
    let page = t.idp.list_guests("ADA", 1, 10).await.unwrap();
    assert_eq!(page.total, 2);
    let page = t.idp.list_guests("bob@EXAMPLE", 1, 10).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.guests[0].given_name, "Bob");
    let page = t.idp.list_guests("ada tester", 1, 10).await.unwrap();
    assert_eq!(page.total, 1, "given and family name together");
    let page = t.idp.list_guests("%", 1, 10).await.unwrap();
    assert_eq!(page.total, 0, "LIKE wildcards are literal");
    let p1 = t.idp.list_guests("", 1, 2).await.unwrap();
    assert_eq!((p1.total, p1.page_count, p1.guests.len()), (5, 3, 2));
    let p3 = t.idp.list_guests("", 3, 2).await.unwrap();
    assert_eq!(p3.guests.len(), 1);
    let empty = t.idp.list_guests("nobody", 1, 2).await.unwrap();
    assert_eq!((empty.total, empty.page_count), (0, 1));
}

#[tokio::test]
async fn every_admin_action_and_sign_in_is_audited_newest_first() {
    let t = start().await;
    let (guest, cookie) = t.signed_in_guest("Ada").await;
    t.tokens(&cookie).await;
    t.idp.reinvite(&guest.id, "admin@test").await.unwrap();
    t.idp
        .set_disabled(&guest.id, true, "admin@test")
        .await
        .unwrap();
    let audit = t.idp.audit(Some(&guest.id), 100).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "guest.disabled",
            "guest.reinvited",
            "token.issued",
            "authorize.code_issued",
            "invitation.opened",
            "guest.created"
        ]
    );
    assert_eq!(audit[0].actor, "admin@test");
    assert!(audit.windows(2).all(|w| w[0].at_unix >= w[1].at_unix));
    assert_eq!(t.idp.audit(None, 2).await.unwrap().len(), 2);
    // No secret in the trail.
    let tokens_text = serde_json::to_string(&audit).unwrap();
    assert!(!tokens_text.contains(&cookie));
}

#[tokio::test]
async fn state_survives_a_reopen() {
    let t = start().await;
    let (guest, cookie) = t.signed_in_guest("Ada").await;
    let tokens = t.tokens(&cookie).await;
    let dir = t.stop().await;
    let t = start_in(dir, |_| {}).await;
    assert_eq!(
        t.idp.guest_for_session(&cookie).await.unwrap().unwrap().id,
        guest.id
    );
    assert_eq!(
        t.userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    assert_eq!(
        t.refresh(tokens["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    assert!(!t.idp.audit(Some(&guest.id), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_configuration_is_refused_with_every_problem_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = guest_idp::IdpConfig::new(
        url::Url::parse("http://example.com/guest-idp/").unwrap(),
        dir.path().into(),
    );
    config.clients = clients();
    config.clients[0].redirect_uris.push("not a url".into());
    config.code_ttl = std::time::Duration::from_secs(600);
    let pool = pool(dir.path()).await;
    match guest_idp::Idp::open(config, pool).await {
        Err(IdpError::Invalid { message, .. }) => {
            for part in ["issuer", "code_ttl", "redirect_uris", "secure_cookie"] {
                assert!(message.contains(part), "{message}");
            }
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted"),
    }
}
