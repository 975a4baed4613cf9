//! The workers send from a cached copy of each webhook, checked against the version every claim
//! returns: a change made through the API is obeyed by the very next delivery.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use herald_jobs::signing;
use herald_tests::TestApp;
use herald_tests::receiver::Receiver;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::delivery::{account, send, webhook};

const WAIT: Duration = Duration::from_secs(15);

fn track(n: usize) -> serde_json::Value {
    json!({"type": "track", "event": format!("Cached {n}"), "userId": "u1"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_url_gets_the_next_delivery() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let (mut old, mut new) = (Receiver::start().await, Receiver::start().await);
    let (id, _) = webhook(&s, &token, &old.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(&s, &token, track(1)).await;
    assert_eq!(
        old.next(WAIT).await.json()["event"],
        "Cached 1",
        "the webhook is cached now"
    );

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
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    let (id, _) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(&s, &token, track(1)).await;
    rx.next(WAIT).await;

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
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    let (id, first) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    let first = first.expect("a generated secret");
    send(&s, &token, track(1)).await;
    let got = rx.next(WAIT).await;
    assert!(verifies(&first, &got), "signed with the first secret");

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
