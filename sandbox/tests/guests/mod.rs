//! The Web Messaging tests' harness: the portal's real guest OpenID provider on a loopback
//! port, a sandbox trusting it, a guest's browser getting codes, and a WebSocket client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::{SinkExt, StreamExt};
use guest_idp::{ClientSecret, Guest, Idp, IdpConfig, NewGuest, RelyingParty};
use sandbox::{
    RunningSandbox, SandboxConfig, WebMessagingConfig, GUEST_IDP_CLIENT_ID,
    GUEST_IDP_CLIENT_SECRET, WEB_DEPLOYMENT_ID,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::any::AnyPoolOptions;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

pub const REDIRECT_URI: &str = "http://127.0.0.1/guest";
pub const NONCE: &str = "nonce-4f2a9c";

pub struct Stack {
    pub idp: Idp,
    pub issuer: Url,
    pub sandbox: RunningSandbox,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    idp_server: tokio::task::JoinHandle<()>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.idp_server.abort();
    }
}

/// RSA key generation is slow: one provider database (its key included) made once, copied
/// into every test's data dir.
fn key_template() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            std::thread::spawn(|| {
                let dir = tempfile::tempdir().unwrap();
                let rt = tokio::runtime::Runtime::new().unwrap();
                rt.block_on(async {
                    let issuer = Url::parse("http://127.0.0.1:1/guest-idp").unwrap();
                    let config = IdpConfig::new(issuer, dir.path().to_path_buf());
                    let pool = pool(dir.path(), "template.db").await;
                    Idp::open(config, pool.clone()).await.unwrap();
                    pool.close().await;
                });
                dir
            })
            .join()
            .unwrap()
        })
        .path()
}

fn copy_keys(to: &Path) {
    std::fs::copy(key_template().join("template.db"), to.join("portal.db")).unwrap();
}

async fn pool(dir: &Path, name: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(4)
        .connect(&format!("sqlite://{}?mode=rwc", dir.join(name).display()))
        .await
        .unwrap()
}

