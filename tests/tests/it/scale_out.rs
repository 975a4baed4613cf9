//! Scale-out on PostgreSQL: stateless `serve --no-workers` and `worker` processes share one
//! database; the queue hands each delivery to exactly one worker, and a killed worker's share is
//! finished by the others.

use std::collections::HashMap;
use std::time::Duration;

use herald_tests::http::Session;
use herald_tests::process::HeraldProcess;
use herald_tests::receiver::{Received, Receiver, Reply};
use herald_tests::unique;
use migration::testing::ThrowawayDb;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn count(into: &mut HashMap<String, usize>, got: &[Received]) {
    for r in got {
        *into.entry(r.header("webhook-id").unwrap().to_owned()).or_default() += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_web_and_two_worker_processes_deliver_everything_once_and_survive_a_killed_worker() {
    if std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .is_none()
    {
        println!(
            "SKIPPED scale-out test: it needs PostgreSQL (set TEST_DATABASE_URL); SQLite is single-process by design"
        );
        return;
    }
    let db = ThrowawayDb::create().await;
    let env = vec![
        ("HERALD_DATABASE_URL", db.url().to_owned()),
        ("HERALD_SECRET_KEY", "cd".repeat(32)),
        ("HERALD_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ("HERALD_LEASE_SECS", "3".to_owned()),
        ("HERALD_WORKERS", "16".to_owned()),
    ];
    let mut rx = Receiver::start().await;
    let web = HeraldProcess::start(&["serve", "--no-workers"], &env).await;
    let w1 = HeraldProcess::start(&["worker"], &env).await;
    let w2 = HeraldProcess::start(&["worker"], &env).await;
    let s = Session::new(&web.base);
    s.signup(&unique("scale@example.com"), "Scale").await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;
    let (status, _) = s
        .api(
            Method::POST,
            &token,
            "/webhooks",
            Some(&json!({"name": "all", "url": rx.url, "patterns": [{"pattern": "*"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    const N: usize = 5000;
    s.post_track_batches(&token, "a", N).await;
    let got = rx.take(N, Duration::from_secs(120)).await;
    let mut seen = HashMap::new();
    count(&mut seen, &got);
    assert_eq!(seen.len(), N, "every event delivered");
    assert!(seen.values().all(|n| *n == 1), "no duplicates without a kill");
    assert!(rx.drain(Duration::from_millis(500)).await.is_empty());

    rx.answer_by_default(Reply::Hang(Duration::from_millis(10)));
    s.post_track_batches(&token, "b", N).await;
    let before = rx.take(500, Duration::from_secs(60)).await;
    w1.kill().await;
    let mut seen = HashMap::new();
    count(&mut seen, &before);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while seen.len() < N {
        let more = tokio::time::timeout_at(deadline, rx.take(1, Duration::from_secs(120)))
            .await
            .unwrap_or_else(|_| panic!("only {} of {N} delivered after the kill", seen.len()));
        count(&mut seen, &more);
    }
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    println!(
        "scale-out: {N} events delivered by the surviving worker; {duplicates} duplicates from attempts in flight at the kill"
    );
    assert!(
        duplicates <= 16 * 4,
        "duplicates are bounded by the killed worker's claims: {duplicates}"
    );
    drop((w2, web));
}
