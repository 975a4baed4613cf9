//! How delivery copes when the receiver or the input misbehaves: retries with the same id and
//! body, timeouts, redirects and `Retry-After`, batches that close, refused ingest, duplicates
//! delivered once and private targets blocked.

use std::time::Duration;

use herald_tests::TestApp;
use herald_tests::fixtures::{WAIT, account, send, webhook};
use herald_tests::receiver::{Receiver, Reply};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_the_same_id_and_body_until_delivered() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    rx.script(vec![
        Reply::Status(500, "boom 1"),
        Reply::Status(502, "boom 2"),
        Reply::Status(503, "boom 3"),
    ]);
    let (id, _) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(&s, &token, json!({"type": "track", "userId": "u", "event": "retry me"})).await;
    let got = rx.take(4, WAIT).await;
    assert!(
        got.windows(2)
            .all(|w| w[0].header("webhook-id") == w[1].header("webhook-id")),
        "same webhook-id on every attempt"
    );
    assert!(
        got.windows(2).all(|w| w[0].body == w[1].body),
        "same body bytes on every attempt"
    );
    assert!(
        rx.drain(Duration::from_millis(500)).await.is_empty(),
        "exactly 4 attempts"
    );
    let db = sea_orm::Database::connect(app.database_url()).await.unwrap();
    use sea_orm::{ConnectionTrait, Statement};
    let sql = format!(
        "SELECT d.status, d.attempts, (SELECT COUNT(*) FROM delivery_attempts a WHERE a.delivery_id = d.id) AS logged \
         FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE w.public_id = '{id}'"
    );
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "status").unwrap(), "succeeded");
    assert_eq!(row.try_get::<i32>("", "attempts").unwrap(), 4);
    assert_eq!(
        row.try_get::<i64>("", "logged").unwrap(),
        4,
        "every attempt is in the attempt log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_redirects_and_retry_after_are_handled() {
    let app = TestApp::spawn_with(|c| {
        c.retry_schedule = vec![Duration::ZERO, Duration::from_millis(50), Duration::from_millis(50)];
    })
    .await;
    let (s, token) = account(&app).await;

    let mut slow = Receiver::start().await;
    slow.script(vec![Reply::Hang(Duration::from_secs(4))]);
    webhook(
        &s,
        &token,
        &slow.url,
        json!({"patterns": [{"pattern": "slow"}], "timeout_secs": 1}),
    )
    .await;
    send(&s, &token, json!({"type": "track", "userId": "u", "event": "slow"})).await;
    let first = slow.next(WAIT).await;
    let second = slow.next(WAIT).await;
    let gap = second.at - first.at;
    assert!(
        gap >= Duration::from_millis(1000) && gap < Duration::from_millis(3500),
        "the 1 s timeout cut the hang: {gap:?}"
    );

    let mut limited = Receiver::start().await;
    limited.script(vec![Reply::RetryAfter(429, 2)]);
    webhook(&s, &token, &limited.url, json!({"patterns": [{"pattern": "limited"}]})).await;
    send(&s, &token, json!({"type": "track", "userId": "u", "event": "limited"})).await;
    let first = limited.next(WAIT).await;
    let second = limited.next(WAIT).await;
    assert!(
        second.at - first.at >= Duration::from_secs(2),
        "Retry-After: 2 is honoured: {:?}",
        second.at - first.at
    );

    let mut moved = Receiver::start().await;
    let target = Receiver::start().await;
    moved.answer_by_default(Reply::Redirect(target.url.clone()));
    webhook(&s, &token, &moved.url, json!({"patterns": [{"pattern": "moved"}]})).await;
    send(&s, &token, json!({"type": "track", "userId": "u", "event": "moved"})).await;
    moved.take(3, WAIT).await;
    assert!(
        moved.drain(Duration::from_millis(400)).await.is_empty(),
        "a redirect is a failure, retried until the schedule runs out"
    );
    let mut target = target;
    assert!(
        target.drain(Duration::from_millis(300)).await.is_empty(),
        "redirects are never followed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_close_at_max_events_and_after_max_wait() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    webhook(
        &s,
        &token,
        &rx.url,
        // The wait is long enough that two requests of 500 fill a batch first on a busy machine.
        json!({"patterns": [{"pattern": "*"}], "batching": {"max_events": 1000, "max_wait_secs": 5}}),
    )
    .await;
    for chunk in 0..5 {
        let batch: Vec<Value> = (0..500)
            .map(|i| json!({"type": "track", "userId": "u", "event": "bulk", "messageId": format!("m-{chunk}-{i}")}))
            .collect();
        send(&s, &token, json!({"batch": batch})).await;
    }
    let got = rx.take(3, WAIT).await;
    let sizes: Vec<usize> = got.iter().map(|r| r.json().as_array().unwrap().len()).collect();
    assert_eq!(sizes, [1000, 1000, 500]);
    let mut ids: Vec<String> = got
        .iter()
        .flat_map(|r| {
            r.json()
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["messageId"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2500, "every event exactly once");

    let sent = std::time::Instant::now();
    send(&s, &token, json!({"type": "track", "userId": "u", "event": "lonely"})).await;
    let lone = rx.next(WAIT).await;
    assert_eq!(lone.json().as_array().unwrap().len(), 1);
    assert!(lone.at - sent >= Duration::from_millis(4900), "sent after the max wait");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ingest_is_refused_whole_duplicates_are_delivered_once_and_private_targets_are_blocked() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    let (status, err) = s
        .api(
            Method::POST,
            &token,
            "/events",
            Some(&json!({"batch": [
                {"type": "track", "userId": "u", "event": "ok"},
                {"type": "track", "userId": "u"}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "batch[1].event");
    let (status, err) = s
        .api_raw(Method::POST, &token, "/events", "{\"type\": \"track\",")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "invalid_json");
    let big = "x".repeat(600 * 1024);
    let (status, err) = s
        .api(
            Method::POST,
            &token,
            "/events",
            Some(&json!({"type": "track", "userId": "u", "event": "big", "properties": {"blob": big}})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    let (status, _) = s
        .api(
            Method::POST,
            "hrld_wrong",
            "/events",
            Some(&json!({"type": "track", "userId": "u", "event": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let reader = s.create_token("reader", &["read"]).await;
    let (status, _) = s
        .api(
            Method::POST,
            &reader,
            "/events",
            Some(&json!({"type": "track", "userId": "u", "event": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        rx.drain(Duration::from_millis(400)).await.is_empty(),
        "nothing from refused requests"
    );

    let event = json!({"type": "track", "userId": "u", "event": "once", "messageId": "fixed-1"});
    assert_eq!(send(&s, &token, event.clone()).await["accepted"], 1);
    let again = send(&s, &token, event).await;
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"], 1);
    rx.next(WAIT).await;
    assert!(
        rx.drain(Duration::from_millis(500)).await.is_empty(),
        "a repeated messageId is delivered once"
    );
    let twice = json!({"type": "track", "userId": "u", "event": "twice", "messageId": "fixed-2"});
    let batch = send(&s, &token, json!({"batch": [twice.clone(), twice]})).await;
    assert_eq!(
        (batch["accepted"].as_u64(), batch["duplicates"].as_u64()),
        (Some(1), Some(1)),
        "the same messageId twice in one batch is stored once: {batch}"
    );
    assert_eq!(rx.next(WAIT).await.json()["event"], "twice");
    assert!(
        rx.drain(Duration::from_millis(500)).await.is_empty(),
        "a messageId repeated within a batch is delivered once"
    );

    let strict = TestApp::spawn_with(|c| c.allow_private_targets = false).await;
    let (s2, token2) = account(&strict).await;
    let mut local = Receiver::start().await;
    let (id, _) = webhook(&s2, &token2, &local.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(&s2, &token2, json!({"type": "track", "userId": "u", "event": "ssrf"})).await;
    assert!(
        local.drain(Duration::from_millis(800)).await.is_empty(),
        "loopback targets are refused"
    );
    let db = sea_orm::Database::connect(strict.database_url()).await.unwrap();
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT error_kind FROM delivery_attempts",
        ))
        .await
        .unwrap()
        .expect("an attempt was recorded");
    assert_eq!(
        row.try_get::<Option<String>>("", "error_kind").unwrap().as_deref(),
        Some("blocked"),
        "webhook {id}"
    );
}
