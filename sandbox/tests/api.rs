//! The API host from the outside: bearer and scope checks, the users and tokens endpoints,
//! paging, search, rate limits, faults, the admin endpoint and persistence.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use genesys::{TokenInfo, User, UserEntityListing, UsersSearchResponse};
use reqwest::StatusCode;
use sandbox::{SandboxConfig, LIMITED_CLIENT_ID, PKCE_CLIENT_ID, SERVICE_CLIENT_ID};
use serde_json::{json, Value};

#[tokio::test]
async fn bearer_tokens_are_checked() {
    let h = start_default().await;
    let v = api_error(h.api(None, "/api/v2/users/me").await, 401).await;
    assert_eq!(v["code"], "authentication.required");
    let v = api_error(h.api(Some("made-up-token"), "/api/v2/users").await, 401).await;
    assert_eq!(v["code"], "bad.credentials");
    let r = h
        .http
        .get(h.url("/api/v2/users"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    api_error(r, 401).await;

    // Expired.
    let token = h.pkce_token(PKCE_CLIENT_ID).await;
    assert_eq!(
        h.api(Some(&token), "/api/v2/users/me").await.status(),
        StatusCode::OK
    );
    h.sandbox.expire_tokens();
    let v = api_error(h.api(Some(&token), "/api/v2/users/me").await, 401).await;
    assert_eq!(
        v["code"], "credentials.expired",
        "Genesys' code for an expired token"
    );

    // Revoked with DELETE /api/v2/tokens/me; other tokens are untouched.
    let a = h.pkce_token(PKCE_CLIENT_ID).await;
    let b = h.service_token().await;
    let r = h
        .http
        .delete(h.url("/api/v2/tokens/me"))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    api_error(h.api(Some(&a), "/api/v2/tokens/me").await, 401).await;
    assert_eq!(
        h.api(Some(&b), "/api/v2/tokens/me").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn scopes_are_checked_per_endpoint() {
    let h = start_default().await;
    let limited = h.pkce_token(LIMITED_CLIENT_ID).await;
    assert_eq!(
        h.api(Some(&limited), "/api/v2/users/me").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        h.api(Some(&limited), "/api/v2/tokens/me").await.status(),
        StatusCode::OK
    );
    let v = api_error(h.api(Some(&limited), "/api/v2/users").await, 403).await;
    assert!(
        v["message"].as_str().unwrap().contains("users:readonly"),
        "{v}"
    );
    let me: User = h
        .api(Some(&limited), "/api/v2/users/me")
        .await
        .json()
        .await
        .unwrap();
    api_error(
        h.api(Some(&limited), &format!("/api/v2/users/{}", me.id))
            .await,
        403,
    )
    .await;
    let r = h
        .http
        .post(h.url("/api/v2/users/search"))
        .bearer_auth(&limited)
        .json(&json!({"pageSize": 25, "pageNumber": 1, "query": [{"type": "CONTAINS", "fields": ["name"], "value": "a"}]}))
        .send()
        .await
        .unwrap();
    api_error(r, 403).await;
}

#[tokio::test]
async fn users_me_for_users_and_client_credentials() {
    let h = start_default().await;
    let token = h.pkce_token(PKCE_CLIENT_ID).await;
    let me: User = h
        .api(Some(&token), "/api/v2/users/me")
        .await
        .json()
        .await
        .unwrap();
    assert!(me.presence.is_none());
    assert_eq!(
        me.self_uri.as_deref(),
        Some(format!("/api/v2/users/{}", me.id).as_str())
    );
    let me: User = h
        .api(Some(&token), "/api/v2/users/me?expand=presence")
        .await
        .json()
        .await
        .unwrap();
    assert!(me.presence.is_some());

    let service = h.service_token().await;
    let v = api_error(h.api(Some(&service), "/api/v2/users/me").await, 401).await;
    assert!(v["message"].as_str().unwrap().contains("user context"));
}

#[tokio::test]
async fn listing_has_the_exact_shape_and_uris() {
    let h = start_default().await;
    let token = h.service_token().await;
    let r = h
        .api(Some(&token), "/api/v2/users?pageSize=25&pageNumber=2")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let raw: Value = r.json().await.unwrap();
    for key in [
        "entities",
        "pageSize",
        "pageNumber",
        "total",
        "pageCount",
        "firstUri",
        "selfUri",
        "previousUri",
        "nextUri",
        "lastUri",
    ] {
        assert!(raw.get(key).is_some(), "{key} missing: {raw}");
    }
    let l: UserEntityListing = serde_json::from_value(raw).unwrap();
    assert_eq!((l.page_size, l.page_number, l.entities.len()), (25, 2, 25));
    assert_eq!(
        l.first_uri.as_deref(),
        Some("/api/v2/users?pageSize=25&pageNumber=1")
    );
    assert_eq!(
        l.self_uri.as_deref(),
        Some("/api/v2/users?pageSize=25&pageNumber=2")
    );
    assert_eq!(
        l.previous_uri.as_deref(),
        Some("/api/v2/users?pageSize=25&pageNumber=1")
    );
    assert_eq!(
        l.next_uri.as_deref(),
        Some("/api/v2/users?pageSize=25&pageNumber=3")
    );
    assert_eq!(l.page_count as u64, l.total.div_ceil(25));
    assert_eq!(
        l.last_uri,
        Some(format!(
            "/api/v2/users?pageSize=25&pageNumber={}",
            l.page_count
        ))
    );
    assert!(l
        .entities
        .iter()
        .all(|u| u.state == Some(genesys::UserState::Active)));
    let u = &l.entities[0];
    assert!(
        u.email.is_some() && u.username.is_some() && u.title.is_some() && u.department.is_some()
    );
    assert!(
        u.division.as_ref().unwrap().name.is_some() && u.version.is_some() && u.presence.is_none()
    );

    // Defaults: pageSize 25, pageNumber 1, no previousUri on the first page.
    let l: UserEntityListing = h
        .api(Some(&token), "/api/v2/users")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((l.page_size, l.page_number), (25, 1));
    assert!(l.previous_uri.is_none());
}

#[tokio::test]
async fn page_size_bounds_and_bad_parameters_are_400s() {
    let h = start_default().await;
    let token = h.service_token().await;
    for q in [
        "pageSize=0",
        "pageSize=501",
        "pageSize=abc",
        "pageNumber=0",
        "sortOrder=sideways",
        "state=asleep",
    ] {
        let v = api_error(
            h.api(Some(&token), &format!("/api/v2/users?{q}")).await,
            400,
        )
        .await;
        assert_eq!(v["code"], "bad.request", "{q}");
    }
    let l: UserEntityListing = h
        .api(Some(&token), "/api/v2/users?pageSize=500&state=any")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(l.entities.len(), 300);
    assert!(l.next_uri.is_none());
    let l: UserEntityListing = h
        .api(Some(&token), "/api/v2/users?pageSize=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(l.entities.len(), 1);
}

#[tokio::test]
async fn following_next_uri_walks_every_user_once_in_name_order() {
    let h = start(SandboxConfig {
        users: 1_250,
        ..Default::default()
    })
    .await;
    let token = h.service_token().await;
    let mut next = Some("/api/v2/users?pageSize=100&state=any&expand=presence".to_string());
    let mut seen = Vec::new();
    let mut total = 0;
    while let Some(path) = next {
        let l: UserEntityListing = h.api(Some(&token), &path).await.json().await.unwrap();
        total = l.total;
        assert!(
            l.entities.iter().all(|u| u.presence.is_some()),
            "expand carries over"
        );
        seen.extend(
            l.entities
                .into_iter()
                .map(|u| (u.name.to_lowercase(), u.id)),
        );
        next = l.next_uri;
    }
    assert_eq!(total, 1_250);
    assert_eq!(seen.len(), 1_250);
    assert_eq!(
        seen.iter().map(|(_, id)| id).collect::<HashSet<_>>().len(),
        1_250
    );
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));

    // Descending is the reverse.
    let asc: UserEntityListing = h
        .api(Some(&token), "/api/v2/users?pageSize=500&state=any")
        .await
        .json()
        .await
        .unwrap();
    let desc: UserEntityListing = h
        .api(
            Some(&token),
            "/api/v2/users?pageSize=500&state=any&sortOrder=descending&pageNumber=3",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(desc.entities.last().unwrap().id, asc.entities[0].id);
    assert!(desc.self_uri.unwrap().contains("sortOrder=descending"));
}

#[tokio::test]
async fn state_filters_id_filter_and_get_user() {
    let h = start(SandboxConfig {
        users: 1_000,
        ..Default::default()
    })
    .await;
    let token = h.service_token().await;
    let mut totals = 0;
    for state in ["active", "inactive", "deleted"] {
        let l: UserEntityListing = h
            .api(
                Some(&token),
                &format!("/api/v2/users?state={state}&pageSize=500"),
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(l.total > 0, "{state}");
        assert!(l
            .entities
            .iter()
            .all(|u| u.state.map(|s| s.as_str()) == Some(state)));
        totals += l.total;
    }
    let any: UserEntityListing = h
        .api(Some(&token), "/api/v2/users?state=any&pageSize=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(any.total, totals);
    assert_eq!(totals, 1_000);

    let deleted: UserEntityListing = h
        .api(Some(&token), "/api/v2/users?state=deleted&pageSize=2")
        .await
        .json()
        .await
        .unwrap();
    let active: UserEntityListing = h
        .api(Some(&token), "/api/v2/users?pageSize=3")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = active.entities.iter().map(|u| u.id.as_str()).collect();
    let l: UserEntityListing = h
        .api(
            Some(&token),
            &format!(
                "/api/v2/users?id={}&id={}&id={}",
                ids[2], ids[0], deleted.entities[0].id
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(l.total, 2, "state=active by default");
    assert_eq!(l.entities[0].id, ids[0]);
    let l: UserEntityListing = h
        .api(
            Some(&token),
            &format!(
                "/api/v2/users?id={},{}&state=any",
                ids[1], deleted.entities[0].id
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(l.total, 2);

    let u: User = h
        .api(
            Some(&token),
            &format!("/api/v2/users/{}?expand=presence", ids[0]),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        u,
        User {
            presence: u.presence.clone(),
            ..active.entities[0].clone()
        }
    );
    assert!(u.presence.unwrap().system_presence().unwrap().len() > 2);
    api_error(
        h.api(
            Some(&token),
            &format!("/api/v2/users/{}", deleted.entities[0].id),
        )
        .await,
        404,
    )
    .await;
    let d: User = h
        .api(
            Some(&token),
            &format!("/api/v2/users/{}?state=deleted", deleted.entities[0].id),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d.id, deleted.entities[0].id);
    api_error(h.api(Some(&token), "/api/v2/users/not-a-uuid").await, 404).await;
    api_error(h.api(Some(&token), "/api/v2/nothing/here").await, 404).await;
}

async fn search(h: &Harness, token: &str, body: Value) -> reqwest::Response {
    h.http
        .post(h.url("/api/v2/users/search"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Every query type and operator Genesys documents, checked against the whole org: each
/// answer is exactly the users the rule selects, computed here from a full listing.
#[tokio::test]
async fn every_search_type_and_operator_selects_what_genesys_documents() {
    let h = start_default().await;
    let token = h.service_token().await;
    let mut active: Vec<User> = Vec::new();
    for page in 1.. {
        let listing: UserEntityListing = h
            .api(
                Some(&token),
                &format!("/api/v2/users?pageSize=500&pageNumber={page}&state=any"),
            )
            .await
            .json()
            .await
            .unwrap();
        // A search finds every user but the deleted ones (unless it asks for a state).
        active.extend(
            listing
                .entities
                .into_iter()
                .filter(|u| u.state != Some(genesys::UserState::Deleted)),
        );
        if page >= listing.page_count {
            break;
        }
    }
    let ids = |body: Value| {
        let h = &h;
        let token = token.clone();
        async move {
            let mut found = Vec::new();
            let mut body = body;
            body["pageSize"] = json!(100);
            for page in 1.. {
                body["pageNumber"] = json!(page);
                let r = search(h, &token, body.clone()).await;
                assert_eq!(r.status(), StatusCode::OK, "{body}");
                let s: UsersSearchResponse = r.json().await.unwrap();
                found.extend(s.results.into_iter().map(|u| u.id));
                if page >= s.page_count {
                    break;
                }
            }
            found.sort();
            found
        }
    };
    let expect = |keep: &dyn Fn(&User) -> bool| {
        let mut v: Vec<String> = active
            .iter()
            .filter(|u| keep(u))
            .map(|u| u.id.clone())
            .collect();
        v.sort();
        v
    };
    let words = |s: &str| -> Vec<String> {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let name = |u: &User| u.name.to_lowercase();
    // A surname that is a whole word of several names, and a fragment of it that is none.
    let surname = words(&active[3].name).last().unwrap().clone();
    let fragment: String = surname.chars().take(surname.chars().count() - 1).collect();

    let term =
        ids(json!({"query": [{"type": "TERM", "fields": ["name"], "value": surname}]})).await;
    assert_eq!(term, expect(&|u| words(&u.name).contains(&surname)));
    assert!(!term.is_empty());
    let not_a_word =
        ids(json!({"query": [{"type": "TERM", "fields": ["name"], "value": fragment}]})).await;
    assert_eq!(
        not_a_word,
        expect(&|u| words(&u.name).contains(&fragment)),
        "TERM is a whole word"
    );
    let contains =
        ids(json!({"query": [{"type": "CONTAINS", "fields": ["name"], "value": fragment}]})).await;
    assert_eq!(contains, expect(&|u| name(u).contains(&fragment)));
    assert!(contains.len() > not_a_word.len());

    let other = words(&active[7].name)[0].clone();
    let terms =
        ids(json!({"query": [{"type": "TERMS", "fields": ["name"], "values": [surname, other]}]}))
            .await;
    assert_eq!(
        terms,
        expect(&|u| {
            let w = words(&u.name);
            w.contains(&surname) || w.contains(&other)
        })
    );

    let all = ids(json!({"query": [{"type": "MATCH_ALL"}]})).await;
    assert_eq!(all, expect(&|_| true), "MATCH_ALL: every user not deleted");
    let required =
        ids(json!({"query": [{"type": "REQUIRED_FIELDS", "fields": ["name", "email"]}]})).await;
    assert_eq!(required, all);

    let range = ids(json!({"query": [{"type": "RANGE", "fields": ["name"], "startValue": "b", "endValue": "d"}]})).await;
    assert_eq!(
        range,
        expect(&|u| ("b".to_string()..="d".to_string()).contains(&name(u)))
    );
    let less =
        ids(json!({"query": [{"type": "LESS_THAN", "fields": ["name"], "value": "c"}]})).await;
    assert_eq!(less, expect(&|u| name(u).as_str() < "c"));
    let greater =
        ids(json!({"query": [{"type": "GREATER_THAN", "fields": ["name"], "value": "t"}]})).await;
    assert_eq!(greater, expect(&|u| name(u).as_str() > "t"));
    assert!(!less.is_empty() && !greater.is_empty());

    // OR: either id; NOT: everyone but one; a group: (either id) AND NOT the first.
    let (a, b) = (active[1].id.clone(), active[2].id.clone());
    let either = ids(json!({"query": [
        {"type": "EXACT", "fields": ["id"], "value": a, "operator": "OR"},
        {"type": "EXACT", "fields": ["id"], "value": b, "operator": "OR"}]}))
    .await;
    assert_eq!(either, expect(&|u| u.id == a || u.id == b));
    let but_one = ids(json!({"query": [
        {"type": "MATCH_ALL"},
        {"type": "EXACT", "fields": ["id"], "value": a, "operator": "NOT"}]}))
    .await;
    assert_eq!(but_one, expect(&|u| u.id != a));
    let grouped = ids(json!({"query": [
        {"group": [
            {"type": "EXACT", "fields": ["id"], "value": a, "operator": "OR"},
            {"type": "EXACT", "fields": ["id"], "value": b, "operator": "OR"}]},
        {"type": "EXACT", "fields": ["id"], "value": a, "operator": "NOT"}]}))
    .await;
    assert_eq!(grouped, vec![b.clone()]);

    // Defaults and refusals.
    let r = search(&h, &token, json!({"query": [{"type": "MATCH_ALL"}]})).await;
    let s: UsersSearchResponse = r.json().await.unwrap();
    assert_eq!(
        (s.page_size, s.page_number),
        (25, 1),
        "pageSize and pageNumber default to 25 and 1"
    );
    for (bad, says) in [
        (json!({"query": []}), "at least one criterion"),
        (
            json!({"query": [{"type": "TERM", "fields": ["name"]}]}),
            "needs a value",
        ),
        (
            json!({"query": [{"type": "CONTAINS", "value": "a"}]}),
            "needs its fields",
        ),
        (
            json!({"query": [{"type": "RANGE", "fields": ["name"]}]}),
            "startValue",
        ),
        (
            json!({"query": [{"type": "DATE_RANGE", "fields": ["name"], "startValue": "2020-01-01"}]}),
            "not a user search type",
        ),
        (
            json!({"query": [{"type": "MATCH_ALL", "operator": "XOR"}]}),
            "AND, OR or NOT",
        ),
        (
            json!({"query": [{"type": "EXACT", "fields": ["id"], "value": "x", "group": [{"type": "MATCH_ALL"}]}]}),
            "group",
        ),
    ] {
        let error = api_error(search(&h, &token, bad.clone()).await, 400).await;
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{bad}: {error}"
        );
    }
}

#[tokio::test]
async fn user_search() {
    let h = start(SandboxConfig {
        users: 2_000,
        ..Default::default()
    })
    .await;
    let token = h.service_token().await;
    let r = search(&h, &token, json!({"pageSize": 5, "pageNumber": 1, "query": [{"type": "EXACT", "fields": ["email"], "value": "taro.yamada@sandbox.example.com"}]})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let s: UsersSearchResponse = r.json().await.unwrap();
    assert_eq!(s.total, 1);
    assert_eq!(s.results[0].name, "山田 太郎");
    assert_eq!(s.types, vec!["users"]);

    let s: UsersSearchResponse = search(&h, &token, json!({"pageSize": 10, "pageNumber": 1, "query": [{"type": "STARTS_WITH", "fields": ["name"], "value": "ana"}]}))
        .await
        .json()
        .await
        .unwrap();
    assert!(s.total > 0);
    assert!(s.results.iter().all(|u| u
        .name
        .to_lowercase()
        .split(' ')
        .any(|w| w.starts_with("ana"))));

    let s: UsersSearchResponse = search(&h, &token, json!({"pageSize": 25, "pageNumber": 1, "sortOrder": "DESC", "query": [{"type": "CONTAINS", "fields": ["name", "email"], "value": "silva"}], "expand": ["presence"]}))
        .await
        .json()
        .await
        .unwrap();
    assert!(s.total > 25, "{}", s.total);
    assert!(s.results.iter().all(|u| u.presence.is_some()));
    let names: Vec<String> = s.results.iter().map(|u| u.name.to_lowercase()).collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]));
    assert!(s.previous_page.is_none());

    use base64::Engine as _;
    // Genesys' paging links carry the search gzipped, in base64url (`H4sI` is gzip's magic).
    let next_link = s.next_page.clone().unwrap();
    assert!(
        next_link.starts_with("/api/v2/users/search?q64=H4sI"),
        "{next_link}"
    );
    let plain = base64::engine::general_purpose::URL_SAFE
        .encode(br#"{"pageSize":25,"pageNumber":2,"query":[]}"#);
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut bomb, &vec![b' '; 4 << 20]).unwrap();
    let bomb = base64::engine::general_purpose::URL_SAFE.encode(bomb.finish().unwrap());
    for (q64, says) in [
        (plain.as_str(), "not a gzipped search"),
        (bomb.as_str(), "too large"),
        ("%%%", "not base64"),
    ] {
        let r = h
            .api(Some(&token), &format!("/api/v2/users/search?q64={q64}"))
            .await;
        let error = api_error(r, 400).await;
        assert!(error["message"].as_str().unwrap().contains(says), "{error}");
    }

    // Follow nextPage to the end.
    let mut seen = s.results.len();
    let mut next = s.next_page;
    while let Some(link) = next {
        let page: UsersSearchResponse = h.api(Some(&token), &link).await.json().await.unwrap();
        seen += page.results.len();
        next = page.next_page;
    }
    assert_eq!(seen as u64, s.total);

    let s: UsersSearchResponse = search(&h, &token, json!({"pageSize": 25, "pageNumber": 1, "query": [{"type": "QUERY_STRING", "value": "zoë ångström"}]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s.total, 1);

    let s: UsersSearchResponse = search(&h, &token, json!({"pageSize": 25, "pageNumber": 1, "query": [{"type": "EXACT", "fields": ["state"], "value": "deleted"}]}))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        s.total > 0
            && s.results
                .iter()
                .all(|u| u.state == Some(genesys::UserState::Deleted))
    );

    for bad in [
        json!({"pageSize": 0, "pageNumber": 1, "query": []}),
        json!({"pageSize": 101, "pageNumber": 1, "query": []}),
        json!({"pageSize": 10, "pageNumber": 1, "query": [{"type": "FUZZY", "fields": ["name"], "value": "a"}]}),
        json!({"pageSize": 10, "pageNumber": 1, "query": [{"type": "EXACT", "fields": ["password"], "value": "a"}]}),
        json!({"pageSize": 10}),
    ] {
        api_error(search(&h, &token, bad).await, 400).await;
    }

    // A search spells its order ASC, DESC or SCORE; a listing's spelling (which the client
    // once sent) and any other value are refused with Genesys' error body.
    let criterion = json!([{"type": "CONTAINS", "fields": ["name"], "value": "silva"}]);
    for bad in [
        json!("ascending"),
        json!("descending"),
        json!("asc"),
        json!("Desc"),
        json!(1),
    ] {
        let body = json!({"pageSize": 10, "pageNumber": 1, "sortOrder": bad, "query": criterion});
        let error = api_error(search(&h, &token, body).await, 400).await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("sortOrder"), "{message}");
        assert!(message.contains("ASC, DESC, SCORE"), "{message}");
    }
    let mut by_order = Vec::new();
    for order in ["ASC", "SCORE", "DESC"] {
        let body =
            json!({"pageSize": 100, "pageNumber": 1, "sortOrder": order, "query": criterion});
        let found: UsersSearchResponse = search(&h, &token, body).await.json().await.unwrap();
        by_order.push(found.results.into_iter().map(|u| u.id).collect::<Vec<_>>());
    }
    assert!(!by_order[0].is_empty());
    assert_eq!(
        by_order[0], by_order[1],
        "SCORE: every match scores alike, name order"
    );
    let mut reversed = by_order[2].clone();
    reversed.reverse();
    assert_eq!(by_order[0], reversed, "DESC is ASC reversed");
}

#[tokio::test]
async fn tokens_me_describes_the_token() {
    let h = start_default().await;
    let token = h.pkce_token(PKCE_CLIENT_ID).await;
    let r = h.api(Some(&token), "/api/v2/tokens/me").await;
    let raw: Value = r.json().await.unwrap();
    assert!(raw.get("OAuthClient").is_some(), "{raw}");
    // Genesys' NamedEntity and OrgOAuthClient have no selfUri (the Python SDK's models say so).
    for path in [
        "/organization/selfUri",
        "/homeOrganization/selfUri",
        "/OAuthClient/selfUri",
    ] {
        assert!(raw.pointer(path).is_none(), "{path} in {raw}");
    }
    let info: TokenInfo = serde_json::from_value(raw).unwrap();
    assert_eq!(info.client_id(), Some(PKCE_CLIENT_ID));
    let client = info.oauth_client.clone().unwrap();
    assert_eq!(client.authorized_grant_type.as_deref(), Some("CODE"));
    assert_eq!(client.state.as_deref(), Some("active"));
    assert!(!client.scope.is_empty());
    assert!(client.organization.and_then(|o| o.name).is_some());
    assert_eq!(
        info.authorized_scope,
        vec![
            "users:readonly",
            "user-basic-info",
            "conversations:readonly"
        ]
    );
    assert!(info.home_organization.is_some());
    let service = h.service_token().await;
    let info: TokenInfo = h
        .api(Some(&service), "/api/v2/tokens/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info.client_id(), Some(SERVICE_CLIENT_ID));
    assert_eq!(
        info.oauth_client.unwrap().authorized_grant_type.as_deref(),
        Some("CLIENT-CREDENTIALS")
    );
    assert_eq!(
        info.organization.unwrap().id,
        info.home_organization.unwrap().id
    );
}

#[tokio::test]
async fn rate_limits_are_per_token_with_genesys_headers() {
    let h = start(SandboxConfig {
        users: 50,
        rate_limit_per_minute: 3,
        ..Default::default()
    })
    .await;
    let a = h.service_token().await;
    let b = h.service_token().await;
    for n in 1..=3 {
        let r = h.api(Some(&a), "/api/v2/users?pageSize=1").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["inin-ratelimit-allowed"], "3");
        assert_eq!(r.headers()["inin-ratelimit-count"], n.to_string().as_str());
        let reset: u64 = r.headers()["inin-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset));
    }
    let r = h.api(Some(&a), "/api/v2/users?pageSize=1").await;
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let v = api_error(r, 429).await;
    assert_eq!(v["code"], "too.many.requests");
    assert_eq!(
        v["message"],
        format!("Rate limit exceeded the maximum. Retry the request in [{retry}] seconds")
    );
    assert_eq!(v["messageParams"]["limit"], "3");
    assert!(
        v["messageParams"]["entityId"].is_string() && v["messageParams"]["entityName"].is_string(),
        "{v}"
    );
    assert_eq!(
        h.api(Some(&b), "/api/v2/users?pageSize=1").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn correlation_id_on_every_answer() {
    let h = start_default().await;
    let token = h.service_token().await;
    let answers = [
        h.api(Some(&token), "/api/v2/users").await,
        h.api(None, "/api/v2/users").await,
        h.api(Some(&token), "/api/v2/unknown").await,
        h.http.get(h.url("/oauth/authorize")).send().await.unwrap(),
        h.token(None, &[]).await,
        h.http.get(h.url("/logout")).send().await.unwrap(),
        h.http.get(h.url("/")).send().await.unwrap(),
    ];
    let ids: HashSet<String> = answers
        .iter()
        .map(|r| {
            r.headers()["inin-correlation-id"]
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), answers.len(), "one fresh id per answer");
}

#[tokio::test]
async fn injected_api_faults() {
    let h = start_default().await;
    let token = h.service_token().await;
    let faults = h.sandbox.faults();
    faults.set_error_rate(1.0);
    let r = h.api(Some(&token), "/api/v2/users").await;
    let status = r.status();
    assert!(status.is_server_error());
    api_error(r, status.as_u16()).await;
    faults.set_error_rate(0.0);
    faults.set_rate_limit_rate(1.0);
    let r = h.api(Some(&token), "/api/v2/users").await;
    assert!(r.headers().contains_key("retry-after"));
    api_error(r, 429).await;
    faults.set_rate_limit_rate(0.0);
    faults.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(
        h.api(Some(&token), "/api/v2/users").await.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    faults.set_latency(Duration::ZERO);

    // A share between 0 and 1 fails some and not all (seeded: the same draws every run).
    faults.reseed(60);
    faults.set_error_rate(0.5);
    let mut failed = 0;
    for _ in 0..60 {
        if h.api(Some(&token), "/api/v2/users?pageSize=1")
            .await
            .status()
            .is_server_error()
        {
            failed += 1;
        }
    }
    assert!((5..=55).contains(&failed), "{failed}");
}

#[tokio::test]
async fn refused_user_tokens_spare_service_tokens() {
    let h = start_default().await;
    let user = h.pkce_token(PKCE_CLIENT_ID).await;
    let service = h.service_token().await;
    h.sandbox.faults().refuse_next_user_tokens(2);
    // A service token checking itself in the background takes none of the refusals.
    for _ in 0..3 {
        assert_eq!(
            h.api(Some(&service), "/api/v2/tokens/me").await.status(),
            StatusCode::OK
        );
    }
    for _ in 0..2 {
        let v = api_error(h.api(Some(&user), "/api/v2/tokens/me").await, 401).await;
        assert_eq!(v["code"], "bad.credentials");
    }
    // Two refusals, then the same token works again.
    assert_eq!(
        h.api(Some(&user), "/api/v2/users/me").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn admin_endpoint_changes_faults_and_expires_tokens() {
    let h = start_default().await;
    let v: Value = h.get_json("/sandbox/faults").await;
    assert_eq!(
        v,
        json!({"latencyMs": 0, "errorRate": 0.0, "rateLimitRate": 0.0, "tokenEndpointDown": false,
            "malformedTokenBody": false, "tokenAnswerLost": false, "socketDropRate": 0.0, "socketDelayMs": 0,
            "sparseUsers": false})
    );
    let r = h
        .http
        .put(h.url("/sandbox/faults"))
        .json(&json!({"tokenEndpointDown": true, "latencyMs": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["tokenEndpointDown"], true);
    assert_eq!(v["latencyMs"], 5);
    assert!(h.sandbox.faults().get().token_endpoint_down);
    assert_eq!(
        h.token(Some(SERVICE), &[("grant_type", "client_credentials")])
            .await
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let r = h
        .http
        .put(h.url("/sandbox/faults"))
        .json(&json!({"tokenEndpointDown": false, "errorRate": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = h
        .http
        .put(h.url("/sandbox/faults"))
        .json(&json!({"bogus": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A seed must be a whole number; a bad one changes nothing.
    for seed in [json!("abc"), json!(-1), json!(1.5)] {
        let r = h
            .http
            .put(h.url("/sandbox/faults"))
            .json(&json!({"seed": seed, "errorRate": 0.5}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{seed}");
    }
    assert_eq!(h.sandbox.faults().get().error_rate, 0.0);
    h.http
        .put(h.url("/sandbox/faults"))
        .json(&json!({"tokenEndpointDown": false}))
        .send()
        .await
        .unwrap();

    let token = h.service_token().await;
    assert_eq!(
        h.api(Some(&token), "/api/v2/tokens/me").await.status(),
        StatusCode::OK
    );
    let r = h
        .http
        .post(h.url("/sandbox/expire-tokens"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    api_error(h.api(Some(&token), "/api/v2/tokens/me").await, 401).await;
}

/// One request to the sandbox's router as if it came from `peer` (`None`: no peer address at
/// all, as when served without connect info).
async fn from_peer(
    router: &axum::Router,
    peer: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, String) {
    from_peer_with(router, peer, "127.0.0.1:8090", true, method, path, body).await
}

/// As [`from_peer`], with the `Host` header and whether the admin header is sent.
async fn from_peer_with(
    router: &axum::Router,
    peer: Option<&str>,
    host: &str,
    admin_header: bool,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, String) {
    use tower::ServiceExt;
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header("content-type", "application/json");
    if admin_header {
        builder = builder.header(sandbox::ADMIN_HEADER, "1");
    }
    let mut req = builder
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    if let Some(peer) = peer {
        let addr: std::net::SocketAddr = peer.parse().unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
    }
    let answer = router.clone().oneshot(req).await.unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let bytes = axum::body::to_bytes(answer.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn admin_endpoint_refuses_non_loopback_peers() {
    let state = sandbox::SandboxState::new(&SandboxConfig {
        users: 10,
        ..Default::default()
    })
    .unwrap();
    let router = sandbox::router(state.clone());
    let admin: [(&str, &str, &str); 6] = [
        ("GET", "/sandbox/faults", ""),
        ("PUT", "/sandbox/faults", r#"{"errorRate": 1}"#),
        ("POST", "/sandbox/expire-tokens", ""),
        ("GET", "/sandbox/issued-tokens", ""),
        ("GET", "/sandbox/stats", ""),
        ("DELETE", "/sandbox/stats", ""),
    ];
    // A LAN peer, a public IPv6 peer, an IPv4-mapped public address and no peer at all.
    for peer in [
        Some("10.1.2.3:40000"),
        Some("[2001:db8::7]:40000"),
        Some("[::ffff:192.0.2.9]:40000"),
        None,
    ] {
        for (method, path, body) in admin {
            let (status, text) = from_peer(&router, peer, method, path, body).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {path} from {peer:?}"
            );
            assert!(text.contains("loopback"), "{text}");
        }
        // The API itself answers from anywhere (here: no token).
        let (status, _) = from_peer(&router, peer, "GET", "/api/v2/users", "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{peer:?}");
    }
    assert_eq!(
        state.faults().get().error_rate,
        0.0,
        "a refused PUT changed nothing"
    );
    // Loopback peers, v4 and v6, are let in.
    for peer in [
        "127.0.0.1:40000",
        "127.0.0.2:40000",
        "[::1]:40000",
        "[::ffff:127.0.0.1]:40000",
    ] {
        let (status, _) = from_peer(&router, Some(peer), "GET", "/sandbox/faults", "").await;
        assert_eq!(status, StatusCode::OK, "{peer}");
    }
    let (status, _) = from_peer(
        &router,
        Some("127.0.0.1:40000"),
        "PUT",
        "/sandbox/faults",
        r#"{"errorRate": 0.5}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state.faults().get().error_rate, 0.5);

    // From loopback but as a browser page would come: a rebound DNS name in `Host`, or no
    // admin header (a cross-site page cannot add it without a preflight). Refused, unchanged.
    for (host, header) in [
        ("evil.example:8090", true),
        ("127.0.0.1.evil.example", true),
        ("127.0.0.1:8090", false),
    ] {
        for (method, path, body) in admin {
            let (status, text) = from_peer_with(
                &router,
                Some("127.0.0.1:40000"),
                host,
                header,
                method,
                path,
                body,
            )
            .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {path} Host {host} header {header}"
            );
            assert!(text.contains("loopback"), "{text}");
        }
    }
    assert_eq!(
        state.faults().get().error_rate,
        0.5,
        "a refused PUT changed nothing"
    );
}

#[tokio::test]
async fn the_org_is_deterministic_from_the_seed() {
    let first_ids = |seed: u64| async move {
        let h = start(SandboxConfig {
            users: 100,
            seed,
            ..Default::default()
        })
        .await;
        let token = h.service_token().await;
        let l: UserEntityListing = h
            .api(Some(&token), "/api/v2/users?state=any&pageSize=100")
            .await
            .json()
            .await
            .unwrap();
        l.entities
            .into_iter()
            .map(|u| (u.id, u.name, u.email, u.title))
            .collect::<Vec<_>>()
    };
    assert_eq!(first_ids(42).await, first_ids(42).await);
    assert_ne!(first_ids(42).await, first_ids(43).await);
}

#[tokio::test]
async fn a_hundred_thousand_users_are_seeded_and_paged_to_the_end() {
    // How fast this starts is measured by `cargo bench -p conformance --bench sandbox_start`
    // (docs/BENCHMARKS.md), not asserted here.
    let h = start(SandboxConfig {
        users: 100_000,
        ..Default::default()
    })
    .await;
    let token = h.service_token().await;
    let l: UserEntityListing = h
        .api(
            Some(&token),
            "/api/v2/users?state=any&pageSize=500&pageNumber=200",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(l.total, 100_000);
    assert_eq!(l.page_count, 200);
    assert_eq!(l.entities.len(), 500);
    assert!(l.next_uri.is_none());
    let l: UserEntityListing = h
        .api(
            Some(&token),
            "/api/v2/users?state=any&pageSize=500&pageNumber=201",
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(l.entities.is_empty());
    assert_eq!(
        l.previous_uri.as_deref(),
        Some("/api/v2/users?pageSize=500&pageNumber=200&state=any")
    );
}

#[tokio::test]
async fn state_file_keeps_users_signed_in_across_restarts() {
    let dir = std::env::temp_dir().join(format!("sandbox-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sandbox-state.json");
    let _ = std::fs::remove_file(&path);
    let config = SandboxConfig {
        users: 100,
        state_file: Some(path.clone()),
        ..Default::default()
    };

    let h = start(config.clone()).await;
    let (access, refresh) = h.web_tokens().await;
    let me: User = h
        .api(Some(&access), "/api/v2/users/me")
        .await
        .json()
        .await
        .unwrap();
    h.sandbox.shutdown().await;

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(&access) && !text.contains(&refresh),
        "no plain token on disk"
    );

    let h = start(config.clone()).await;
    let again: User = h
        .api(Some(&access), "/api/v2/users/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again.id, me.id);
    let r = h
        .token(
            Some(WEB),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    h.sandbox.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn issued_tokens_lists_the_raw_secrets_and_the_state_file_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.json");
    let h = start(SandboxConfig {
        users: 10,
        state_file: Some(state_file.clone()),
        ..Default::default()
    })
    .await;
    let (access, refresh) = h.web_tokens().await;
    let listed: Value = h.get_json("/sandbox/issued-tokens").await;
    let tokens: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tokens, [access.as_str(), refresh.as_str()]);
    let on_disk = std::fs::read_to_string(&state_file).unwrap();
    assert!(!on_disk.contains(&access) && !on_disk.contains(&refresh));
}

#[tokio::test]
async fn stats_count_arrivals_per_path_and_grant_even_when_faulted() {
    let h = start(SandboxConfig {
        users: 10,
        ..Default::default()
    })
    .await;
    let (access, _) = h.web_tokens().await;
    h.sandbox.faults().set_token_endpoint_down(true);
    for _ in 0..3 {
        let r = h
            .token(Some(SERVICE), &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    h.sandbox.faults().set_token_endpoint_down(false);
    for _ in 0..2 {
        let r = h
            .api(Some(&access), "/api/v2/users/me?expand=presence")
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let stats = h.sandbox.stats();
    assert_eq!(stats.token_requests(sandbox::Grant::AuthorizationCode), 1);
    assert_eq!(stats.token_requests(sandbox::Grant::ClientCredentials), 3);
    assert_eq!(stats.token_requests(sandbox::Grant::RefreshToken), 0);
    assert_eq!(stats.requests("/api/v2/users/me"), 2);
    assert_eq!(stats.requests("/oauth/token"), 4);
    // Over HTTP, from loopback; the admin endpoint does not count itself.
    let over_http: Value = h.get_json("/sandbox/stats").await;
    assert_eq!(over_http["tokenRequests"]["client_credentials"], 3);
    assert_eq!(over_http["requests"]["/api/v2/users/me"], 2);
    assert!(over_http["requests"].get("/sandbox/stats").is_none());
    let r = h.http.delete(h.url("/sandbox/stats")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(stats.requests("/api/v2/users/me"), 0);
}

/// Every user answer: the fields Genesys always sends, and each `expand` value's own field
/// only when it is asked for.
#[tokio::test]
async fn user_fields_and_expands_are_genesys_own() {
    let h = start_default().await;
    let token = h.service_token().await;
    let page = |q: &str| {
        let h = &h;
        let token = token.clone();
        let q = q.to_string();
        async move {
            let r = h
                .api(Some(&token), &format!("/api/v2/users?pageSize=100{q}"))
                .await;
            assert_eq!(r.status(), StatusCode::OK, "{q}");
            r.json::<UserEntityListing>().await.unwrap().entities
        }
    };
    let plain = page("").await;
    assert_eq!(plain.len(), 100);
    let mut with_images = 0;
    for u in &plain {
        let jabber = u
            .chat
            .as_ref()
            .and_then(|c| c.jabber_id.as_deref())
            .unwrap();
        assert!(jabber.ends_with("@sandbox.orgspan.com"), "{jabber}");
        let contacts = u.primary_contact_info.as_ref().unwrap();
        assert_eq!(
            contacts[0].address, u.email,
            "the e-mail address comes first"
        );
        assert_eq!(contacts[0].media_type.as_deref(), Some("EMAIL"));
        for phone in u.addresses.as_ref().unwrap() {
            assert_eq!(phone.media_type.as_deref(), Some("PHONE"));
            assert!(phone.address.as_deref().unwrap().starts_with("+1317555"));
        }
        assert!(u.acd_auto_answer.is_some());
        if let Some(images) = &u.images {
            with_images += 1;
            let resolutions: Vec<&str> = images
                .iter()
                .map(|i| i.resolution.as_deref().unwrap())
                .collect();
            assert_eq!(resolutions, ["x48", "x96", "x128", "x200", "x300", "x400"]);
        }
        // Expand-only fields are absent without their expand.
        assert!(u.presence.is_none() && u.routing_status.is_none() && u.geolocation.is_none());
        assert!(u.station.is_none() && u.authorization.is_none() && u.date_last_login.is_none());
    }
    assert!(
        (20..90).contains(&with_images),
        "{with_images} of 100 have pictures"
    );

    // A picture is served where its imageUri says, as an SVG that runs nothing.
    let with_picture = plain.iter().find(|u| u.images.is_some()).unwrap();
    let uri = with_picture.images.as_ref().unwrap()[1]
        .image_uri
        .clone()
        .unwrap();
    assert!(uri.starts_with(h.url("/").as_str()), "{uri}");
    let r = h.http.get(&uri).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let svg = r.text().await.unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("width=\"96\""),
        "{svg}"
    );
    let r = h.http.get(uri.replace("x96", "x97")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for bad in [
        "/sandbox/profile-images/not-a-user/x96.svg",
        "/sandbox/profile-images/%2e%2e/x96.svg",
    ] {
        let r = h.http.get(h.url(bad)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    // A hostile Host header never reaches an imageUri: the base falls back to localhost.
    let r = h
        .http
        .get(h.url("/api/v2/users?pageSize=25"))
        .bearer_auth(&token)
        .header("host", "evil.example/\"><script>")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let uris: Vec<&str> = v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["images"][0]["imageUri"].as_str())
        .collect();
    assert!(!uris.is_empty());
    assert!(
        uris.iter()
            .all(|u| u.starts_with("http://localhost/sandbox/")),
        "{uris:?}"
    );

    let all = "&expand=routingStatus,geolocation,station,authorization.unusedRoles,dateLastLogin&expand=presence";
    let expanded = page(all).await;
    let (mut stations, mut logins) = (0, 0);
    for (u, p) in expanded.iter().zip(&plain) {
        assert_eq!(u.id, p.id);
        let routing = u.routing_status.as_ref().unwrap();
        assert_eq!(routing.user_id.as_deref(), Some(u.id.as_str()));
        let status = routing.status.as_deref().unwrap();
        let on_queue = u.presence.as_ref().unwrap().system_presence() == Some("On Queue");
        assert_eq!(status != "OFF_QUEUE", on_queue, "{status}");
        let geo = u.geolocation.as_ref().unwrap();
        assert!(geo.latitude.unwrap().abs() <= 90.0 && geo.city.is_some());
        if u.station.as_ref().unwrap().associated_station.is_some() {
            stations += 1;
        }
        let auth = u.authorization.as_ref().unwrap();
        let roles = auth.roles.as_ref().unwrap();
        assert_eq!(roles[0].name.as_deref(), Some("employee"));
        assert!(auth
            .permissions
            .as_ref()
            .unwrap()
            .contains(&"directory:user:view".to_string()));
        assert!(auth.unused_roles.is_some());
        if let Some(d) = &u.date_last_login {
            logins += 1;
            assert!(d.ends_with('Z') && d.len() == 24, "{d}");
        }
    }
    assert!(stations > 10 && stations < 90, "{stations}");
    assert!(logins > 50 && logins < 100, "{logins}");

    // Documented expands the sandbox does not model are accepted; others are Genesys' 400.
    page("&expand=skills,team").await;
    let v = api_error(
        h.api(Some(&token), "/api/v2/users?expand=presence,bogus")
            .await,
        400,
    )
    .await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Value [bogus] is not valid"),
        "{v}"
    );
    let by_id = format!("/api/v2/users/{}?expand=nope", plain[0].id);
    for path in ["/api/v2/users/me?expand=nope", by_id.as_str()] {
        let user_token = h.pkce_token(PKCE_CLIENT_ID).await;
        api_error(h.api(Some(&user_token), path).await, 400).await;
    }
}

#[tokio::test]
async fn jabber_id_and_integration_presence_filters() {
    let h = start_default().await;
    let token = h.service_token().await;
    let listing = |q: String| {
        let h = &h;
        let token = token.clone();
        async move { h.api(Some(&token), &format!("/api/v2/users?{q}")).await }
    };
    let first: UserEntityListing = listing("pageSize=3".into()).await.json().await.unwrap();
    let jabbers: Vec<String> = first
        .entities
        .iter()
        .map(|u| u.chat.as_ref().unwrap().jabber_id.clone().unwrap())
        .collect();
    let found: UserEntityListing = listing(format!(
        "jabberId={}&jabberId={}&jabberId=nobody@sandbox.orgspan.com",
        jabbers[0], jabbers[2]
    ))
    .await
    .json()
    .await
    .unwrap();
    let ids: Vec<&str> = found.entities.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(
        ids,
        [first.entities[0].id.as_str(), first.entities[2].id.as_str()]
    );
    assert!(found.self_uri.unwrap().contains("jabberId="));
    let v = api_error(
        listing(format!(
            "id={}&jabberId={}",
            first.entities[0].id, jabbers[0]
        ))
        .await,
        400,
    )
    .await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("cannot be used together"),
        "{v}"
    );

    let teams: UserEntityListing =
        listing("pageSize=5&expand=presence&integrationPresenceSource=MicrosoftTeams".into())
            .await
            .json()
            .await
            .unwrap();
    for u in &teams.entities {
        let p = u.presence.as_ref().unwrap();
        assert_eq!(p.source.as_deref(), Some("MicrosoftTeams"));
        assert!(!p.primary);
    }
    api_error(listing("integrationPresenceSource=Skype".into()).await, 400).await;
    api_error(
        listing("pageSize=101&expand=presence&integrationPresenceSource=ZoomPhone".into()).await,
        400,
    )
    .await;
    // Without expand=presence the source is not used, so the page size is not capped.
    let r = listing("pageSize=200&integrationPresenceSource=ZoomPhone".into()).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// The comparison types Genesys' `UserSearchCriteria.type` lists besides the others
/// (`LESS_THAN_EQUAL_TO`, `GREATER_THAN_EQUAL_TO`), and `DATE_RANGE`, which it does not list
/// for users (the official SDKs' enum has no such value): a 400.
#[tokio::test]
async fn inclusive_comparisons_and_no_date_range_for_users() {
    let h = start_default().await;
    let token = h.service_token().await;
    let mut everyone: UserEntityListing = h
        .api(Some(&token), "/api/v2/users?pageSize=500&state=any")
        .await
        .json()
        .await
        .unwrap();
    // Searches skip deleted users unless a criterion asks for a state.
    everyone
        .entities
        .retain(|u| u.state != Some(genesys::UserState::Deleted));
    let pivot = everyone.entities[40].name.to_lowercase();
    let count = |kind: &str| {
        let h = &h;
        let token = token.clone();
        let pivot = pivot.clone();
        let kind = kind.to_string();
        async move {
            let r = search(
                h,
                &token,
                json!({"pageSize": 1, "query": [{"type": kind, "fields": ["name"], "value": pivot}]}),
            )
            .await;
            assert_eq!(r.status(), StatusCode::OK, "{kind}");
            r.json::<UsersSearchResponse>().await.unwrap().total
        }
    };
    let names: Vec<String> = everyone
        .entities
        .iter()
        .map(|u| u.name.to_lowercase())
        .collect();
    let equal = names.iter().filter(|n| **n == pivot).count() as u64;
    let below = names.iter().filter(|n| **n < pivot).count() as u64;
    let above = names.iter().filter(|n| **n > pivot).count() as u64;
    assert!(equal >= 1);
    assert_eq!(count("LESS_THAN").await, below);
    assert_eq!(count("LESS_THAN_EQUAL_TO").await, below + equal);
    assert_eq!(count("GREATER_THAN").await, above);
    assert_eq!(count("GREATER_THAN_EQUAL_TO").await, above + equal);
    let v = api_error(
        search(
            &h,
            &token,
            json!({"query": [{"type": "DATE_RANGE", "fields": ["name"], "startValue": "2025-12-01", "dateFormat": "yyyy-MM-dd"}]}),
        )
        .await,
        400,
    )
    .await;
    assert!(v["message"].as_str().unwrap().contains("DATE_RANGE"), "{v}");
}

/// The `sparseUsers` fault: every user answer has only `id` and `name`, and still reads into
/// the wire types.
#[tokio::test]
async fn sparse_users_fault_leaves_only_id_and_name() {
    let h = start_default().await;
    let token = h.service_token().await;
    let r = h
        .http
        .put(h.url("/sandbox/faults"))
        .json(&json!({"sparseUsers": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = h
        .api(
            Some(&token),
            "/api/v2/users?pageSize=2&state=any&expand=presence",
        )
        .await
        .json()
        .await
        .unwrap();
    for u in v["entities"].as_array().unwrap() {
        let keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "name"], "{u}");
    }
    assert_eq!(
        v["total"].as_u64().unwrap(),
        h.sandbox.state().user_count() as u64,
        "paging stays"
    );
    let listing: UserEntityListing = serde_json::from_value(v).unwrap();
    assert!(listing.entities[0].state.is_none());
}

/// `REGEX` reads its value as Elasticsearch's `regexp` does: anchored to a whole word of
/// the field (or the whole field), case-insensitive; a pattern that does not compile, or a
/// huge one, is a 400.
#[tokio::test]
async fn regex_matches_whole_words_and_refuses_bad_patterns() {
    let h = start_default().await;
    let token = h.service_token().await;
    let everyone: UserEntityListing = h
        .api(Some(&token), "/api/v2/users?pageSize=500&state=any")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<String> = everyone
        .entities
        .iter()
        .filter(|u| u.state != Some(genesys::UserState::Deleted))
        .map(|u| u.name.to_lowercase())
        .collect();
    let word_of = |n: &str| -> Vec<String> {
        n.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let some_word = word_of(&names[7])[0].clone();
    let prefix: String = some_word.chars().take(3).collect();
    let total = |pattern: String| {
        let h = &h;
        let token = token.clone();
        async move {
            let r = search(
                h,
                &token,
                json!({"pageSize": 1, "query": [{"type": "REGEX", "fields": ["name"], "value": pattern}]}),
            )
            .await;
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<UsersSearchResponse>().await.unwrap().total
        }
    };
    let starting = names
        .iter()
        .filter(|n| word_of(n).iter().any(|w| w.starts_with(&prefix)))
        .count() as u64;
    assert!(starting >= 1);
    assert_eq!(
        total(format!("{}.*", prefix.to_uppercase())).await,
        starting
    );
    // Anchored: the inside of a word alone matches nothing that is not a whole word.
    let inner: String = some_word.chars().skip(1).collect();
    let exact_inner = names
        .iter()
        .filter(|n| *n == &inner || word_of(n).contains(&inner))
        .count() as u64;
    assert_eq!(total(inner.clone()).await, exact_inner);
    assert!(total(format!(".*{inner}")).await >= 1);
    for bad in [json!("(unclosed"), json!("a".repeat(257))] {
        let v = api_error(
            search(
                &h,
                &token,
                json!({"query": [{"type": "REGEX", "fields": ["name"], "value": bad}]}),
            )
            .await,
            400,
        )
        .await;
        assert!(v["message"].as_str().unwrap().contains("REGEX"), "{v}");
    }
}

/// `sort[]`: the first key decides, later keys break ties, each with its own direction; an
/// unknown field or direction is a 400. `enforcePermissions` is a boolean.
#[tokio::test]
async fn multi_key_sort_and_enforce_permissions() {
    let h = start_default().await;
    let token = h.service_token().await;
    let query = json!([{"type": "MATCH_ALL"}]);
    let mut got: Vec<User> = Vec::new();
    for page in 1.. {
        let r = search(
            &h,
            &token,
            json!({
                "pageSize": 100, "pageNumber": page, "query": query, "enforcePermissions": true,
                "sortBy": "email", "sortOrder": "DESC",
                "sort": [{"sortBy": "department"}, {"sortBy": "name", "sortOrder": "DESC"}],
            }),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: UsersSearchResponse = r.json().await.unwrap();
        got.extend(body.results);
        if page >= body.page_count {
            break;
        }
    }
    let active = h.sandbox.state().user_count();
    assert!(got.len() > 100 && got.len() <= active, "{}", got.len());
    let key = |u: &User| {
        (
            u.department.clone().unwrap_or_default().to_lowercase(),
            u.name.to_lowercase(),
        )
    };
    let mut ties = 0;
    for pair in got.windows(2) {
        let (a, b) = (key(&pair[0]), key(&pair[1]));
        assert!(a.0 <= b.0, "department ascending: {a:?} then {b:?}");
        if a.0 == b.0 {
            ties += 1;
            assert!(
                a.1 >= b.1,
                "name descending within a department: {a:?} then {b:?}"
            );
        }
    }
    assert!(ties > 10, "the second key was exercised");
    for bad in [
        json!({"query": query, "sort": [{"sortBy": "shoeSize"}]}),
        json!({"query": query, "sort": [{"sortBy": "name", "sortOrder": "ascending"}]}),
        json!({"query": query, "enforcePermissions": "yes"}),
    ] {
        api_error(search(&h, &token, bad).await, 400).await;
    }
}
