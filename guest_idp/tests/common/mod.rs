//! The harness of the guest provider's integration tests: a provider served on a random
//! loopback port (with `ConnectInfo`), a temporary data dir with the SQLite file, a registered
//! client, a guest with a session, and helpers for the protocol's requests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use guest_idp::{ClientSecret, Guest, Idp, IdpConfig, NewGuest, RelyingParty};
use sha2::{Digest, Sha256};
use sqlx::{any::AnyPoolOptions, AnyPool};
use url::Url;

pub const CLIENT_ID: &str = "genesys-messenger";
pub const CLIENT_SECRET: &str = "s3cret-s3cret-s3cret";
pub const REDIRECT_URI: &str = "https://app.example.com/callback";
pub const OTHER_CLIENT: &str = "other-client";

pub struct TestIdp {
    pub idp: Idp,
    pub issuer: Url,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub pool: AnyPool,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn clients() -> Vec<RelyingParty> {
    vec![
        RelyingParty {
            client_id: CLIENT_ID.into(),
            client_secret: ClientSecret::new(CLIENT_SECRET),
            redirect_uris: vec![
                REDIRECT_URI.into(),
                "https://app.example.com/cb?tenant=1".into(),
            ],
            allowed_scopes: ["openid", "email", "profile", "offline_access"]
                .map(String::from)
                .to_vec(),
        },
        RelyingParty {
            client_id: OTHER_CLIENT.into(),
            client_secret: ClientSecret::new("another-secret-another"),
            redirect_uris: vec!["https://other.example.com/cb".into()],
            allowed_scopes: ["openid", "email"].map(String::from).to_vec(),
        },
    ]
}

/// The provider's database: SQLite in `dir`.
pub async fn pool(dir: &std::path::Path) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", dir.join("portal.db").display());
    AnyPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await
        .expect("database")
}

/// Starts a provider; `tweak` adjusts the configuration (lifetimes, limits).
pub async fn start_with(tweak: impl FnOnce(&mut IdpConfig)) -> TestIdp {
    let dir = tempfile::tempdir().expect("temp dir");
    start_in(dir, tweak).await
}

pub async fn start() -> TestIdp {
    start_with(|_| {}).await
}

pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut IdpConfig)) -> TestIdp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let issuer = Url::parse(&format!("http://127.0.0.1:{}/guest-idp", addr.port())).unwrap();
    let mut config = IdpConfig::new(issuer.clone(), dir.path().to_path_buf());
    config.clients = clients();
    tweak(&mut config);
    let pool = pool(dir.path()).await;
    let idp = Idp::open(config, pool.clone()).await.expect("open");
    let app = axum::Router::new().nest("/guest-idp", idp.router());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    TestIdp {
        idp,
        issuer,
        addr,
        http,
        dir,
        pool,
        server,
    }
}

pub fn new_guest(given: &str) -> NewGuest {
    let mut attributes = BTreeMap::new();
    attributes.insert("customerTier".to_owned(), "gold".to_owned());
    NewGuest {
        given_name: given.into(),
        family_name: "Tester".into(),
        email: format!("{}@example.com", given.to_lowercase()),
        attributes,
    }
}

/// A verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

