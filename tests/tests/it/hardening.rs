//! Issue 15, "Guard the accounts": the dashboard's security headers, and corrupt stored JSON
//! answered as an error (never shown as empty).

use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::json;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn every_dashboard_response_carries_the_security_headers_and_hsts_only_on_https() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("headers@example.com"), "Headers Co").await;
    for path in [
        "/login",
        "/overview",
        "/settings/webhooks",
        "/settings/audit-log",
        "/no-such-page",
        "/",
    ] {
        let res = s.get(path).await;
        assert_eq!(header(&res, "content-security-policy"), Some(CSP), "GET {path}");
        assert_eq!(header(&res, "x-content-type-options"), Some("nosniff"), "GET {path}");
        assert_eq!(header(&res, "referrer-policy"), Some("same-origin"), "GET {path}");
        assert_eq!(header(&res, "x-frame-options"), Some("DENY"), "GET {path}");
        assert_eq!(
            header(&res, "strict-transport-security"),
            None,
            "no HSTS over http: GET {path}"
        );
    }
    let secure = TestApp::spawn_with(|c| c.base_url = Some("https://herald.example.com".into())).await;
    let res = secure.session().get("/login").await;
    assert_eq!(
        header(&res, "strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    assert_eq!(header(&res, "content-security-policy"), Some(CSP));
}

#[tokio::test]
async fn corrupt_stored_json_is_an_error_never_shown_as_empty() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("corrupt@example.com"), "Corrupt Co").await;
    let read = s.create_token("reader", &["read"]).await;
    let ingest = s.create_token("ingest", &["ingest"]).await;
    let (status, _) = s
        .api(
            Method::POST,
            &ingest,
            "/events",
            Some(&json!({"type": "identify", "userId": "u1", "traits": {"plan": "pro"}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let db = sea_orm::Database::connect(app.database_url()).await.unwrap();
    db.execute_unprepared("UPDATE audit_log SET diff = '{not json'")
        .await
        .unwrap();
    db.execute_unprepared("UPDATE profiles SET traits = '[1,'")
        .await
        .unwrap();

    let res = s.get("/settings/audit-log").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = res.text().await.unwrap();
    assert!(html.contains("Something went wrong"), "{html}");
    let (status, body) = s.api(Method::GET, &read, "/audit-log", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["error"]["code"], "internal", "{body}");

    // A later identify would merge into the corrupt traits: refused, the row left as it was.
    let (status, body) = s
        .api(
            Method::POST,
            &ingest,
            "/events",
            Some(&json!({"type": "identify", "userId": "u1", "traits": {"seats": 3}})),
        )
        .await;
    assert!(status.is_server_error(), "{status} {body}");
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT traits FROM profiles",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "traits").unwrap(), "[1,");
}
