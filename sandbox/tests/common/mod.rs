//! Helpers for driving a sandbox over HTTP the way a browser and an app would.
#![allow(dead_code)]

use genesys::PkceChallenge;
use reqwest::{redirect, Client, Response, StatusCode};
use sandbox::test_support::SignInScript;
use sandbox::{
    RunningSandbox, SandboxConfig, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, WEB_CLIENT_ID,
    WEB_CLIENT_SECRET,
};
use serde_json::Value;
use url::Url;

pub const REDIRECT: &str = "http://127.0.0.1:3000/auth/callback";
pub const WEB: (&str, &str) = (WEB_CLIENT_ID, WEB_CLIENT_SECRET);
pub const SERVICE: (&str, &str) = (SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET);
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct Harness {
    pub sandbox: RunningSandbox,
    pub http: Client,
    pub base: Url,
}

/// The tests' client: redirects off, and the admin header on every request (the tests of
/// the admin guard build their requests without it).
pub fn http() -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        sandbox::ADMIN_HEADER,
        reqwest::header::HeaderValue::from_static("1"),
    );
    Client::builder()
        .redirect(redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

pub async fn start(config: SandboxConfig) -> Harness {
    let sandbox = sandbox::spawn(config).await.expect("sandbox starts");
    let base = sandbox.base_url();
    Harness {
        sandbox,
        http: http(),
        base,
    }
}

pub async fn start_default() -> Harness {
    start(SandboxConfig {
        users: 300,
        ..Default::default()
    })
    .await
}

pub fn challenge_of(verifier: &str) -> String {
    PkceChallenge::s256_of(verifier)
}

/// The value of `<input ... name="NAME" value="...">` (first occurrence).
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// Every `value` of the radio buttons named `user`, in page order.
pub fn user_choices(html: &str) -> Vec<String> {
    let marker = "name=\"user\" value=\"";
    html.match_indices(marker)
        .map(|(i, _)| {
            let start = i + marker.len();
            let end = html[start..].find('"').unwrap() + start;
            html[start..end].to_string()
        })
        .collect()
}

pub fn query_of(location: &str) -> Vec<(String, String)> {
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn param(location: &str, key: &str) -> Option<String> {
    query_of(location)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

pub fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_string()
}

impl Harness {
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }

    /// The `/oauth/authorize` URL with the given extra parameters.
    pub fn authorize_url(&self, client_id: &str, extra: &[(&str, &str)]) -> Url {
        let mut url = self.url("/oauth/authorize");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", client_id);
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        url
    }

    /// `GET /oauth/authorize` with the given extra parameters.
    pub async fn authorize(&self, client_id: &str, extra: &[(&str, &str)]) -> Response {
        let url = self.authorize_url(client_id, extra);
        self.http.get(url).send().await.unwrap()
    }

    /// The authorize URL of a sign-in to `REDIRECT` with `state` (and S256 `challenge`).
    pub fn sign_in_url(&self, client_id: &str, challenge: Option<&str>, state: &str) -> Url {
        let mut extra = vec![("redirect_uri", REDIRECT), ("state", state)];
        if let Some(c) = challenge {
            extra.push(("code_challenge", c));
            extra.push(("code_challenge_method", "S256"));
        }
        self.authorize_url(client_id, &extra)
    }

    /// Opens the sign-in page and returns (pending id, html).
    pub async fn sign_in_page(
        &self,
        client_id: &str,
        challenge: Option<&str>,
        state: &str,
    ) -> (String, String) {
        let url = self.sign_in_url(client_id, challenge, state);
        let r = self.http.get(url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "the sign-in page shows");
        let html = r.text().await.unwrap();
        (input_value(&html, "pending").expect("a pending id"), html)
    }

    pub async fn decide(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/oauth/authorize"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Signs the first offered user in and returns the code.
    pub async fn code_for(&self, client_id: &str, challenge: Option<&str>) -> String {
        let callback = SignInScript::new(&self.http)
            .run(self.sign_in_url(client_id, challenge, "st4te"))
            .await
            .expect("the sign-in page is answered with a redirect");
        assert!(callback.location().as_str().starts_with(REDIRECT));
        assert_eq!(callback.state().as_deref(), Some("st4te"));
        callback.code().expect("a code")
    }

    pub async fn token(&self, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Response {
        let mut req = self.http.post(self.url("/oauth/token")).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        req.send().await.unwrap()
    }

    /// A confidential-client sign-in: (access, refresh).
    pub async fn web_tokens(&self) -> (String, String) {
        let code = self.code_for(WEB.0, Some(CHALLENGE)).await;
        let r = self
            .token(
                Some(WEB),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        (
            v["access_token"].as_str().unwrap().into(),
            v["refresh_token"].as_str().unwrap().into(),
        )
    }

    /// A PKCE (public client) sign-in's access token.
    pub async fn pkce_token(&self, client_id: &str) -> String {
        let code = self.code_for(client_id, Some(CHALLENGE)).await;
        self.pkce_exchange(client_id, &code).await
    }

    /// A public client's access token for `code` (its authorize request sent `CHALLENGE`).
    pub async fn pkce_exchange(&self, client_id: &str, code: &str) -> String {
        let r = self
            .token(
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                    ("client_id", client_id),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().into()
    }

    pub async fn service_token(&self) -> String {
        let r = self
            .token(Some(SERVICE), &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().into()
    }

    /// `GET path` on the sandbox, its JSON body (the admin header rides on every request).
    pub async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn api(&self, token: Option<&str>, path_and_query: &str) -> Response {
        let mut req = self.http.get(self.url(path_and_query));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }
}

/// Asserts a Genesys API error body with `status` and returns it.
pub async fn api_error(r: Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert!(r.headers().contains_key("inin-correlation-id"));
    let correlation = r.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_string();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], status);
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(v["code"].is_string(), "{v}");
    assert_eq!(v["contextId"], correlation.as_str());
    assert!(v["details"].is_array() && v["errors"].is_array());
    v
}

/// Asserts an RFC 6749 §5.2 error with Genesys' fields and returns the `error` code.
pub async fn token_error(r: Response, status: u16) -> String {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: Value = r.json().await.unwrap();
    assert!(
        v["description"].is_string() && v["error_description"].is_string(),
        "{v}"
    );
    v["error"].as_str().unwrap().to_string()
}
