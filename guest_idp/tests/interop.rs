//! Interop: `openidconnect` as a real relying party against the provider. Discovery from the
//! issuer, authorization URL with PKCE and nonce, the guest's browser (a cookie-jar client that
//! opened its invitation) follows it, code exchange, ID-token verification, userinfo, refresh.

mod common;

use std::sync::Arc;

use common::*;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use url::Url;

#[tokio::test]
async fn openidconnect_relying_party_completes_the_flow() {
    let t = start().await;
    let (guest, invitation) = t
        .idp
        .create_guest(new_guest("Ada"), "admin@test")
        .await
        .unwrap();

    // The guest's browser: a cookie jar, redirects off (we follow by hand and stop at the RP).
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = browser.post(&invitation.url).send().await.unwrap();
    assert_eq!(r.status(), 303);

    // The relying party (what Genesys does), with its own HTTP client.
    let rp_http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = IssuerUrl::new(t.issuer.to_string()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &rp_http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(CLIENT_ID.into()),
        Some(ClientSecret::new(CLIENT_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .set_max_age(std::time::Duration::from_secs(3600))
        .url();

    let r = browser.get(auth_url.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
    let location = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT_URI));
    let q: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], *csrf.secret());
    assert_eq!(q["iss"], t.issuer.as_str(), "RFC 9207");

    let tokens = client
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verifies");
    assert_eq!(claims.subject().as_str(), guest.id);
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.email().unwrap().as_str(), "ada@example.com");
    assert_eq!(
        claims.given_name().unwrap().get(None).unwrap().as_str(),
        "Ada"
    );

    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("userinfo");
    assert_eq!(
        info.family_name().unwrap().get(None).unwrap().as_str(),
        "Tester"
    );

    let refresh = tokens
        .refresh_token()
        .expect("a refresh token with offline_access");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret(),
        "rotated"
    );
    let again = refreshed.id_token().unwrap();
    let claims = again
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("refreshed ID token verifies");
    assert_eq!(claims.subject().as_str(), guest.id);
}
