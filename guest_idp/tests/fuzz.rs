//! Property tests (proptest) of every request the guest provider parses from outside: the
//! authorization request (any query, any cookie), the token request (any body, any
//! `Authorization`), userinfo (any bearer) and end-session (any query). Whatever arrives, the
//! answer is never a 5xx, an error is the protocol's JSON or page, and a redirect goes only to
//! a registered redirect URI or back to the provider itself (never an open redirect).
//! `PROPTEST_CASES` sets the case count (2,000 here by default; the README has a long run).

mod common;

use std::time::Duration;

use common::*;
use guest_idp::{Budget, RateLimits};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000)
}

/// Limits high enough that the properties meet the parsers, not the 429s.
fn generous() -> RateLimits {
    let lots = Budget {
        burst: 1_000_000,
        period: Duration::from_micros(1),
    };
    RateLimits {
        sign_in_per_address: lots,
        sign_in_per_client: lots,
        token_per_address: lots,
        token_per_client: lots,
    }
}

/// Parameter names the provider knows, and some it does not.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("response_type".to_string()),
        Just("client_id".to_string()),
        Just("redirect_uri".to_string()),
        Just("scope".to_string()),
        Just("state".to_string()),
        Just("nonce".to_string()),
        Just("code_challenge".to_string()),
        Just("code_challenge_method".to_string()),
        Just("prompt".to_string()),
        Just("max_age".to_string()),
        Just("grant_type".to_string()),
        Just("code".to_string()),
        Just("code_verifier".to_string()),
        Just("refresh_token".to_string()),
        Just("client_secret".to_string()),
        Just("id_token_hint".to_string()),
        Just("post_logout_redirect_uri".to_string()),
        "[a-z_]{1,12}",
        any::<String>(),
    ]
}

/// Values near the valid ones, and anything at all.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("code".to_string()),
        Just(CLIENT_ID.to_string()),
        Just(REDIRECT_URI.to_string()),
        Just("https://evil.example/callback".to_string()),
        Just("openid email profile offline_access".to_string()),
        Just("S256".to_string()),
        Just("plain".to_string()),
        Just("authorization_code".to_string()),
        Just("refresh_token".to_string()),
        Just(CLIENT_SECRET.to_string()),
        Just("none".to_string()),
        "[A-Za-z0-9_-]{0,64}",
        any::<String>(),
        proptest::collection::vec(any::<char>(), 4000..4200).prop_map(|c| c.into_iter().collect()),
    ]
}

fn form() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec((name(), value()), 0..12).prop_map(|pairs| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        }),
        1 => any::<String>(),
        1 => "[%&=+a-z0-9]{0,80}",
    ]
}

/// A valid authorization request with one parameter dropped, replaced or repeated, so that
/// the cases reach the checks past the first few.
fn mutated_authorize() -> impl Strategy<Value = String> {
    let valid = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid email profile"),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ];
    (0..valid.len(), 0..4u8, value()).prop_map(move |(at, how, replacement)| {
        let mut pairs: Vec<(String, String)> = valid
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match how {
            0 => {
                pairs.remove(at);
            }
            1 => pairs[at].1 = replacement,
            2 => pairs.push((pairs[at].0.clone(), replacement)),
            _ => {}
        }
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    })
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "Basic [A-Za-z0-9+/=]{0,60}",
        "Bearer [A-Za-z0-9._-]{0,80}",
        "[ -~]{0,120}",
    ]
}

/// Whether `location` stays on the provider or goes to a registered redirect URI.
fn safe_location(location: &str, issuer: &url::Url) -> bool {
    let Ok(url) = issuer.join(location) else {
        return false;
    };
    let registered = clients()
        .iter()
        .flat_map(|c| c.redirect_uris.clone())
        .any(|r| url.as_str().split(['?', '#']).next() == r.split('?').next());
    registered || url.origin() == issuer.origin()
}

/// The start of a long input, for failure messages.
fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

#[test]
fn no_request_to_the_provider_gets_a_5xx_or_an_open_redirect() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let idp = rt.block_on(start_with(|c| c.rate_limits = generous()));
    let (_guest, cookie) = rt.block_on(idp.signed_in_guest("Fuzz"));
    // A connection of its own for every request: a server that answers a request early and
    // closes the connection (as hyper does when a body is left unread) would otherwise fail
    // the next case's request on the reused connection, which is the client's race, not the
    // provider's answer.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        ..Config::default()
    });
    let strategy = (
        prop_oneof![form(), mutated_authorize()],
        form(),
        header_value(),
        prop_oneof![
            Just(None),
            Just(Some(cookie.clone())),
            "[ -~]{0,60}".prop_map(Some)
        ],
    );
    // How many cases got as far as a code for the registered redirect URI: the strategy must
    // reach the provider's deepest checks, not only its first refusals.
    let codes = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&strategy, |(query, body, authorization, session)| {
            rt.block_on(async {
                let issuer = &idp.issuer;
                let mut authorize = http.get(format!("{}?{query}", idp.url("/authorize")));
                if let Some(c) = &session {
                    authorize = authorize.header("cookie", format!("{}={c}", idp.cookie_name()));
                }
                let mut token = http
                    .post(idp.url("/token"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone());
                let mut userinfo = http.get(idp.url("/userinfo"));
                if !authorization.is_empty() {
                    token = token.header("authorization", &authorization);
                    userinfo = userinfo.header("authorization", &authorization);
                }
                let end_session = http.get(format!("{}?{query}", idp.url("/end-session")));
                for (what, request) in [
                    ("authorize", authorize),
                    ("token", token),
                    ("userinfo", userinfo),
                    ("end-session", end_session),
                ] {
                    let r = match request.send().await {
                        // A URL too long for an HTTP request line never reaches a server.
                        Err(e) if e.is_builder() => continue,
                        r => r.expect("the provider answers"),
                    };
                    let status = r.status();
                    prop_assert!(
                        status.as_u16() < 500,
                        "{what}: {status} for {query:?} / {body:?}"
                    );
                    if status.is_redirection() {
                        let location = r
                            .headers()
                            .get("location")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        if location.starts_with(REDIRECT_URI) && location.contains("code=") {
                            codes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        prop_assert!(
                            safe_location(&location, issuer),
                            "{what} redirected to {} for {}",
                            short(&location),
                            short(&query)
                        );
                    }
                    if what == "token" && status.is_client_error() && status.as_u16() != 429 {
                        let json: serde_json::Value = r.json().await.expect("a JSON error");
                        prop_assert!(json["error"].is_string(), "{json}");
                    }
                }
                Ok(())
            })
        })
        .unwrap();
    assert!(codes.into_inner() > 0, "no case reached a code");
}