/// The provider and a sandbox trusting it; the agent answers at once unless `wm` says so.
pub async fn start_with(
    idp_tweak: impl FnOnce(&mut IdpConfig),
    wm_tweak: impl FnOnce(&mut WebMessagingConfig),
) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    copy_keys(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let issuer = Url::parse(&format!("http://127.0.0.1:{port}/guest-idp")).unwrap();
    let mut config = IdpConfig::new(issuer.clone(), dir.path().to_path_buf());
    config.clients = vec![RelyingParty {
        client_id: GUEST_IDP_CLIENT_ID.into(),
        client_secret: ClientSecret::new(GUEST_IDP_CLIENT_SECRET),
        redirect_uris: vec![REDIRECT_URI.into()],
        allowed_scopes: ["openid", "email", "profile", "offline_access"]
            .map(String::from)
            .to_vec(),
    }];
    idp_tweak(&mut config);
    let idp = Idp::open(config, pool(dir.path(), "portal.db").await)
        .await
        .unwrap();
    let app = axum::Router::new().nest("/guest-idp", idp.router());
    let idp_server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let mut wm = WebMessagingConfig::new(issuer.clone());
    wm.agent.reply_delay = Duration::ZERO;
    wm_tweak(&mut wm);
    let sandbox = sandbox::spawn(SandboxConfig {
        users: 10,
        web_messaging: Some(wm),
        ..Default::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    Stack {
        idp,
        issuer,
        sandbox,
        http,
        _dir: dir,
        idp_server,
    }
}

pub async fn start() -> Stack {
    start_with(|_| {}, |_| {}).await
}

/// A verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The claims of a JWT, decoded without verification (for inspecting, not trusting).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// What the host page gives the Messenger: a fresh code and the verifier that goes with it.
pub struct AuthCode {
    pub code: String,
    pub verifier: String,
}

impl Stack {
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.sandbox.base_url(),
            path.trim_start_matches('/')
        )
    }

    /// Creates a guest and opens its invitation: the guest and the session cookie.
    pub async fn guest(&self, given: &str) -> (Guest, String) {
        let new = NewGuest {
            given_name: given.into(),
            family_name: "Tester".into(),
            email: format!("{}@example.com", given.to_lowercase()),
            attributes: Default::default(),
        };
        let (guest, invitation) = self.idp.create_guest(new, "admin@test").await.unwrap();
        let r = self.http.post(&invitation.url).send().await.unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        let prefix = format!("{}=", self.idp.session_cookie_name());
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix(&prefix)
                    .map(|rest| rest.split(';').next().unwrap().to_owned())
            })
            .expect("a session cookie");
        (guest, cookie)
    }

    /// The guest's browser at `/authorize` (PKCE S256, the nonce): the code from the redirect.
    pub async fn code(&self, cookie: &str) -> AuthCode {
        let (verifier, challenge) = pkce();
        let mut url = Url::parse(&format!("{}/authorize", self.issuer)).unwrap();
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", GUEST_IDP_CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid email profile offline_access"),
            ("state", "state-1"),
            ("nonce", NONCE),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let r = self
            .http
            .get(url)
            .header(
                "cookie",
                format!("{}={cookie}", self.idp.session_cookie_name()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "authorize redirects");
        let location = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        AuthCode { code, verifier }
    }

    pub fn exchange_body(&self, c: &AuthCode) -> Value {
        json!({
            "deploymentId": WEB_DEPLOYMENT_ID,
            "journeyContext": {"customer": {"id": "c1", "idType": "cookie"}},
            "oauth": {
                "code": c.code,
                "redirectUri": REDIRECT_URI,
                "nonce": NONCE,
                "codeVerifier": c.verifier,
                "iss": self.issuer.as_str(),
            },
        })
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn exchange(&self, body: &Value) -> (u16, Value) {
        self.post(
            "/api/v2/webdeployments/token/oauthcodegrantjwtexchange",
            body,
        )
        .await
    }

    /// A signed-in guest's `{jwt, refreshToken}`.
    pub async fn tokens(&self, given: &str) -> (Guest, String, String) {
        let (guest, cookie) = self.guest(given).await;
        let code = self.code(&cookie).await;
        let (status, body) = self.exchange(&self.exchange_body(&code)).await;
        assert_eq!(status, 200, "{body}");
        let jwt = body["jwt"].as_str().unwrap().to_owned();
        let refresh = body["refreshToken"].as_str().unwrap().to_owned();
        (guest, jwt, refresh)
    }

    pub async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.post(
            "/api/v2/webdeployments/token/refresh",
            &json!({"refreshToken": refresh_token, "deploymentId": WEB_DEPLOYMENT_ID}),
        )
        .await
    }

    pub async fn revoke(&self, jwt: &str) -> u16 {
        self.http
            .delete(self.url("/api/v2/webdeployments/token/revoke"))
            .header("authorization", format!("bearer {jwt}"))
            .header("x-journey-session-id", "js-1")
            .header("x-journey-session-type", "web")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn socket(&self) -> Ws {
        let url = self.sandbox.web_messaging_gateway_url().unwrap();
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        Ws { ws }
    }
}

pub struct Ws {
    pub ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// What the socket gave next.
#[derive(Debug)]
pub enum Next {
    Frame(Value),
    Closed,
}

impl Ws {
    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    pub async fn next(&mut self) -> Next {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a frame within 10 s");
            match m {
                Some(Ok(Message::Text(t))) => {
                    return Next::Frame(serde_json::from_str(&t).unwrap())
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Next::Closed,
                Some(Ok(other)) => panic!("unexpected {other:?}"),
            }
        }
    }

    pub async fn frame(&mut self) -> Value {
        match self.next().await {
            Next::Frame(v) => v,
            Next::Closed => panic!("the socket closed"),
        }
    }

    /// Reads `n` frames.
    pub async fn frames(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.frame().await);
        }
        out
    }

    pub async fn configure_authenticated(&mut self, token: &str, jwt: &str) -> Value {
        self.send(json!({
            "action": "configureAuthenticatedSession",
            "token": token,
            "deploymentId": WEB_DEPLOYMENT_ID,
            "startNew": false,
            "journeyContext": {},
            "data": {"code": jwt},
            "tracingId": "t-1",
        }))
        .await;
        self.frame().await
    }

    pub async fn say(&mut self, token: &str, text: &str) {
        self.send(json!({
            "action": "onMessage",
            "token": token,
            "message": {"type": "Text", "text": text},
            "tracingId": "t-2",
        }))
        .await;
    }
}
