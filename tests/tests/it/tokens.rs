//! API tokens: every field error at once, and an ingest token always tied to one app — through
//! the dashboard form and the REST API, which share the rule.

use herald_tests::http::Session;
use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const NEEDS_APP: &str = "Choose the app this token sends events for: ingest tokens belong to one app.";

/// An account and an admin token (every scope, so it may mint ingest tokens; tied to the first
/// app); returns (session, admin token).
async fn account(app: &TestApp) -> (Session, String) {
    let s = app.session();
    s.signup(&unique("tokens@example.com"), "Tokens Inc").await;
    let admin = s.create_token("admin", &["ingest", "read", "write"]).await;
    (s, admin)
}

async fn app_ids(s: &Session, admin: &str) -> Vec<i64> {
    let (status, apps) = s.api(Method::GET, admin, "/apps", None).await;
    assert_eq!(status, StatusCode::OK, "{apps}");
    apps["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

async fn add_app(s: &Session, admin: &str, name: &str) -> i64 {
    let (status, created) = s
        .api(Method::POST, admin, "/apps", Some(&json!({ "name": name })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().unwrap()
}

async fn ingest(s: &Session, token: &str) -> (StatusCode, Value) {
    let event = json!({"type": "track", "userId": "u1", "event": "Signed Up"});
    s.api(Method::POST, token, "/events", Some(&event)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_form_and_the_api_report_every_error_at_once() {
    let app = TestApp::spawn().await;
    let (s, admin) = account(&app).await;
    add_app(&s, &admin, "Second").await;
    let res = s
        .post_form(
            "/settings/tokens",
            &[
                ("name", ""),
                ("scopes", "ingest"),
                ("scopes", "root"),
                ("expires_in_days", "soon"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    for message in [
        "Name can&#39;t be empty.",
        "Unknown scope &#34;root&#34;",
        "Choose the app this token sends events for",
        "Enter a whole number, or leave it empty.",
    ] {
        assert!(html.contains(message), "{message} is shown with the others");
    }
    assert!(html.contains("value=\"soon\""), "input is kept");

    let body = json!({"name": " ", "scopes": ["ingest"], "expires_in_days": 0});
    let (status, err) = s.api(Method::POST, &admin, "/tokens", Some(&body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let fields: Vec<&str> = err["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "app_id", "expires_in_days"], "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_token_made_with_one_app_is_tied_to_it_and_keeps_working_after_a_second_app() {
    let app = TestApp::spawn().await;
    let (s, admin) = account(&app).await;
    let only = app_ids(&s, &admin).await[0];

    let from_form = s.create_token("form ingest", &["ingest"]).await;
    let (status, from_api) = s
        .api(
            Method::POST,
            &admin,
            "/tokens",
            Some(&json!({"name": "api ingest", "scopes": ["ingest"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{from_api}");
    assert_eq!(from_api["app_id"], only, "bound to the only app");
    let (_, tokens) = s.api(Method::GET, &admin, "/tokens", None).await;
    let form_row = tokens["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "form ingest")
        .unwrap();
    assert_eq!(form_row["app_id"], only, "the form binds it the same way");
    let (status, reader) = s
        .api(
            Method::POST,
            &admin,
            "/tokens",
            Some(&json!({"name": "reader", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reader}");
    assert_eq!(
        reader["app_id"],
        Value::Null,
        "a token without ingest stays for any app"
    );

    add_app(&s, &admin, "Second").await;
    for token in [from_form.as_str(), from_api["secret"].as_str().unwrap()] {
        let (status, body) = ingest(&s, token).await;
        assert_eq!(status, StatusCode::ACCEPTED, "still works with two apps: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_apps_an_ingest_token_must_name_one() {
    let app = TestApp::spawn().await;
    let (s, admin) = account(&app).await;
    let second = add_app(&s, &admin, "Second").await;

    let res = s
        .post_form("/settings/tokens", &[("name", "ingest"), ("scopes", "ingest")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(NEEDS_APP), "{html}");
    assert!(html.contains("id=\"app_id\" name=\"app_id\" aria-invalid=\"true\""));

    let body = json!({"name": "ingest", "scopes": ["ingest", "read"]});
    let (status, err) = s.api(Method::POST, &admin, "/tokens", Some(&body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["field"], "app_id");
    assert_eq!(err["error"]["message"], NEEDS_APP);

    let second_text = second.to_string();
    let res = s
        .post_form(
            "/settings/tokens",
            &[("name", "ingest"), ("scopes", "ingest"), ("app_id", &second_text)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, created) = s
        .api(
            Method::POST,
            &admin,
            "/tokens",
            Some(&json!({"name": "ingest", "scopes": ["ingest"], "app_id": second})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, body) = ingest(&s, created["secret"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, reader) = s
        .api(
            Method::POST,
            &admin,
            "/tokens",
            Some(&json!({"name": "reader", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "read tokens need no app: {reader}");
}

/// Tokens stored before the rule, without an app, keep the old behaviour: they send to the
/// account's only app and are refused once it has several.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_ingest_token_without_an_app_works_while_the_account_has_one_app() {
    use sea_orm::{ConnectionTrait, Database};
    let app = TestApp::spawn().await;
    let (s, admin) = account(&app).await;
    let old = s.create_token("old ingest", &["ingest"]).await;
    let db = Database::connect(app.database_url()).await.unwrap();
    db.execute_unprepared("UPDATE api_tokens SET app_id = NULL WHERE name = 'old ingest'")
        .await
        .unwrap();
    db.close().await.ok();

    let (status, body) = ingest(&s, &old).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    add_app(&s, &admin, "Second").await;
    // The app an ingest token resolves to is cached for 2 seconds.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, body) = ingest(&s, &old).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}
