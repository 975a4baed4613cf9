//! A delivery survives a crash: kill the real process mid-flight, restart it, and every event
//! is still delivered at least once — and every delivery's attempt count still equals its
//! attempt rows (an attempt and its outcome are committed together).

use std::collections::HashMap;
use std::time::Duration;

use herald_tests::http::Session;
use herald_tests::process::HeraldProcess;
use herald_tests::receiver::{Receiver, Reply};
use herald_tests::unique;
use migration::testing::ThrowawayDb;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_process_mid_flight_loses_no_event() {
    let db = ThrowawayDb::create().await;
    let env = vec![
        ("HERALD_DATABASE_URL", db.url().to_owned()),
        ("HERALD_SECRET_KEY", "ab".repeat(32)),
        ("HERALD_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ("HERALD_RETRY_SCHEDULE", "0,100ms,200ms,400ms,800ms,1s,1s,1s".to_owned()),
        ("HERALD_LEASE_SECS", "3".to_owned()),
        ("HERALD_WORKERS", "16".to_owned()),
    ];
    let mut rx = Receiver::start().await;
    rx.answer_by_default(Reply::Hang(Duration::from_millis(20)));
    let first = HeraldProcess::start(&["serve"], &env).await;
    let s = Session::new(&first.base);
    s.signup(&unique("crash@example.com"), "Crash").await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;
    let (status, _) = s
        .api(
            Method::POST,
            &token,
            "/webhooks",
            Some(&json!({"name": "slow", "url": rx.url, "patterns": [{"pattern": "*"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    const N: usize = 2000;
    s.post_track_batches(&token, "crash", N).await;
    let before = rx.take(300, Duration::from_secs(60)).await;
    first.kill().await;
    let second = HeraldProcess::start(&["serve"], &env).await;

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut webhook_ids: HashMap<String, usize> = HashMap::new();
    for r in &before {
        *seen
            .entry(r.json()["messageId"].as_str().unwrap().to_owned())
            .or_default() += 1;
        *webhook_ids
            .entry(r.header("webhook-id").unwrap().to_owned())
            .or_default() += 1;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while seen.len() < N {
        let r = tokio::time::timeout_at(deadline, async { rx.take(1, Duration::from_secs(120)).await.remove(0) })
            .await
            .unwrap_or_else(|_| panic!("only {} of {N} events delivered after the restart", seen.len()));
        *seen
            .entry(r.json()["messageId"].as_str().unwrap().to_owned())
            .or_default() += 1;
        *webhook_ids
            .entry(r.header("webhook-id").unwrap().to_owned())
            .or_default() += 1;
    }
    let duplicates: usize = webhook_ids.values().map(|n| n - 1).sum();
    println!(
        "crash test: {N} events delivered, {duplicates} duplicate requests (same webhook-id) from attempts in flight at the kill"
    );
    assert_eq!(seen.len(), N, "every event delivered at least once");
    assert!(
        duplicates <= 256,
        "duplicates are bounded by the claims in flight: {duplicates}"
    );
    let (settled, out_of_step) = settle_state(db.url()).await;
    assert_eq!(settled, N, "every delivery ends succeeded");
    assert_eq!(
        out_of_step, 0,
        "deliveries whose attempt count differs from their attempt rows"
    );
    drop(second);
}

/// Waits until no delivery is queued or in flight, then returns (succeeded deliveries,
/// deliveries whose `attempts` differs from their rows in `delivery_attempts`).
async fn settle_state(url: &str) -> (usize, usize) {
    let db = sea_orm::Database::connect(url).await.expect("the test database opens");
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .expect(sql)
                .expect("one row");
            usize::try_from(row.try_get_by_index::<i64>(0).expect("a count")).expect("a count")
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while count("SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'in_flight')").await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries still queued after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settled = count("SELECT COUNT(*) FROM deliveries WHERE status = 'succeeded'").await;
    let out_of_step = count(
        "SELECT COUNT(*) FROM deliveries d WHERE d.attempts <> \
         (SELECT COUNT(*) FROM delivery_attempts a WHERE a.delivery_id = d.id)",
    )
    .await;
    (settled, out_of_step)
}
