//! Bad input is refused whole with a clear message (inline in forms, JSON in the API) and
//! changes nothing.

use herald_tests::{TestApp, http::PASSWORD, unique};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn count(app: &TestApp, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(app.database_url()).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    db.close().await.ok();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signups_show_inline_errors_keep_input_and_write_nothing() {
    let app = TestApp::spawn().await;
    let taken = unique("taken@example.com");
    app.session().signup(&taken, "First").await;
    let (users, accounts) = (count(&app, "users").await, count(&app, "accounts").await);
    let long = "x".repeat(10 * 1024);
    let s = app.session();
    let cases: [(&str, &str, &str, StatusCode, &str); 5] = [
        (taken.as_str(), PASSWORD, "Dup", StatusCode::CONFLICT, "already exists"),
        (
            "new@example.com",
            "short",
            "Acme",
            StatusCode::UNPROCESSABLE_ENTITY,
            "at least 12 characters",
        ),
        (
            "new@example.com",
            PASSWORD,
            "   ",
            StatusCode::UNPROCESSABLE_ENTITY,
            "can&#39;t be empty",
        ),
        (
            "new@example.com",
            PASSWORD,
            &long,
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 100 characters",
        ),
        (
            "not-an-email",
            PASSWORD,
            "Acme",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter an email address",
        ),
    ];
    for (email, password, name, status, message) in cases {
        let res = s
            .post_form(
                "/signup",
                &[("email", email), ("password", password), ("account_name", name)],
            )
            .await;
        assert_eq!(res.status(), status, "{email} / {name:.20}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "expected {message:?} in the form");
        assert!(html.contains("class=\"field-error\""));
        if name == "Acme" {
            assert!(html.contains("value=\"Acme\""), "typed values are kept");
        }
    }
    assert_eq!(count(&app, "users").await, users);
    assert_eq!(count(&app, "accounts").await, accounts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_a_valid_csrf_token_get_403_and_change_nothing() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let apps = count(&app, "apps").await;
    let res = s.post_raw("/settings/apps", &[("name", "no token")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s
        .post_raw("/settings/apps", &[("csrf", "0123abcd"), ("name", "wrong token")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let other_browser = app.session();
    let foreign = other_browser.csrf_from("/login").await;
    let res = s
        .post_raw(
            "/settings/apps",
            &[("csrf", &foreign), ("name", "someone else's token")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a token is bound to its browser");
    let res = app
        .session()
        .post_raw(
            "/signup",
            &[
                ("email", "x@example.com"),
                ("password", PASSWORD),
                ("account_name", "X"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "signup too");
    assert_eq!(count(&app, "apps").await, apps);
    assert_eq!(count(&app, "accounts").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_token_forms_show_inline_errors() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let res = s
        .post_form("/settings/tokens", &[("name", ""), ("scopes", "root")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("Name can&#39;t be empty."), "{html}");
    assert!(html.contains("Unknown scope &#34;root&#34;"), "{html}");
    let res = s
        .post_form("/settings/tokens", &[("name", "n"), ("expires_in_days", "soon")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Enter a whole number"));
    assert_eq!(count(&app, "api_tokens").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_api_bodies_get_json_errors_naming_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let token = s.create_token("admin", &["read", "write"]).await;
    let (apps, tokens) = (count(&app, "apps").await, count(&app, "api_tokens").await);

    let (status, body) = s.api_raw(Method::POST, &token, "/apps", "{\"name\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_json");

    let (status, body) = s.api(Method::POST, &token, "/apps", Some(&json!({"name": 42}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_field");
    assert_eq!(body["error"]["field"], "name");

    let (status, body) = s.api(Method::POST, &token, "/apps", Some(&json!({"name": ""}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "name");
    assert_eq!(body["error"]["message"], "Name can't be empty.");

    let (status, body) = s
        .api(
            Method::POST,
            &token,
            "/apps",
            Some(&json!({"name": "x".repeat(10_240)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "name");

    let (status, body) = s
        .api(
            Method::POST,
            &token,
            "/tokens",
            Some(&json!({"name": "t", "scopes": ["read", "sudo"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "scopes");
    assert!(body["error"]["message"].as_str().unwrap().contains("sudo"));

    let (status, body) = s
        .api(
            Method::POST,
            &token,
            "/tokens",
            Some(&json!({"name": "t", "scopes": ["read", 7]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "scopes[1]");

    let (status, body) = s
        .api(
            Method::POST,
            &token,
            "/tokens",
            Some(&json!({"name": "t", "scopes": ["read"], "admin": true})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown fields are refused: {body}");

    let (status, body) = s
        .api(
            Method::POST,
            &token,
            "/tokens",
            Some(&json!({"name": "t", "scopes": ["read"], "app_id": 999_999})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "app_id");

    assert_eq!(count(&app, "apps").await, apps);
    assert_eq!(count(&app, "api_tokens").await, tokens);
}
