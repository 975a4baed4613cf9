//! The ingest quota per account: a burst over it is answered 429 with `Retry-After` (nothing
//! stored), and clients that retry as the Segment SDKs do get every event in, stored once.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

const QUOTA: u32 = 200;
const CLIENTS: usize = 6;
const BATCHES: usize = 5;
const PER_BATCH: usize = 20;

/// Sends one batch until it is accepted, sleeping `Retry-After` after each 429 (as Segment's
/// SDKs do); returns how many 429s it got.
async fn send_like_an_sdk(client: reqwest::Client, url: String, write_key: String, body: Value) -> usize {
    let mut refused = 0;
    loop {
        let res = client
            .post(&url)
            .basic_auth(&write_key, Some(""))
            .json(&body)
            .send()
            .await
            .unwrap();
        match res.status() {
            StatusCode::OK => return refused,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=5).contains(&wait), "Retry-After {wait}");
                let error: Value = res.json().await.unwrap();
                assert_eq!(error["error"]["code"], "over_quota", "{error}");
                refused += 1;
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            other => panic!("{other}: {}", res.text().await.unwrap_or_default()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_quota_gets_429_and_retrying_per_retry_after_stores_every_event_once() {
    let app = TestApp::spawn_with(|c| c.ingest_events_per_second = QUOTA).await;
    let s = app.session();
    s.signup(&unique("quota@example.com"), "Quota Co").await;
    let token = s.create_token("all", &["read", "ingest"]).await;
    let (_, apps) = s.api(Method::GET, &token, "/apps", None).await;
    let write_key = apps["data"][0]["write_key"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        for b in 0..BATCHES {
            let batch: Vec<Value> = (0..PER_BATCH)
                .map(|i| json!({"type": "track", "userId": "u", "event": "Burst", "messageId": format!("q-{c}-{b}-{i}")}))
                .collect();
            tasks.push(tokio::spawn(send_like_an_sdk(
                client.clone(),
                format!("{}/v1/batch", app.base),
                write_key.clone(),
                json!({"batch": batch}),
            )));
        }
    }
    let mut refused = 0;
    for t in tasks {
        refused += t.await.unwrap();
    }
    let total = CLIENTS * BATCHES * PER_BATCH;
    println!(
        "quota: {total} events at {QUOTA}/s took {:.1} s with {refused} answers 429",
        started.elapsed().as_secs_f64()
    );
    assert!(refused > 0, "the burst went over the quota");

    // The API's own endpoint shares the quota: once a batch larger than the bucket is in, the
    // next request waits.
    let big = json!({"batch": (0..250).map(|i| json!({"type": "track", "userId": "u", "event": "Big", "messageId": format!("big-{i}")})).collect::<Vec<_>>()});
    loop {
        let (status, body) = s.api(Method::POST, &token, "/events", Some(&big)).await;
        if status == StatusCode::ACCEPTED {
            break;
        }
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let res = s
        .client
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(&token)
        .json(&json!({"type": "track", "userId": "u", "event": "Late", "messageId": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));

    let db = sea_orm::Database::connect(app.database_url()).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT message_id FROM events WHERE name = 'Burst'",
        ))
        .await
        .unwrap();
    let ids: HashSet<String> = rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect();
    assert_eq!(rows.len(), total, "every event stored exactly once");
    assert_eq!(ids.len(), total);
}
