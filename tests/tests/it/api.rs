use std::time::{Duration, Instant};

use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_authenticate_by_bearer_and_scopes_are_enforced() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let reader = s.create_token("reader", &["read"]).await;
    let ingest = s.create_token("ingest", &["ingest"]).await;

    let (status, body) = s.api(Method::GET, &reader, "/apps", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"][0]["name"], "My first app");

    let (status, body) = s.api(Method::GET, &ingest, "/apps", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");

    let (status, body) = s.api(Method::POST, &reader, "/apps", Some(&json!({"name": "x"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, body) = s.api(Method::GET, "hrld_not_a_real_token", "/apps", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let res = s.client.get(format!("{}/api/v1/apps", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "no Authorization header");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_are_created_renamed_and_listed_over_the_api() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let token = s.create_token("admin", &["read", "write"]).await;
    let (status, created) = s
        .api(Method::POST, &token, "/apps", Some(&json!({"name": "Website"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert!(created["app_token"].as_str().unwrap().starts_with("AP-"));
    let (status, renamed) = s
        .api(
            Method::PATCH,
            &token,
            &format!("/apps/{id}"),
            Some(&json!({"name": "Web"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["name"], "Web");
    let (_, fetched) = s.api(Method::GET, &token, &format!("/apps/{id}"), None).await;
    assert_eq!(fetched["name"], "Web");
    let (_, audit) = s
        .api(
            Method::GET,
            &token,
            &format!("/audit-log?target_type=app&target_id={id}"),
            None,
        )
        .await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["app.renamed", "app.created"], "newest first");
    assert_eq!(audit["data"][0]["actor"]["type"], "token");
    assert_eq!(audit["data"][0]["actor"]["label"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_token_cannot_mint_scopes_it_lacks_and_secrets_are_shown_once() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let writer = s.create_token("writer", &["read", "write"]).await;
    let (status, body) = s
        .api(
            Method::POST,
            &writer,
            "/tokens",
            Some(&json!({"name": "more", "scopes": ["ingest", "read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, created) = s
        .api(
            Method::POST,
            &writer,
            "/tokens",
            Some(&json!({"name": "r", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    let id = created["id"].as_i64().unwrap();
    let (_, listed) = s.api(Method::GET, &writer, "/tokens", None).await;
    assert!(!listed.to_string().contains(&secret), "lists never contain secrets");
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("secret").is_none())
    );

    let (status, _) = s.api(Method::GET, &secret, "/apps", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, revoked) = s.api(Method::DELETE, &writer, &format!("/tokens/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked_at"].is_string());
    let (status, _) = s.api(Method::GET, &secret, "/apps", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked tokens are refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_paginate_with_a_cursor() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let token = s.create_token("admin", &["read", "write"]).await;
    for i in 0..5 {
        let (status, _) = s
            .api(
                Method::POST,
                &token,
                "/apps",
                Some(&json!({"name": format!("app {i}")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut names = Vec::new();
    let mut path = "/apps?limit=2".to_owned();
    loop {
        let (status, page) = s.api(Method::GET, &token, &path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page["data"].as_array().unwrap().len() <= 2);
        names.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/apps?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(names, ["app 4", "app 3", "app 2", "app 1", "app 0", "My first app"]);
    let (status, body) = s.api(Method::GET, &token, "/apps?limit=0", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_get_401() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let writer = s.create_token("writer", &["read", "write"]).await;
    let (status, created) = s
        .api(
            Method::POST,
            &writer,
            "/tokens",
            Some(&json!({"name": "short", "scopes": ["read"], "expires_in_days": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap();
    let (status, _) = s.api(Method::GET, secret, "/apps", None).await;
    assert_eq!(status, StatusCode::OK);
    let db = sea_orm::Database::connect(app.database_url()).await.unwrap();
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(&format!(
        "UPDATE api_tokens SET expires_at = 1 WHERE id = {}",
        created["id"]
    ))
    .await
    .unwrap();
    // Changed behind Herald's back, as by another process: seen once the cached row lapses.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = s.api(Method::GET, secret, "/apps", None).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "still {status} after 5 s: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
