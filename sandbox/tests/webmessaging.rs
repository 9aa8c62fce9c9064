//! Authenticated Web Messaging against the portal's real guest provider: the code exchange by
//! Genesys' rules, refresh and revoke, and the gateway with the scripted agent.

mod guests;

use std::time::Duration;

use guests::*;
use sandbox::WEB_DEPLOYMENT_ID;
use serde_json::{json, Value};

fn assert_genesys_error(body: &Value, status: u16) {
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["code"].is_string() && body["message"].is_string(),
        "{body}"
    );
    assert!(body["contextId"].is_string(), "{body}");
}

#[tokio::test]
async fn deployment_config_is_public_and_names_the_gateway() {
    let s = start().await;
    let r = s
        .http
        .get(s.url(&format!(
            "/webdeployments/v1/deployments/{WEB_DEPLOYMENT_ID}/config.json"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let config: Value = r.json().await.unwrap();
    assert_eq!(
        config["auth"],
        json!({"enabled": true, "allowSessionUpgrade": false})
    );
    let endpoint = config["messenger"]["apps"]["conversations"]["messagingEndpoint"]
        .as_str()
        .unwrap();
    let gateway = s.sandbox.web_messaging_gateway_url().unwrap();
    assert!(
        gateway.as_str().starts_with(endpoint),
        "{endpoint} {gateway}"
    );
    let r =
        s.http
            .get(s.url(
                "/webdeployments/v1/deployments/00000000-0000-0000-0000-000000000000/config.json",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 404);
    assert_genesys_error(&r.json().await.unwrap(), 404);
}

#[tokio::test]
async fn exchange_gives_a_jwt_naming_the_verified_guest() {
    let s = start().await;
    let (guest, jwt, refresh) = s.tokens("Ada").await;
    let claims = jwt_claims(&jwt);
    assert_eq!(claims["sub"], guest.id.as_str());
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["family_name"], "Tester");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["deploymentId"], WEB_DEPLOYMENT_ID);
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=900).contains(&lifetime), "{lifetime}");
    assert!(!refresh.is_empty() && !jwt.contains(&refresh));
}

