//! Issue 13: health is counted over attempts, once, and stays index-driven. A seeded history
//! with known counts is read back through the API, the pages and the domain functions, and
//! every query those make on `delivery_attempts` is checked with `EXPLAIN`.

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde_json::json;

use herald::domain::deliveries::{self, Range, Scope};
use herald_tests::TestApp;
use herald_tests::explain::{Recorder, plan};
use herald_tests::fixtures::{account, webhook};

const HOUR: i64 = 3_600_000;

/// One seeded attempt: hours ago, HTTP status (none for a timeout), duration, trigger.
struct Seed(i64, Option<i32>, i32, &'static str);

/// The history: a week of a webhook that was fine and now fails.
///  - older than a day: 5 + 5 delivered (10 ms), 5 answered 500 (100 ms);
///  - last day: 20 delivered (10 ms), then 8 answered 500 (100 ms), then 2 timeouts (5 s);
///  - one failed test send an hour ago, which must count nowhere.
fn history() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut add = |n, seed: fn() -> Seed| out.extend((0..n).map(|_| seed()));
    add(5, || Seed(100, Some(200), 10, "scheduled"));
    add(5, || Seed(50, Some(200), 10, "scheduled"));
    add(5, || Seed(30, Some(500), 100, "scheduled"));
    add(20, || Seed(20, Some(200), 10, "scheduled"));
    add(8, || Seed(3, Some(500), 100, "manual"));
    add(2, || Seed(2, None, 5000, "scheduled"));
    add(1, || Seed(1, Some(500), 3, "test"));
    out
}

async fn exec(db: &DatabaseConnection, sql: String) {
    db.execute_unprepared(&sql).await.expect(&sql);
}

/// Inserts the history's deliveries and attempts for webhook `public_id`; returns
/// `(account id, webhook row id, now)`.
async fn seed(db: &DatabaseConnection, public_id: &str) -> (i64, i64, i64) {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT id, account_id FROM webhooks WHERE public_id = '{public_id}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    let (webhook_id, account_id): (i64, i64) = (row.try_get("", "id").unwrap(), row.try_get("", "account_id").unwrap());
    let now = herald::timestamps::now_ms();
    // A delivered one holds the history; a retrying one waits an hour for its third attempt; a
    // test send.
    for (status, lane, trigger) in [
        ("succeeded", 0, "scheduled"),
        ("pending", 1, "scheduled"),
        ("failed", 0, "test"),
    ] {
        exec(
            db,
            format!(
                "INSERT INTO deliveries (account_id, webhook_id, status, lane, attempts, next_attempt_at, \"trigger\", \
                 body, event_count, event_name, created_at, updated_at) VALUES ({account_id}, {webhook_id}, '{status}', \
                 {lane}, 2, {}, '{trigger}', '{{}}', 1, 'Seeded', {}, {now})",
                now + HOUR,
                now - 101 * HOUR
            ),
        )
        .await;
    }
    let ids: Vec<i64> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT id FROM deliveries WHERE webhook_id = {webhook_id} ORDER BY id"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("", "id").unwrap())
        .collect();
    for (i, Seed(hours, status, ms, trigger)) in history().into_iter().enumerate() {
        let delivery = if trigger == "test" { ids[2] } else { ids[0] };
        let (status, kind, message) = match status {
            Some(s) if (200..300).contains(&s) => (s.to_string(), "NULL", "NULL"),
            Some(s) => (s.to_string(), "'http_status'", "NULL"),
            None => ("NULL".to_owned(), "'timeout'", "'no response within 5 s'"),
        };
        exec(
            db,
            format!(
                "INSERT INTO delivery_attempts (account_id, delivery_id, webhook_id, attempt, \"trigger\", started_at, \
                 duration_ms, request_headers, response_status, error_kind, error_message) VALUES ({account_id}, \
                 {delivery}, {webhook_id}, {}, '{trigger}', {}, {ms}, '[]', {status}, {kind}, {message})",
                i + 1,
                now - hours * HOUR
            ),
        )
        .await;
    }
    (account_id, webhook_id, now)
}