impl TestIdp {
    /// Stops the server and closes the pool, keeping the data dir for a reopen.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.server.abort();
        self.pool.close().await;
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    pub fn cookie_name(&self) -> &'static str {
        self.idp.session_cookie_name()
    }

    /// Creates a guest and opens its invitation: the guest and its session cookie value.
    pub async fn signed_in_guest(&self, given: &str) -> (Guest, String) {
        let (guest, invitation) = self
            .idp
            .create_guest(new_guest(given), "admin@test")
            .await
            .unwrap();
        let cookie = self
            .open_invitation(&invitation.url)
            .await
            .expect("invitation accepted");
        (guest, cookie)
    }

    /// Opens an invitation; the session cookie's value if one was set.
    pub async fn open_invitation(&self, url: &str) -> Option<String> {
        let r = self.http.post(url).send().await.unwrap();
        let prefix = format!("{}=", self.cookie_name());
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix(&prefix)
                    .map(|rest| rest.split(';').next().unwrap().to_owned())
            })
            .filter(|v| !v.is_empty())
    }

    /// `GET /authorize` with the session cookie (when given) and these parameters.
    pub async fn authorize(
        &self,
        cookie: Option<&str>,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut url = Url::parse(&self.url("/authorize")).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        let mut req = self.http.get(url);
        if let Some(c) = cookie {
            req = req.header("cookie", format!("{}={c}", self.cookie_name()));
        }
        req.send().await.unwrap()
    }

    /// A complete, valid authorization request's parameters (with this challenge).
    pub fn auth_params<'a>(&self, challenge: &'a str) -> Vec<(&'static str, &'a str)> {
        vec![
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid email profile offline_access"),
            ("state", "state-123"),
            ("nonce", "nonce-456"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]
    }

    /// Authorizes with defaults and returns the code and the verifier.
    pub async fn code(&self, cookie: &str) -> (String, String) {
        let (verifier, challenge) = pkce();
        let r = self
            .authorize(Some(cookie), &self.auth_params(&challenge))
            .await;
        assert_eq!(r.status(), 302, "authorize should redirect");
        let q = redirect_query(&r);
        assert_eq!(q.get("state").map(String::as_str), Some("state-123"));
        (q.get("code").expect("code").clone(), verifier)
    }

    /// `POST /token` with Basic client authentication and this form.
    pub async fn token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn redeem(&self, code: &str, verifier: &str) -> reqwest::Response {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// Signs in, authorizes and redeems: the token response JSON.
    pub async fn tokens(&self, cookie: &str) -> serde_json::Value {
        let (code, verifier) = self.code(cookie).await;
        let r = self.redeem(&code, &verifier).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    pub async fn userinfo(&self, access_token: &str) -> reqwest::Response {
        self.http
            .get(self.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }
}

/// The query of a redirect's `Location`, as a map.
pub fn redirect_query(r: &reqwest::Response) -> std::collections::HashMap<String, String> {
    let location = r
        .headers()
        .get("location")
        .expect("location")
        .to_str()
        .unwrap();
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The claims of a JWT, decoded without verification (for inspecting, not trusting).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn jwt_header(jwt: &str) -> serde_json::Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// Verifies an ID token with openidconnect (not jsonwebtoken) against the served JWKS:
/// signature, `iss`, `aud`, `exp` and, when given, the nonce. Returns the verified claims.
pub async fn verify_independently(
    t: &TestIdp,
    id_token: &str,
    nonce: Option<&str>,
) -> Result<openidconnect::core::CoreIdTokenClaims, String> {
    use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
    use openidconnect::{ClientId, IssuerUrl, JsonWebKeySetUrl, Nonce};
    use std::str::FromStr;
    let jwks_url = JsonWebKeySetUrl::new(t.url("/jwks")).unwrap();
    let jwks = CoreJsonWebKeySet::fetch_async(&jwks_url, &t.http)
        .await
        .map_err(|e| e.to_string())?;
    let verifier = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(CLIENT_ID.into()),
        openidconnect::ClientSecret::new(CLIENT_SECRET.into()),
        IssuerUrl::new(t.issuer.to_string()).unwrap(),
        jwks,
    );
    let token = CoreIdToken::from_str(id_token).map_err(|e| e.to_string())?;
    let claims = match nonce {
        Some(n) => token
            .claims(&verifier, &Nonce::new(n.into()))
            .map_err(|e| e.to_string())?
            .clone(),
        None => token
            .claims(&verifier, |_: Option<&Nonce>| Ok(()))
            .map_err(|e| e.to_string())?
            .clone(),
    };
    Ok(claims)
}
