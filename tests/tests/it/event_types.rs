use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_types_are_unique_per_account_archivable_and_audited() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let res = s
        .post_form(
            "/settings/event-types",
            &[("name", "flows.completed"), ("description", "A flow was completed")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = s
        .post_form("/settings/event-types", &[("name", "flows.completed")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("already exists"));
    let res = s.post_form("/settings/event-types", &[("name", "bad*name")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let token = s.create_token("admin", &["read", "write"]).await;
    let (status, created) = s
        .api(
            Method::POST,
            &token,
            "/event-types",
            Some(&json!({"name": "Order Completed"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["source"], "api");
    let (status, body) = s
        .api(
            Method::POST,
            &token,
            "/event-types",
            Some(&json!({"name": "Order Completed"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["field"], "name");
    let id = created["id"].as_i64().unwrap();
    let (status, archived) = s
        .api(Method::POST, &token, &format!("/event-types/{id}/archive"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(archived["archived"], true);
    let (_, list) = s.api(Method::GET, &token, "/event-types", None).await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    // Newest first; the built-in events (operational, derived visitor) come with every account.
    assert_eq!(
        names,
        [
            "Order Completed",
            "flows.completed",
            "herald.webhook.disabled",
            "herald.webhook.recovered",
            "herald.webhook.failing",
            "NEW_VISIT",
            "NEW_VISITOR"
        ]
    );
    let page = s.page("/settings/event-types").await;
    assert!(page.contains("badge grey\">archived"));

    let other = app.session();
    other.signup(&unique("b@example.com"), "B").await;
    let other_token = other.create_token("b", &["read", "write"]).await;
    let (status, _) = other
        .api(Method::GET, &other_token, &format!("/event-types/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other
        .api(Method::POST, &other_token, &format!("/event-types/{id}/restore"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = other
        .api(
            Method::POST,
            &other_token,
            "/event-types",
            Some(&json!({"name": "Order Completed"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "names are unique per account only: {body}");
    let (_, audit) = s
        .api(Method::GET, &token, "/audit-log?target_type=event_type", None)
        .await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["event_type.archived", "event_type.created", "event_type.created"]
    );
}