#[tokio::test]
async fn health_counts_attempts_of_a_seeded_history_and_its_queries_use_the_indexes() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let (hook, _) = webhook(&s, &token, "http://127.0.0.1:9/unused", json!({"name": "Seeded"})).await;
    let db = Database::connect(app.database_url()).await.unwrap();
    let (account_id, webhook_id, now) = seed(&db, &hook).await;

    let (status, stats) = s
        .api(Method::GET, &token, &format!("/webhooks/{hook}/stats"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["state"], "failing");
    assert_eq!(stats["failing_since"], herald::timestamps::rfc3339(now - 3 * HOUR));
    assert_eq!(stats["last_success_at"], herald::timestamps::rfc3339(now - 20 * HOUR));
    assert_eq!(
        stats["last_24h"],
        json!({"attempts": 30, "succeeded": 20, "failed": 10, "success_rate": 200.0 / 3.0, "p50_ms": 10, "p95_ms": 100})
    );
    assert_eq!(
        stats["last_7d"],
        json!({"attempts": 45, "succeeded": 30, "failed": 15, "success_rate": 200.0 / 3.0, "p50_ms": 10, "p95_ms": 100})
    );
    assert_eq!(stats["retrying"], 1);
    assert_eq!(stats["last_error"]["outcome"], "timeout: no response within 5 s");

    // The list says "failing", the page shows the same figures, and the charts have one bar
    // per hour with attempts: 3 in the last day, 6 in the week.
    let list = s.page("/settings/webhooks").await;
    let row = &list[list.find(&format!("id=\"webhook-{hook}\"")).expect("the webhook's row")..];
    assert!(row[..row.find("</tr>").unwrap()].contains(">failing</span>"), "{row}");
    let page = s.page(&format!("/settings/webhooks/{hook}")).await;
    assert!(
        page.contains("id=\"failed-count\">10 / 15<"),
        "failed attempts 24 h / 7 d"
    );
    assert!(page.contains("of 30 attempts"));
    assert_eq!(page.matches("<g class=\"bar\"").count(), 3);
    let week = s.page(&format!("/settings/webhooks/{hook}?range=7d")).await;
    assert_eq!(week.matches("<g class=\"bar\"").count(), 6);
    let overview = s.page("/overview?range=7d").await;
    assert_eq!(overview.matches("<g class=\"bar\"").count(), 6);
    assert!(overview.contains("id=\"total-failed\">15<"));

    // Every query health and the charts send to delivery_attempts is answered from an index.
    let recorder = Recorder::new(db.clone());
    deliveries::health(&recorder, account_id, &hook).await.unwrap();
    deliveries::summaries(
        &recorder,
        &[herald::domain::webhooks::get(&db, account_id, &hook).await.unwrap()],
    )
    .await
    .unwrap();
    let week = deliveries::series(&recorder, Scope::Webhook(webhook_id), Range::Week)
        .await
        .unwrap();
    assert_eq!(week.iter().filter(|b| b.succeeded + b.failed > 0).count(), 6);
    deliveries::series(&recorder, Scope::Account(account_id), Range::Day)
        .await
        .unwrap();
    let statements = recorder.statements_with("delivery_attempts");
    assert!(statements.len() >= 8, "{} statements", statements.len());
    let txn = recorder.inner().begin().await.unwrap();
    let postgres = txn.get_database_backend() == DbBackend::Postgres;
    if postgres {
        // A table of a few dozen rows is cheapest to scan; ask whether the index can answer.
        txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
    }
    for stmt in &statements {
        let plan = plan(&txn, stmt).await;
        let full_scan = if postgres {
            plan.contains("Seq Scan on delivery_attempts")
        } else {
            plan.lines().any(|l| l.starts_with("SCAN delivery_attempts"))
        };
        assert!(!full_scan, "{}\n{plan}", stmt.sql);
        assert!(plan.contains("delivery_attempts_webhook_time"), "{}\n{plan}", stmt.sql);
    }
    txn.rollback().await.unwrap();
}
