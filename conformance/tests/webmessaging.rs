//! The genesys client's Web Messaging token calls (exchange, refresh, revoke) against the
//! sandbox's Genesys side, with codes from the portal's real guest provider.

// One harness for both crates' tests: the sandbox's (its provider, a guest's browser, codes).
#[path = "../../sandbox/tests/guests/mod.rs"]
mod guests;

use genesys::{
    ApiError, Environment, GenesysClient, WebDeploymentsOAuthExchangeRequest,
    WebDeploymentsOAuthRequestParameters,
};
use guests::{start, AuthCode, NONCE, REDIRECT_URI};
use sandbox::WEB_DEPLOYMENT_ID;

fn client(stack: &guests::Stack) -> GenesysClient {
    let base = stack.sandbox.base_url();
    let env = Environment::custom(base.as_str(), base.as_str()).unwrap();
    GenesysClient::new(env, Default::default()).unwrap()
}

fn request(code: &AuthCode, nonce: &str) -> WebDeploymentsOAuthExchangeRequest {
    WebDeploymentsOAuthExchangeRequest {
        deployment_id: WEB_DEPLOYMENT_ID.into(),
        journey_context: None,
        oauth: WebDeploymentsOAuthRequestParameters {
            code: code.code.clone(),
            redirect_uri: REDIRECT_URI.into(),
            nonce: Some(nonce.into()),
            max_age: None,
            code_verifier: Some(code.verifier.clone()),
            iss: None,
        },
    }
}

#[tokio::test]
async fn a_code_becomes_a_jwt_that_refreshes_and_revokes() {
    let stack = start().await;
    let genesys = client(&stack);
    let (_, cookie) = stack.guest("Ada").await;
    let code = stack.code(&cookie).await;
    let session = genesys
        .exchange_guest_code(&request(&code, NONCE))
        .await
        .unwrap();
    let claims = guests::jwt_claims(session.jwt.secret());
    assert_eq!(claims["given_name"], "Ada");

    // The code was spent: the same exchange again is refused, and not retried into success.
    let again = genesys.exchange_guest_code(&request(&code, NONCE)).await;
    assert!(
        matches!(again, Err(ApiError::Unauthorized { .. })),
        "{again:?}"
    );

    let fresh = genesys
        .refresh_guest_jwt(WEB_DEPLOYMENT_ID, &session.refresh_token)
        .await
        .unwrap();
    assert_eq!(guests::jwt_claims(fresh.secret())["sub"], claims["sub"]);

    genesys.revoke_guest_jwt(&fresh).await.unwrap();
    let after = genesys
        .refresh_guest_jwt(WEB_DEPLOYMENT_ID, &session.refresh_token)
        .await;
    assert!(
        after.as_ref().is_err_and(ApiError::is_unauthorized),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_wrong_nonce_or_deployment_is_refused_with_genesys_errors() {
    let stack = start().await;
    let genesys = client(&stack);
    let (_, cookie) = stack.guest("Grace").await;
    let code = stack.code(&cookie).await;
    let wrong_nonce = genesys
        .exchange_guest_code(&request(&code, "another-nonce"))
        .await;
    assert!(
        wrong_nonce.as_ref().is_err_and(ApiError::is_unauthorized),
        "{wrong_nonce:?}"
    );

    let code = stack.code(&cookie).await;
    let mut unknown = request(&code, NONCE);
    unknown.deployment_id = "00000000-0000-4000-8000-000000000000".into();
    let answer = genesys.exchange_guest_code(&unknown).await;
    assert!(
        matches!(answer, Err(ApiError::NotFound { .. })),
        "{answer:?}"
    );
}