#[tokio::test]
async fn exchange_checks_the_request_by_genesys_rules() {
    let s = start().await;
    let (_, cookie) = s.guest("Bea").await;
    let code = s.code(&cookie).await;
    let good = s.exchange_body(&code);
    let cases: Vec<(Value, u16)> = vec![
        (json!({"oauth": good["oauth"]}), 400),
        (json!({"deploymentId": WEB_DEPLOYMENT_ID}), 400),
        (
            json!({"deploymentId": WEB_DEPLOYMENT_ID, "oauth": {"redirectUri": REDIRECT_URI}}),
            400,
        ),
        (
            json!({"deploymentId": WEB_DEPLOYMENT_ID, "oauth": {"code": "x"}}),
            400,
        ),
        (
            {
                let mut b = good.clone();
                b["oauth"]["codeVerifier"] = "short".into();
                b
            },
            400,
        ),
        (
            {
                let mut b = good.clone();
                b["oauth"]["iss"] = "https://evil.example".into();
                b
            },
            400,
        ),
        (
            {
                let mut b = good.clone();
                b["oauth"]["maxAge"] = "soon".into();
                b
            },
            400,
        ),
        (
            {
                let mut b = good.clone();
                b["deploymentId"] = "00000000-0000-0000-0000-000000000001".into();
                b
            },
            404,
        ),
    ];
    for (body, status) in cases {
        let (got, answer) = s.exchange(&body).await;
        assert_eq!(got, status, "{body} -> {answer}");
        assert_genesys_error(&answer, status);
    }
    let r = s
        .http
        .post(s.url("/api/v2/webdeployments/token/oauthcodegrantjwtexchange"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // None of the refusals above spent the code.
    let (status, body) = s.exchange(&good).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_idp_refusing_the_code_is_401() {
    let s = start().await;
    let (_, cookie) = s.guest("Cy").await;

    let code = s.code(&cookie).await;
    let mut body = s.exchange_body(&code);
    body["oauth"]["codeVerifier"] = pkce().0.into();
    let (status, answer) = s.exchange(&body).await;
    assert_eq!(status, 401, "wrong verifier: {answer}");
    assert_genesys_error(&answer, 401);

    let code = s.code(&cookie).await;
    let mut body = s.exchange_body(&code);
    body["oauth"]
        .as_object_mut()
        .unwrap()
        .remove("codeVerifier");
    assert_eq!(s.exchange(&body).await.0, 401, "missing verifier");

    let code = s.code(&cookie).await;
    let body = s.exchange_body(&code);
    assert_eq!(s.exchange(&body).await.0, 200);
    assert_eq!(s.exchange(&body).await.0, 401, "replayed code");

    let code = s.code(&cookie).await;
    let mut body = s.exchange_body(&code);
    body["oauth"]["nonce"] = "another-nonce".into();
    assert_eq!(s.exchange(&body).await.0, 401, "wrong nonce");
}

#[tokio::test]
async fn max_age_is_checked_against_auth_time() {
    let s = start().await;
    let (_, cookie) = s.guest("Dee").await;
    let code = s.code(&cookie).await;
    let mut body = s.exchange_body(&code);
    body["oauth"]["maxAge"] = 3600.into();
    assert_eq!(s.exchange(&body).await.0, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let code = s.code(&cookie).await;
    let mut body = s.exchange_body(&code);
    body["oauth"]["maxAge"] = 0.into();
    let (status, answer) = s.exchange(&body).await;
    assert_eq!(status, 401, "{answer}");
}

#[tokio::test]
async fn refresh_gives_a_new_jwt_and_revoke_kills_both() {
    let s = start().await;
    let (_, jwt, refresh) = s.tokens("Eve").await;
    let (status, body) = s.refresh(&refresh).await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["jwt"].as_str().unwrap();
    assert_ne!(fresh, jwt);
    assert!(body.get("refreshToken").is_none(), "not rotated");
    assert_eq!(jwt_claims(fresh)["given_name"], "Eve");
    assert_eq!(s.refresh("not-a-refresh-token").await.0, 401);
    let (status, body) = s
        .post(
            "/api/v2/webdeployments/token/refresh",
            &json!({"refreshToken": refresh}),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    assert_eq!(s.revoke(fresh).await, 204);
    let (status, body) = s.refresh(&refresh).await;
    assert_eq!(status, 401);
    assert_genesys_error(&body, 401);
    assert_eq!(
        s.revoke(&jwt).await,
        401,
        "the older JWT died with its session"
    );
    let r = s
        .http
        .delete(s.url("/api/v2/webdeployments/token/revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn refresh_revalidates_at_the_idp_once_its_token_expired() {
    let s = start_with(|idp| idp.access_token_ttl = Duration::from_secs(2), |_| {}).await;
    let (guest, jwt, refresh) = s.tokens("Fay").await;
    let claims = jwt_claims(&jwt);
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(lifetime <= 2, "bounded by the IdP's expires_in: {lifetime}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = s.refresh(&refresh).await;
    assert_eq!(
        status, 200,
        "re-validated with the IdP's refresh token: {body}"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    s.idp
        .set_disabled(&guest.id, true, "admin@test")
        .await
        .unwrap();
    let (status, body) = s.refresh(&refresh).await;
    assert_eq!(status, 401, "a disabled guest: {body}");
}

#[tokio::test]
async fn socket_chat_with_the_agent_naming_the_guest() {
    let s = start().await;
    let (_, jwt, _) = s.tokens("Gil").await;
    let mut ws = s.socket().await;
    let token = uuid::Uuid::new_v4().to_string();
    let answer = ws.configure_authenticated(&token, &jwt).await;
    assert_eq!(answer["class"], "SessionResponse", "{answer}");
    assert_eq!(
        answer["body"],
        json!({"connected": true, "newSession": true, "readOnly": false, "clearedExistingSession": false})
    );
    let [join, greeting] = <[Value; 2]>::try_from(ws.frames(2).await).unwrap();
    assert_eq!(join["body"]["type"], "Event");
    assert_eq!(join["body"]["events"][0]["presence"]["type"], "Join");
    assert_eq!(greeting["body"]["direction"], "Outbound");
    assert!(
        greeting["body"]["text"].as_str().unwrap().contains("Gil"),
        "{greeting}"
    );

    ws.say(&token, "Where is my parcel?").await;
    let [echo, reply] = <[Value; 2]>::try_from(ws.frames(2).await).unwrap();
    assert_eq!(echo["type"], "message");
    assert_eq!(echo["class"], "StructuredMessage");
    assert_eq!(echo["body"]["direction"], "Inbound");
    assert_eq!(echo["body"]["originatingEntity"], "Human");
    assert_eq!(echo["body"]["text"], "Where is my parcel?");
    assert!(echo["body"]["metadata"]["correlationId"].is_string());
    assert!(echo["body"]["channel"]["messageId"].is_string());
    let time = echo["body"]["channel"]["time"].as_str().unwrap();
    assert!(time.ends_with('Z') && time.len() == 24, "{time}");
    assert_eq!(reply["body"]["direction"], "Outbound");
    assert_eq!(reply["body"]["originatingEntity"], "Bot");
    let text = reply["body"]["text"].as_str().unwrap();
    assert!(
        text.contains("Gil") && text.contains("Where is my parcel?"),
        "{text}"
    );

    ws.send(json!({"action": "echo", "token": token, "message": {"type": "Text", "text": "ping"}}))
        .await;
    let echo = ws.frame().await;
    assert_eq!(
        (echo["type"].as_str(), echo["class"].as_str()),
        (Some("response"), Some("StructuredMessage"))
    );
    assert_eq!(echo["body"]["text"], "ping");

    // Reconnecting with the same token resumes the session and replays its history.
    drop(ws);
    let mut again = s.socket().await;
    let answer = again.configure_authenticated(&token, &jwt).await;
    assert_eq!(answer["body"]["newSession"], false, "{answer}");
    let history = again.frames(4).await;
    let texts: Vec<&str> = history
        .iter()
        .filter_map(|f| f["body"]["text"].as_str())
        .collect();
    assert_eq!(texts.len(), 3, "{history:?}");
    assert_eq!(texts[1], "Where is my parcel?");
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_socket_stays() {
    let s = start().await;
    let (_, jwt, _) = s.tokens("Hal").await;
    let mut ws = s.socket().await;
    let token = uuid::Uuid::new_v4().to_string();
    ws.configure_authenticated(&token, &jwt).await;
    ws.frames(2).await;
    let error_code = |f: &Value| {
        assert_eq!(
            (f["type"].as_str(), f["class"].as_str()),
            (Some("response"), Some("string")),
            "{f}"
        );
        assert!(f["body"].is_string(), "{f}");
        f["code"].as_u64().unwrap()
    };
    ws.send_text("{not json".into()).await;
    assert_eq!(error_code(&ws.frame().await), 400);
    ws.send(json!({"action": "frobnicate", "token": token}))
        .await;
    assert_eq!(error_code(&ws.frame().await), 400);
    ws.say(&token, &"x".repeat(4097)).await;
    assert_eq!(error_code(&ws.frame().await), 4011);
    ws.send_text(format!("{{\"pad\":\"{}\"}}", "y".repeat(20_000)))
        .await;
    assert_eq!(error_code(&ws.frame().await), 400);
    ws.say("some-other-token", "hi").await;
    assert_eq!(error_code(&ws.frame().await), 4007);
    // Still open and working.
    ws.say(&token, &"z".repeat(4096)).await;
    let echo = ws.frame().await;
    assert_eq!(echo["body"]["direction"], "Inbound");
}

#[tokio::test]
async fn expired_revoked_and_foreign_jwts_get_401_frames() {
    let s = start_with(|_| {}, |wm| wm.jwt_lifetime = Duration::from_secs(1)).await;
    let (_, jwt, refresh) = s.tokens("Ivy").await;
    let other = start().await;
    let (_, foreign, _) = other.tokens("Jo").await;
    let mut ws = s.socket().await;
    let token = uuid::Uuid::new_v4().to_string();
    let answer = ws.configure_authenticated(&token, &foreign).await;
    assert_eq!(
        (answer["class"].as_str(), answer["code"].as_u64()),
        (Some("string"), Some(401)),
        "{answer}"
    );
    let answer = ws.configure_authenticated(&token, "not-a-jwt").await;
    assert_eq!(answer["code"], 401);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let answer = ws.configure_authenticated(&token, &jwt).await;
    assert_eq!(answer["code"], 401, "expired: {answer}");
    // The Messenger's answer to a 401: refresh the JWT and configure again.
    let (status, body) = s.refresh(&refresh).await;
    assert_eq!(status, 200);
    let fresh = body["jwt"].as_str().unwrap();
    let answer = ws.configure_authenticated(&token, fresh).await;
    assert_eq!(answer["class"], "SessionResponse", "{answer}");
}

#[tokio::test]
async fn revoke_logs_the_socket_out() {
    let s = start().await;
    let (_, jwt, refresh) = s.tokens("Kim").await;
    let mut ws = s.socket().await;
    let token = uuid::Uuid::new_v4().to_string();
    ws.configure_authenticated(&token, &jwt).await;
    ws.frames(2).await;
    assert_eq!(s.revoke(&jwt).await, 204);
    let disconnect = ws.frame().await;
    assert_eq!(
        disconnect["body"]["events"][0]["presence"]["type"], "Disconnect",
        "{disconnect}"
    );
    let logout = ws.frame().await;
    assert_eq!(
        logout,
        json!({"type": "message", "class": "LogoutEvent", "code": 200, "body": {}})
    );
    assert!(matches!(ws.next().await, Next::Closed));
    assert_eq!(s.refresh(&refresh).await.0, 401);
    let mut again = s.socket().await;
    let answer = again.configure_authenticated(&token, &jwt).await;
    assert_eq!(answer["code"], 401);
}

#[tokio::test]
async fn anonymous_sessions_get_a_nameless_greeting() {
    let s = start().await;
    let mut ws = s.socket().await;
    let token = uuid::Uuid::new_v4().to_string();
    ws.send(
        json!({"action": "configureSession", "token": token, "deploymentId": WEB_DEPLOYMENT_ID}),
    )
    .await;
    let answer = ws.frame().await;
    assert_eq!(answer["body"]["newSession"], true, "{answer}");
    let greeting = &ws.frames(2).await[1];
    assert_eq!(
        greeting["body"]["text"],
        "Hello, welcome! How can I help you today?"
    );
    ws.say(&token, "hi").await;
    let reply = &ws.frames(2).await[1];
    assert!(
        reply["body"]["text"].as_str().unwrap().contains("there"),
        "{reply}"
    );
    // A guest reusing an anonymous token gets a new session, not the anonymous history.
    let (_, jwt, _) = s.tokens("Lu").await;
    let answer = ws.configure_authenticated(&token, &jwt).await;
    assert_eq!(answer["body"]["newSession"], true);
    assert_eq!(answer["body"]["clearedExistingSession"], true);
}

#[tokio::test]
async fn faults_reach_the_token_endpoints_and_the_socket() {
    let s = start().await;
    let (_, jwt, refresh) = s.tokens("Mo").await;
    s.sandbox.faults().set_rate_limit_rate(1.0);
    let r = s
        .http
        .post(s.url("/api/v2/webdeployments/token/refresh"))
        .json(&json!({"refreshToken": refresh, "deploymentId": WEB_DEPLOYMENT_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    s.sandbox.faults().clear();
    s.sandbox.faults().set_error_rate(1.0);
    let (status, body) = s.refresh(&refresh).await;
    assert!((500..=504).contains(&status), "{status}");
    assert_genesys_error(&body, status);
    s.sandbox.faults().clear();

    let mut ws = s.socket().await;
    let token = uuid::Uuid::new_v4().to_string();
    s.sandbox
        .faults()
        .set_socket_delay(Duration::from_millis(150));
    let started = std::time::Instant::now();
    ws.configure_authenticated(&token, &jwt).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    ws.frames(2).await;
    s.sandbox.faults().clear();
    s.sandbox.faults().set_socket_drop_rate(1.0);
    ws.say(&token, "hello?").await;
    assert!(matches!(ws.next().await, Next::Closed));
}

/// A user's access token at the stack's sandbox (the confidential portal client).
async fn user_token(s: &Stack) -> String {
    let (verifier, challenge) = pkce();
    let redirect = "http://127.0.0.1:3000/auth/callback";
    let mut url = url::Url::parse(&s.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", sandbox::WEB_CLIENT_ID)
        .append_pair("redirect_uri", redirect)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "state-1");
    let answer = sandbox::test_support::SignInScript::new(&s.http)
        .run(url)
        .await
        .unwrap();
    let code = answer.code().unwrap();
    let r = s
        .http
        .post(s.url("/oauth/token"))
        .basic_auth(sandbox::WEB_CLIENT_ID, Some(sandbox::WEB_CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_conversations_api_shows_the_guest_with_the_verified_claims_the_guest_cannot_forge() {
    let s = start().await;
    let (guest, jwt, _) = s.tokens("Noor").await;
    let mut ws = s.socket().await;
    let token = uuid::Uuid::new_v4().to_string();
    ws.configure_authenticated(&token, &jwt).await;
    ws.frames(2).await;
    // Custom attributes become participant data, but never under `authenticated.`.
    ws.send(json!({
        "action": "onMessage",
        "token": token,
        "message": {"type": "Text", "text": "hello", "channel": {"metadata": {"customAttributes": {
            "orderId": "A-17", "authenticated.sub": "someone-else", "count": 3
        }}}},
    }))
    .await;
    ws.frames(2).await;
    let listed: Value = s
        .http
        .get(s.url("/sandbox/conversations"))
        .header("x-sandbox-admin", "1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = listed["conversations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bearer = user_token(&s).await;
    let r = s
        .http
        .get(s.url(&format!("/api/v2/conversations/{id}")))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c: genesys::Conversation = r.json().await.unwrap();
    assert_eq!(c.id, id);
    assert_eq!(
        c.self_uri.as_deref(),
        Some(format!("/api/v2/conversations/{id}").as_str())
    );
    let customer = c.customer().unwrap();
    assert_eq!(customer.name.as_deref(), Some("Noor Tester"));
    assert_eq!(customer.attributes["authenticated.sub"], guest.id);
    assert_eq!(
        customer.attributes["authenticated.email"],
        "noor@example.com"
    );
    assert_eq!(customer.attributes["orderId"], "A-17");
    assert_eq!(customer.attributes["count"], "3");
    assert_eq!(customer.messages[0].kind.as_deref(), Some("webmessaging"));
    assert_eq!(customer.messages[0].state.as_deref(), Some("connected"));
    assert!(c
        .participants
        .iter()
        .any(|p| p.purpose.as_deref() == Some("agent")));
    // Genesys' 404 for an id it does not know, 401 without a token.
    let r = s
        .http
        .get(s.url("/api/v2/conversations/00000000-0000-4000-8000-000000000000"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_genesys_error(&r.json().await.unwrap(), 404);
    let r = s
        .http
        .get(s.url(&format!("/api/v2/conversations/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // An anonymous guest's conversation has no verified claims.
    let mut anon = s.socket().await;
    let anon_token = uuid::Uuid::new_v4().to_string();
    anon.send(json!({"action": "configureSession", "token": anon_token, "deploymentId": WEB_DEPLOYMENT_ID}))
        .await;
    anon.frames(2).await;
    let listed: Value = s
        .http
        .get(s.url("/sandbox/conversations"))
        .header("x-sandbox-admin", "1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anonymous = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] != id.as_str())
        .unwrap();
    let customer = &anonymous["participants"][0];
    assert_eq!(customer["purpose"], "customer");
    assert!(customer.get("name").is_none(), "{customer}");
    assert!(
        customer["attributes"].as_object().unwrap().is_empty(),
        "{customer}"
    );
}
