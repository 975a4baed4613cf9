//! A full SQLite database (simulated with `HERALD_SQLITE_MAX_PAGES`, i.e. `PRAGMA
//! max_page_count`): ingest answers 503 with `Retry-After` and says the database is full, stores
//! nothing of the refused request, the dashboard and the API still read, and once pages are freed
//! (as retention does) ingest resumes without a restart.

use std::time::Duration;

use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

/// 1 MB of 4 KB pages: room for the schema and an account, and a few batches of events.
const MAX_PAGES: u32 = 256;

async fn count_events(url: &str) -> i64 {
    let db = Database::connect(url).await.expect("test connection");
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM events",
        ))
        .await
        .expect("count")
        .expect("a row");
    row.try_get::<i64>("", "n").expect("n")
}

fn batch(tag: usize) -> Value {
    let filler = "x".repeat(3000);
    let events: Vec<Value> = (0..50)
        .map(|i| json!({"type": "track", "userId": "u", "event": "fill", "messageId": format!("fill-{tag}-{i}"), "properties": {"filler": filler}}))
        .collect();
    json!({ "batch": events })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_refuses_ingest_with_503_keeps_reading_and_recovers_without_a_restart() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("skipped: simulates a full SQLite database (max_page_count); this run is on PostgreSQL");
        return;
    }
    let app = TestApp::spawn_with(|c| c.sqlite_max_pages = Some(MAX_PAGES)).await;
    let s = app.session();
    s.signup(&unique("full@example.com"), "Full").await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;

    let mut refused = None;
    for tag in 0..40 {
        let before = count_events(app.database_url()).await;
        let res = s
            .client
            .post(format!("{}/api/v1/events", app.base))
            .bearer_auth(&token)
            .json(&batch(tag))
            .send()
            .await
            .expect("ingest");
        if res.status() == StatusCode::ACCEPTED {
            continue;
        }
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let retry_after = res
            .headers()
            .get("retry-after")
            .expect("Retry-After")
            .to_str()
            .unwrap()
            .to_owned();
        assert!(retry_after.parse::<u64>().is_ok_and(|s| s > 0), "{retry_after}");
        let body: Value = res.json().await.expect("JSON error");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("full"), "{body}");
        assert_eq!(
            count_events(app.database_url()).await,
            before,
            "nothing of the refused batch stored"
        );
        refused = Some(tag);
        break;
    }
    let refused = refused.expect("the database filled up");

    s.page("/overview").await;
    s.page("/settings/tokens").await;
    let (status, list) = s.api(Method::GET, &token, "/tokens", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");

    let db = Database::connect(app.database_url()).await.expect("test connection");
    db.execute_unprepared("DELETE FROM events").await.expect("free pages");
    let mut resumed = false;
    for _ in 0..20 {
        let (status, res) = s.api(Method::POST, &token, "/events", Some(&batch(refused))).await;
        if status == StatusCode::ACCEPTED {
            resumed = true;
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{res}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(resumed, "ingest resumed once pages were freed, without a restart");
    assert_eq!(count_events(app.database_url()).await, 50);
}
