//! The workers send from a cached copy of each webhook, checked against the version every claim
//! returns: a change made through the API is obeyed by the very next delivery.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use herald_jobs::signing;
use herald_tests::fixtures::{WAIT, account, send, webhook};
use herald_tests::receiver::Receiver;
use herald_tests::{Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn track(n: usize) -> serde_json::Value {
    json!({"type": "track", "event": format!("Cached {n}"), "userId": "u1"})
}

/// A webhook to a fresh receiver that has just delivered `Cached 1`, so the worker holds it in
/// its cache: (session, token, receiver, webhook id, secret).
async fn a_cached_webhook(app: &TestApp) -> (Session, String, Receiver, String, Option<String>) {
    let (s, token) = account(app).await;
    let mut rx = Receiver::start().await;
    let (id, secret) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(&s, &token, track(1)).await;
    assert_eq!(
        rx.next(WAIT).await.json()["event"],
        "Cached 1",
        "the webhook is cached now"
    );
    (s, token, rx, id, secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_url_gets_the_next_delivery() {
    let app = TestApp::spawn().await;
    let (s, token, mut old, id, _) = a_cached_webhook(&app).await;
    let mut new = Receiver::start().await;
    let (status, body) = s
        .api(
            Method::PATCH,
            &token,
            &format!("/webhooks/{id}"),
            Some(&json!({"url": new.url})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    send(&s, &token, track(2)).await;
    assert_eq!(new.next(WAIT).await.json()["event"], "Cached 2");
    assert!(
        old.drain(Duration::from_millis(300)).await.is_empty(),
        "the old URL got a delivery after the change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_webhook_gets_nothing_more() {
    let app = TestApp::spawn().await;
    let (s, token, mut rx, id, _) = a_cached_webhook(&app).await;
    let (status, body) = s
        .api(Method::POST, &token, &format!("/webhooks/{id}/disable"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for n in 2..=5 {
        send(&s, &token, track(n)).await;
    }
    assert!(
        rx.drain(Duration::from_millis(800)).await.is_empty(),
        "a disabled webhook was sent to"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_the_next_delivery() {
    let app = TestApp::spawn().await;
    let (s, token, mut rx, id, first) = a_cached_webhook(&app).await;
    let first = first.expect("a generated secret");
    let (status, rotated) = s
        .api(
            Method::POST,
            &token,
            &format!("/webhooks/{id}/rotate-secret"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = rotated["secret"].as_str().expect("the new secret").to_owned();
    assert_ne!(second, first);
    send(&s, &token, track(2)).await;
    let got = rx.next(WAIT).await;
    assert!(
        verifies(&second, &got),
        "the delivery after the rotation is signed with the new secret"
    );
    assert!(verifies(&first, &got), "and, during the overlap, with the previous one");
}

fn verifies(secret: &str, got: &herald_tests::receiver::Received) -> bool {
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let ts: i64 = got.header("webhook-timestamp").unwrap().parse().unwrap();
    signing::verify_standard(
        secret,
        got.header("webhook-id").unwrap(),
        ts,
        now,
        &got.body,
        got.header("webhook-signature").unwrap(),
    )
}
