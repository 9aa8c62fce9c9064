//! Every grant against the sandbox: PKCE (public), code + Basic (confidential), refresh with
//! rotation, client credentials, and the token endpoint's refusals and faults.

use std::time::Duration;

use conformance::*;
use genesys::{
    AuthorizationCode, ClientSecret, OAuthClientConfig, OAuthError, PkceVerifier, RefreshToken,
};
use sandbox::{Grant, PKCE_CLIENT_ID, SERVICE_CLIENT_ID};

#[tokio::test]
async fn public_pkce_client_signs_in_without_a_secret() {
    let h = start_default().await;
    let client = pkce_client();
    let callback = sign_in(&h.genesys, &client, &["users:readonly"]).await;
    let tokens = h
        .genesys
        .exchange_code(&client, callback.code, callback.verifier)
        .await
        .unwrap();
    assert!(
        tokens.refresh_token.is_none(),
        "no refresh token is assumed for PKCE"
    );
    assert_eq!(
        tokens.expires_in,
        Duration::from_secs(86_399),
        "a day, as Genesys says it"
    );
    assert!(!tokens.expires_within(Duration::from_secs(60)));
    let info = h
        .genesys
        .token_info(&tokens.access_token)
        .await
        .unwrap()
        .body;
    assert_eq!(info.client_id().unwrap(), PKCE_CLIENT_ID);
    assert_eq!(info.authorized_scope, vec!["users:readonly"]);
}

