//! Rate limits: invitation openings and authorization requests per address, token requests per
//! address and per client, each refused with 429 and `Retry-After`.

mod common;

use std::time::Duration;

use common::*;
use guest_idp::Budget;

fn tight() -> Budget {
    Budget {
        burst: 3,
        period: Duration::from_secs(30),
    }
}

#[tokio::test]
async fn invitation_openings_are_limited_per_address() {
    let t = start_with(|c| c.rate_limits.sign_in_per_address = tight()).await;
    for _ in 0..3 {
        assert_eq!(
            t.http
                .post(t.url("/invite/unknown"))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
    }
    let r = t.http.post(t.url("/invite/unknown")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    // The authorization endpoint shares the sign-in budget.
    let (_, challenge) = pkce();
    assert_eq!(
        t.authorize(None, &t.auth_params(&challenge)).await.status(),
        429
    );
}

#[tokio::test]
async fn token_requests_are_limited_per_client() {
    let t = start_with(|c| c.rate_limits.token_per_client = tight()).await;
    for _ in 0..3 {
        assert_eq!(
            t.token(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
                .await
                .status(),
            400
        );
    }
    let r = t
        .token(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].is_string());
    // Another client has its own budget.
    let r = t
        .http
        .post(t.url("/token"))
        .basic_auth(OTHER_CLIENT, Some("another-secret-another"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn token_requests_are_limited_per_address() {
    let t = start_with(|c| c.rate_limits.token_per_address = tight()).await;
    for _ in 0..3 {
        let _ = t
            .http
            .post(t.url("/token"))
            .form(&[("grant_type", "x")])
            .send()
            .await
            .unwrap();
    }
    let r = t
        .http
        .post(t.url("/token"))
        .form(&[("grant_type", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
}
