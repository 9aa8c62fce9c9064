//! Property tests (proptest) of everything the client reads from Genesys, or from whatever
//! answers in its place: token endpoint answers (success and error), API error answers with
//! any status, headers and body, `nextUri` links, and the wire types' JSON. No answer panics,
//! a token is never quoted in an error, every error keeps its status, and no link leads the
//! bearer token off the api host. `PROPTEST_CASES` sets the case count (2,000 by default).

use std::time::{Duration, Instant};

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::api::{ApiError, RateLimitInfo};
use crate::oauth::{parse_token_response, OAuthError};
use crate::wire::{TokenInfo, User, UserEntityListing, UsersSearchResponse};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000)
}

/// Any JSON, a few levels deep, with the keys Genesys' answers use among random ones.
fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-z0-9-]{0,40}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        Just("entities".to_string()),
        Just("id".to_string()),
        Just("name".to_string()),
        Just("state".to_string()),
        Just("email".to_string()),
        Just("pageNumber".to_string()),
        Just("pageSize".to_string()),
        Just("pageCount".to_string()),
        Just("total".to_string()),
        Just("nextUri".to_string()),
        Just("results".to_string()),
        Just("organization".to_string()),
        Just("OAuthClient".to_string()),
        Just("authorizedScope".to_string()),
        Just("message".to_string()),
        Just("code".to_string()),
        Just("contextId".to_string()),
        "[a-zA-Z]{1,12}",
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bytes an answer's body may hold: JSON, JSON-like text, or anything.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        "[{}\\[\\]\":,a-z0-9 ]{0,80}".prop_map(String::into_bytes),
        any::<Vec<u8>>(),
    ]
}

/// Headers Genesys sends (rate limits, correlation, `Retry-After`) with any printable value.
fn headers() -> impl Strategy<Value = HeaderMap> {
    let name = prop_oneof![
        Just("retry-after"),
        Just("inin-correlation-id"),
        Just("inin-ratelimit-allowed"),
        Just("inin-ratelimit-count"),
        Just("inin-ratelimit-reset"),
        Just("content-type"),
    ];
    proptest::collection::vec((name, "[ -~]{0,40}"), 0..6).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(&value) {
                map.append(HeaderName::from_static(name), value);
            }
        }
        map
    })
}

/// `nextUri` values: paths, absolute URLs on other hosts and schemes, tricks.
fn link() -> impl Strategy<Value = String> {
    prop_oneof![
        "/api/v2/users\\?pageNumber=[0-9]{1,4}",
        "(https?|ftp|javascript|file)://[a-z.@:0-9]{1,30}/[a-z/]{0,20}",
        "//[a-z.]{1,20}/api/v2/users",
        "[\\\\/@:.a-z%0-9]{0,40}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Any token endpoint success body parses strictly or fails with a reason that never
    /// quotes the token; a parsed set expires in 1 s to a year.
    #[test]
    fn any_token_answer_parses_strictly_and_never_quotes_the_token(
        token in "[A-Za-z0-9_-]{24,40}",
        other in proptest::collection::btree_map(
            prop_oneof![
                Just("token_type".to_string()),
                Just("expires_in".to_string()),
                Just("refresh_token".to_string()),
                Just("scope".to_string()),
                "[a-z_]{1,10}",
            ],
            json(),
            0..5,
        ),
        junk in body(),
        well_formed in any::<bool>(),
        expires_in in prop_oneof![any::<i64>(), 0i64..100_000_000],
    ) {
        let mut object = serde_json::Map::new();
        object.insert("access_token".into(), token.clone().into());
        if well_formed {
            object.insert("token_type".into(), "bearer".into());
            object.insert("expires_in".into(), expires_in.into());
        }
        for (k, v) in other {
            object.insert(k, v);
        }
        for body in [serde_json::to_vec(&object).unwrap(), junk] {
            match parse_token_response(&body, Instant::now()) {
                Ok(set) => prop_assert!(
                    (Duration::from_secs(1)..=Duration::from_secs(365 * 24 * 3600)).contains(&set.expires_in)
                ),
                Err(e) => {
                    prop_assert!(!e.to_string().contains(&token));
                    let debug = format!("{e:?}");
                    prop_assert!(!debug.contains(&token));
                }
            }
        }
    }

    /// Any error answer of the token endpoint keeps its status.
    #[test]
    fn any_token_error_answer_keeps_its_status(status in 300u16..600, body in body()) {
        let e = OAuthError::from_status(status, &body);
        prop_assert_eq!(e.status(), Some(status));
        prop_assert!(!e.to_string().is_empty());
    }

    /// Any API error answer becomes the error of its status, whatever its headers and body.
    #[test]
    fn any_api_error_answer_keeps_its_status(status in 300u16..600, headers in headers(), body in body()) {
        let e = ApiError::from_status(status, &headers, &body, None);
        prop_assert_eq!(e.status(), Some(status));
        prop_assert!(!e.to_string().is_empty());
        let _ = RateLimitInfo::from_headers(&headers);
    }

    /// A `nextUri` is only ever followed on the api host (where the bearer token may go).
    #[test]
    fn no_next_link_leaves_the_api_host(link in link()) {
        let client = crate::client::tests::client();
        if let Ok(url) = client.resolve_link(&link) {
            prop_assert_eq!(url.origin().ascii_serialization(), "https://api.example.com");
        }
    }

    /// Any JSON decodes into the wire types or fails: no panic, whatever the shape.
    #[test]
    fn any_json_decodes_into_the_wire_types_or_fails(value in json(), raw in body()) {
        for bytes in [serde_json::to_vec(&value).unwrap(), raw] {
            let _ = serde_json::from_slice::<UserEntityListing>(&bytes);
            let _ = serde_json::from_slice::<UsersSearchResponse>(&bytes);
            let _ = serde_json::from_slice::<User>(&bytes);
            let _ = serde_json::from_slice::<TokenInfo>(&bytes);
        }
    }
}
