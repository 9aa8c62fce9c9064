//! Every API endpoint against the sandbox: users (me, by id, listing, search), tokens (info,
//! revoke), Genesys' error bodies, rate-limit headers, and links to other hosts.

use conformance::*;
use genesys::{AccessToken, ApiError, UserListQuery, UserSearchRequest};
use genesys::{SearchCriterion, SearchSortOrder, SortOrder, StateFilter, User, UserState};
use sandbox::WEB_CLIENT_ID;

#[tokio::test]
async fn users_me_with_and_without_presence() {
    let h = start_default().await;
    let tokens = user_tokens(&h.genesys).await;
    let plain = h.genesys.users_me(&tokens.access_token, &[]).await.unwrap();
    assert!(plain.body.presence.is_none());
    assert_eq!(plain.body.state, Some(UserState::Active));
    assert_eq!(plain.rate_limit.allowed, Some(300));
    assert_eq!(plain.rate_limit.count, Some(1));
    assert!(plain.rate_limit.reset.is_some());
    assert!(plain.correlation_id.is_some());

    let with = h
        .genesys
        .users_me(&tokens.access_token, &["presence"])
        .await
        .unwrap();
    assert_eq!(with.body.id, plain.body.id);
    assert!(with.body.presence.is_some());
    assert_eq!(with.rate_limit.remaining(), Some(298));

    // A client-credentials token has no user.
    let service = service_tokens(&h.genesys).await;
    let err = h
        .genesys
        .users_me(&service.access_token, &[])
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
}