#[tokio::test]
async fn confidential_client_uses_basic_auth_and_refresh_rotates() {
    let h = start_default().await;
    let client = web_client();
    let callback = sign_in(&h.genesys, &client, &[]).await;
    let first = h
        .genesys
        .exchange_code(&client, callback.code, callback.verifier)
        .await
        .unwrap();
    let refresh = first
        .refresh_token
        .clone()
        .expect("the confidential code grant gives a refresh token");
    h.genesys.users_me(&first.access_token, &[]).await.unwrap();

    let second = h.genesys.refresh(&client, &refresh).await.unwrap();
    assert!(!second.access_token.ct_eq(first.access_token.secret()));
    let rotated = second
        .refresh_token
        .clone()
        .expect("a rotated refresh token");
    assert!(!rotated.ct_eq(refresh.secret()));
    h.genesys.users_me(&second.access_token, &[]).await.unwrap();

    // Reusing the spent refresh token is refused (and revokes the grant, RFC 9700 §4.14.2).
    let reused = h.genesys.refresh(&client, &refresh).await.unwrap_err();
    assert!(reused.is_invalid_grant(), "{reused:?}");
    let after = h.genesys.refresh(&client, &rotated).await.unwrap_err();
    assert!(
        after.is_invalid_grant(),
        "the whole grant is revoked: {after:?}"
    );
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_the_verifier() {
    let h = start_default().await;
    let client = pkce_client();

    let callback = sign_in(&h.genesys, &client, &[]).await;
    let code = callback.code.secret().to_owned();
    h.genesys
        .exchange_code(&client, callback.code, callback.verifier)
        .await
        .unwrap();
    let again = h
        .genesys
        .exchange_code(
            &client,
            AuthorizationCode::new(code),
            PkceVerifier::generate(),
        )
        .await
        .unwrap_err();
    assert!(again.is_invalid_grant(), "{again:?}");

    let callback = sign_in(&h.genesys, &client, &[]).await;
    let wrong = h
        .genesys
        .exchange_code(&client, callback.code, PkceVerifier::generate())
        .await
        .unwrap_err();
    match &wrong {
        OAuthError::Token {
            status,
            error,
            description,
        } => {
            assert_eq!((*status, error.as_str()), (400, "invalid_grant"));
            assert!(
                description
                    .as_deref()
                    .unwrap_or("")
                    .contains("code_verifier"),
                "{description:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client() {
    let h = start_default().await;
    let bad = OAuthClientConfig {
        client_secret: Some(ClientSecret::new("wrong")),
        ..web_client()
    };
    let callback = sign_in(&h.genesys, &web_client(), &[]).await;
    let err = h
        .genesys
        .exchange_code(&bad, callback.code, callback.verifier)
        .await
        .unwrap_err();
    assert!(err.is_invalid_client(), "{err:?}");
    assert_eq!(err.status(), Some(401));
    let err = h
        .genesys
        .client_credentials(&service_id(), &ClientSecret::new("nope"), &[])
        .await
        .unwrap_err();
    assert!(err.is_invalid_client(), "{err:?}");
    let err = h
        .genesys
        .refresh(&bad, &RefreshToken::new("whatever"))
        .await
        .unwrap_err();
    assert!(err.is_invalid_client(), "{err:?}");
}

#[tokio::test]
async fn client_credentials_grant_with_and_without_scopes() {
    let h = start_default().await;
    let tokens = service_tokens(&h.genesys).await;
    assert!(tokens.refresh_token.is_none());
    let info = h
        .genesys
        .token_info(&tokens.access_token)
        .await
        .unwrap()
        .body;
    assert_eq!(info.client_id().unwrap(), SERVICE_CLIENT_ID);
    assert_eq!(info.authorized_scope, vec!["users:readonly"]);

    let unscoped = h
        .genesys
        .client_credentials(&service_id(), &service_secret(), &[])
        .await
        .unwrap();
    h.genesys
        .list_users(&unscoped.access_token, &Default::default())
        .await
        .unwrap();

    let err = h
        .genesys
        .client_credentials(&service_id(), &service_secret(), &["admin".to_string()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OAuthError::Token { error, .. } if error == "invalid_scope"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_malformed_token_body_fails_closed_without_quoting_it() {
    let h = start_default().await;
    let callback = sign_in(&h.genesys, &web_client(), &[]).await;
    h.sandbox.faults().set_malformed_token_body(true);
    let err = h
        .genesys
        .exchange_code(&web_client(), callback.code, callback.verifier)
        .await
        .unwrap_err();
    match &err {
        OAuthError::Malformed(reason) => assert!(!reason.contains("trunc"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let err = h
        .genesys
        .client_credentials(&service_id(), &service_secret(), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, OAuthError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn a_down_token_endpoint_is_reported_and_codes_are_not_retried() {
    let h = start_default().await;
    let callback = sign_in(&h.genesys, &pkce_client(), &[]).await;
    let code = callback.code.secret().to_owned();
    let verifier = callback.verifier.secret().to_owned();
    h.sandbox.faults().set_token_endpoint_down(true);
    let err = h
        .genesys
        .exchange_code(
            &pkce_client(),
            AuthorizationCode::new(code.clone()),
            PkceVerifier::new(verifier.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(err, OAuthError::Upstream { status: 503 });
    let err = h
        .genesys
        .client_credentials(&service_id(), &service_secret(), &[])
        .await
        .unwrap_err();
    assert_eq!(err, OAuthError::Upstream { status: 503 });
    // The code went out once (any answer may mean it was spent); the idempotent
    // client-credentials grant was tried as often as the policy allows.
    let stats = h.sandbox.stats();
    assert_eq!(stats.token_requests(Grant::AuthorizationCode), 1);
    assert_eq!(
        stats.token_requests(Grant::ClientCredentials),
        u64::from(quick_retry().max_attempts)
    );

    // Back up: the grants work again, the code included (the 503 never reached it).
    h.sandbox.faults().set_token_endpoint_down(false);
    service_tokens(&h.genesys).await;
    h.genesys
        .exchange_code(
            &pkce_client(),
            AuthorizationCode::new(code),
            PkceVerifier::new(verifier),
        )
        .await
        .expect("the code is still good");
}

#[tokio::test]
async fn a_slow_token_endpoint_times_out() {
    let options = genesys::ClientOptions {
        request_timeout: Duration::from_millis(300),
        ..quick_options()
    };
    let h = start(sandbox::SandboxConfig::default(), options).await;
    h.sandbox.faults().set_latency(Duration::from_secs(3));
    let err = h
        .genesys
        .client_credentials(&service_id(), &service_secret(), &[])
        .await
        .unwrap_err();
    assert_eq!(err, OAuthError::Timeout);
    // A timeout is not retried: one request arrived (counted before the injected latency,
    // which the client did not wait out).
    assert_eq!(h.sandbox.stats().requests("/oauth/token"), 1);
}