#[tokio::test]
async fn get_user_by_id_and_not_found() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;
    let page = h
        .genesys
        .list_users(&token, &UserListQuery::default())
        .await
        .unwrap()
        .body;
    let someone = &page.entities[3];
    let fetched = h
        .genesys
        .get_user(&token, &someone.id, &["presence"])
        .await
        .unwrap()
        .body;
    assert_eq!(fetched.id, someone.id);
    assert_eq!(fetched.name, someone.name);
    assert!(fetched.presence.is_some());

    for missing in [
        "00000000-0000-0000-0000-000000000000",
        "../tokens/me",
        "a b/c?d",
    ] {
        let err = h.genesys.get_user(&token, missing, &[]).await.unwrap_err();
        assert!(
            matches!(err, ApiError::NotFound { .. }),
            "{missing}: {err:?}"
        );
        assert!(
            err.context_id().is_some(),
            "the contextId is kept for support"
        );
        assert_eq!(err.status(), Some(404));
    }
    assert!(matches!(
        h.genesys.get_user(&token, "", &[]).await,
        Err(ApiError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn list_users_honours_every_parameter() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;
    let query = UserListQuery {
        page_size: 10,
        page_number: 2,
        sort_order: SortOrder::Descending,
        state: StateFilter::Any,
        expand: vec!["presence".into()],
        ids: vec![],
    };
    let page = h.genesys.list_users(&token, &query).await.unwrap().body;
    assert_eq!(
        (page.page_size, page.page_number, page.entities.len()),
        (10, 2, 10)
    );
    assert_eq!(page.total, 1250);
    assert_eq!(page.page_count, 125);
    assert!(page.entities.iter().all(|u| u.presence.is_some()));
    let ascending = UserListQuery {
        sort_order: SortOrder::Ascending,
        page_number: 1,
        ..query.clone()
    };
    let first = h.genesys.list_users(&token, &ascending).await.unwrap().body;
    assert_ne!(
        first.entities[0].id, page.entities[0].id,
        "the order and page differ"
    );

    let active = h
        .genesys
        .list_users(&token, &UserListQuery::default())
        .await
        .unwrap()
        .body;
    assert!(
        active.total < 1250
            && active
                .entities
                .iter()
                .all(|u| u.state == Some(UserState::Active))
    );
    assert!(active.entities.iter().all(|u| u.presence.is_none()));

    let wanted: Vec<String> = active
        .entities
        .iter()
        .take(3)
        .map(|u| u.id.clone())
        .collect();
    let by_id = UserListQuery {
        ids: wanted.clone(),
        ..UserListQuery::default()
    };
    let found = h.genesys.list_users(&token, &by_id).await.unwrap().body;
    let mut got: Vec<String> = found.entities.iter().map(|u| u.id.clone()).collect();
    got.sort();
    let mut expected = wanted;
    expected.sort();
    assert_eq!(got, expected);

    for bad in [0, 501] {
        let err = h
            .genesys
            .list_users(
                &token,
                &UserListQuery {
                    page_size: bad,
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::InvalidRequest(_)), "{err:?}");
    }
}

#[tokio::test]
async fn search_users_finds_by_name() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;
    let someone = h
        .genesys
        .list_users(&token, &UserListQuery::default())
        .await
        .unwrap()
        .body
        .entities[5]
        .clone();
    let request = UserSearchRequest {
        page_size: 25,
        page_number: 1,
        sort_order: Some(SearchSortOrder::Asc),
        sort_by: Some("name".into()),
        query: vec![SearchCriterion {
            kind: "EXACT".into(),
            fields: vec!["id".into()],
            value: Some(someone.id.clone()),
            ..Default::default()
        }],
        sort: Vec::new(),
        expand: vec![],
        enforce_permissions: None,
    };
    let found = h.genesys.search_users(&token, &request).await.unwrap().body;
    assert_eq!(found.total, 1);
    assert_eq!(found.results[0].id, someone.id);

    let by_name = UserSearchRequest {
        query: vec![SearchCriterion {
            kind: "CONTAINS".into(),
            fields: vec!["name".into()],
            value: Some(someone.name.clone()),
            ..Default::default()
        }],
        ..request.clone()
    };
    let found = h.genesys.search_users(&token, &by_name).await.unwrap().body;
    assert!(found.results.iter().any(|u| u.id == someone.id));

    let too_big = UserSearchRequest {
        page_size: 101,
        ..request
    };
    assert!(matches!(
        h.genesys.search_users(&token, &too_big).await,
        Err(ApiError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn token_info_and_revocation() {
    let h = start_default().await;
    let tokens = user_tokens(&h.genesys).await;
    let info = h
        .genesys
        .token_info(&tokens.access_token)
        .await
        .unwrap()
        .body;
    assert_eq!(info.client_id().unwrap(), WEB_CLIENT_ID);
    assert!(info
        .authorized_scope
        .contains(&"users:readonly".to_string()));

    h.genesys.revoke_token(&tokens.access_token).await.unwrap();
    let err = h
        .genesys
        .users_me(&tokens.access_token, &[])
        .await
        .unwrap_err();
    match &err {
        ApiError::Unauthorized { body } => {
            assert_eq!(
                body.as_ref().and_then(|b| b.code.as_deref()),
                Some("bad.credentials")
            );
        }
        other => panic!("{other:?}"),
    }
    let err = h
        .genesys
        .token_info(&AccessToken::new("made-up"))
        .await
        .unwrap_err();
    assert!(err.is_unauthorized());
}

#[tokio::test]
async fn a_missing_scope_is_forbidden_with_the_scopes_named() {
    let h = start_default().await;
    let client = limited_client();
    let callback = sign_in(&h.genesys, &client, &[]).await;
    let tokens = h
        .genesys
        .exchange_code(&client, callback.code, callback.verifier)
        .await
        .unwrap();
    // The basic-info scope still reads /users/me ...
    h.genesys.users_me(&tokens.access_token, &[]).await.unwrap();
    // ... but not the directory.
    let err = h
        .genesys
        .list_users(&tokens.access_token, &UserListQuery::default())
        .await
        .unwrap_err();
    match &err {
        ApiError::Forbidden {
            message,
            context_id,
            missing_scopes,
        } => {
            assert!(message.contains("scopes"), "{message}");
            assert!(context_id.is_some());
            assert!(
                missing_scopes.contains(&"users:readonly".to_string()),
                "{missing_scopes:?}"
            );
            assert!(
                !missing_scopes.contains(&"user-basic-info".to_string()),
                "{missing_scopes:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn next_uri_is_followed_only_on_the_api_host() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;
    let first = h
        .genesys
        .list_users(&token, &UserListQuery::default())
        .await
        .unwrap()
        .body;
    let second = h
        .genesys
        .next_users_page(&token, &first)
        .await
        .unwrap()
        .unwrap()
        .body;
    assert_eq!(second.page_number, 2);
    assert_ne!(second.entities[0].id, first.entities[0].id);

    let port = h.sandbox.base_url().port().unwrap();
    for foreign in [
        "https://evil.example.com/api/v2/users?pageNumber=2".to_string(),
        "//evil.example.com/api/v2/users?pageNumber=2".to_string(),
        // Same host, other port: still another origin.
        format!("http://127.0.0.1:{}/api/v2/users?pageNumber=2", port + 1),
        format!("http://localhost:{port}/api/v2/users?pageNumber=2"),
    ] {
        let mut tampered = first.clone();
        tampered.next_uri = Some(foreign.clone());
        let err = h
            .genesys
            .next_users_page(&token, &tampered)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::ForeignHost(_)),
            "{foreign}: {err:?}"
        );
    }

    let mut last = first.clone();
    last.next_uri = None;
    assert!(h
        .genesys
        .next_users_page(&token, &last)
        .await
        .unwrap()
        .is_none());
}

/// The client's searches against the sandbox's documented semantics (sandbox/README.md): each
/// query type finds exactly the users the rule picks out of the whole org, read here from the
/// listing, over every page of the search.
#[tokio::test]
async fn every_search_type_finds_what_the_documented_rule_picks() {
    let h = start_default().await;
    let token = service_tokens(&h.genesys).await.access_token;
    let mut everyone: Vec<User> = Vec::new();
    for page_number in 1..=3 {
        let query = UserListQuery {
            page_size: 500,
            page_number,
            state: StateFilter::Any,
            ..UserListQuery::default()
        };
        everyone.extend(
            h.genesys
                .list_users(&token, &query)
                .await
                .unwrap()
                .body
                .entities,
        );
    }
    assert_eq!(everyone.len(), 1250);
    // Deleted users are found only by a criterion on state.
    everyone.retain(|u| u.state != Some(UserState::Deleted));
    let lower = |v: &Option<String>| v.as_deref().unwrap_or("").to_lowercase();
    let words = |v: &str| -> Vec<String> {
        v.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let department = lower(&everyone[7].department);
    let criterion = |kind: &str, field: &str, value: &str| SearchCriterion {
        kind: kind.into(),
        fields: vec![field.into()],
        value: Some(value.into()),
        ..Default::default()
    };
    type Rule<'a> = Box<dyn Fn(&User) -> bool + 'a>;
    let cases: Vec<(&str, Vec<SearchCriterion>, Rule)> = vec![
        (
            "TERM",
            vec![criterion("TERM", "name", "Silva")],
            Box::new(|u| words(&u.name.to_lowercase()).contains(&"silva".to_string())),
        ),
        (
            "CONTAINS",
            vec![criterion("CONTAINS", "email", "ana")],
            Box::new(|u| lower(&u.email).contains("ana")),
        ),
        (
            "STARTS_WITH",
            vec![criterion("STARTS_WITH", "name", "ma")],
            Box::new(|u| {
                words(&u.name.to_lowercase())
                    .iter()
                    .any(|w| w.starts_with("ma"))
            }),
        ),
        (
            "EXACT",
            vec![criterion("EXACT", "department", &department)],
            Box::new(|u| lower(&u.department) == department),
        ),
        (
            "RANGE",
            vec![SearchCriterion {
                kind: "RANGE".into(),
                fields: vec!["name".into()],
                start_value: Some("b".into()),
                end_value: Some("d".into()),
                ..Default::default()
            }],
            Box::new(|u| {
                let n = u.name.to_lowercase();
                n.as_str() >= "b" && n.as_str() <= "d"
            }),
        ),
        (
            "GREATER_THAN_EQUAL_TO",
            vec![criterion("GREATER_THAN_EQUAL_TO", "name", "t")],
            Box::new(|u| u.name.to_lowercase().as_str() >= "t"),
        ),
        (
            "REGEX",
            vec![criterion("REGEX", "name", "s[a-z]lva")],
            Box::new(|u| {
                let n = u.name.to_lowercase();
                let silva = |w: &str| {
                    let c: Vec<char> = w.chars().collect();
                    c.len() == 5
                        && c[0] == 's'
                        && c[1].is_ascii_lowercase()
                        && c[2..] == ['l', 'v', 'a']
                };
                silva(&n) || words(&n).iter().any(|w| silva(w))
            }),
        ),
        (
            "MATCH_ALL and NOT TERM",
            vec![
                SearchCriterion {
                    kind: "MATCH_ALL".into(),
                    ..Default::default()
                },
                SearchCriterion {
                    operator: Some("NOT".into()),
                    ..criterion("TERM", "name", "silva")
                },
            ],
            Box::new(|u| !words(&u.name.to_lowercase()).contains(&"silva".to_string())),
        ),
    ];
    for (name, query, rule) in cases {
        let want: std::collections::BTreeSet<String> = everyone
            .iter()
            .filter(|u| rule(u))
            .map(|u| u.id.clone())
            .collect();
        assert!(!want.is_empty(), "{name}: the rule picks nobody");
        let mut got = std::collections::BTreeSet::new();
        let mut page_number = 1;
        loop {
            let request = UserSearchRequest {
                page_size: 100,
                page_number,
                sort_order: Some(SearchSortOrder::Asc),
                sort_by: Some("name".into()),
                query: query.clone(),
                sort: Vec::new(),
                expand: vec![],
                enforce_permissions: None,
            };
            let found = h.genesys.search_users(&token, &request).await.unwrap().body;
            assert_eq!(found.total, want.len() as u64, "{name}");
            for u in found.results {
                assert!(got.insert(u.id), "{name}: a user on two pages");
            }
            if page_number >= found.page_count {
                break;
            }
            page_number += 1;
        }
        assert_eq!(got, want, "{name}");
    }
}
