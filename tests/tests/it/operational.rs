//! Operational events (issue 14): a webhook that names `herald.webhook.failing`, `.recovered`
//! or `.disabled` hears, once and signed like any delivery, when another webhook of its account
//! gets paused by its circuit breaker, recovers, or is disabled by Herald (here: a 410).

use std::time::Duration;

use herald::config::Config;
use herald_jobs::signing;
use herald_tests::receiver::{Received, Receiver, Reply};
use herald_tests::{Session, TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn tenant(app: &TestApp) -> (Session, String) {
    let s = app.session();
    s.signup(&unique("ops@example.com"), "Ops").await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;
    (s, token)
}

/// Creates a webhook; returns its public id and secret.
async fn webhook(s: &Session, token: &str, name: &str, url: &str, patterns: &[&str]) -> (String, String) {
    let patterns: Vec<Value> = patterns.iter().map(|p| json!({"pattern": p})).collect();
    let body = json!({"name": name, "url": url, "patterns": patterns});
    let (status, res) = s.api(Method::POST, token, "/webhooks", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    (
        res["id"].as_str().unwrap().to_owned(),
        res["secret"].as_str().unwrap().to_owned(),
    )
}

/// The monitor: subscribed to the three operational events, and to nothing else.
async fn monitor(s: &Session, token: &str, url: &str) -> String {
    let names = [
        "herald.webhook.failing",
        "herald.webhook.recovered",
        "herald.webhook.disabled",
    ];
    webhook(s, token, "on-call", url, &names).await.1
}

async fn send(s: &Session, token: &str, n: usize) {
    let batch: Vec<Value> = (0..n)
        .map(|i| json!({"type": "track", "userId": "u", "event": format!("e-{i}")}))
        .collect();
    let (status, res) = s
        .api(Method::POST, token, "/events", Some(&json!({"batch": batch})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{res}");
}

/// Checks the Standard Webhooks signature of a request and returns its body.
fn signed(secret: &str, got: &Received) -> Value {
    let ts: i64 = got.header("webhook-timestamp").unwrap().parse().unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    assert!(
        signing::verify_standard(
            secret,
            got.header("webhook-id").unwrap(),
            ts,
            now,
            &got.body,
            got.header("webhook-signature").unwrap()
        ),
        "signed with the monitor's secret"
    );
    got.json()
}

/// A monitor subscribed to the operational events, and a webhook `name` of the same account whose
/// endpoint answers `reply`, sent `events` events.
struct Watched {
    on_call: Receiver,
    secret: String,
    rx: Receiver,
    hook: String,
}

async fn watched(s: &Session, token: &str, name: &str, reply: Reply, events: usize) -> Watched {
    let on_call = Receiver::start().await;
    let secret = monitor(s, token, &on_call.url).await;
    let rx = Receiver::start().await;
    rx.answer_by_default(reply);
    let (hook, _) = webhook(s, token, name, &rx.url, &["*"]).await;
    send(s, token, events).await;
    Watched {
        on_call,
        secret,
        rx,
        hook,
    }
}

impl Watched {
    /// The monitor's next request, checked to be signed with its secret; its body.
    async fn next_event(&mut self, wait: Duration) -> Value {
        let got = self.on_call.take(1, wait).await;
        signed(&self.secret, &got[0])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opening_and_recovering_reach_a_subscribed_webhook_once_each() {
    let schedule = vec![Duration::ZERO, Duration::from_millis(300), Duration::from_millis(300)];
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.retry_schedule = schedule;
        c.breaker_probe = Duration::from_millis(500);
    })
    .await;
    let (s, token) = tenant(&app).await;
    let mut w = watched(&s, &token, "orders", Reply::Status(500, "down"), 20).await;

    let body = w.next_event(Duration::from_secs(20)).await;
    assert_eq!(body["type"], "herald.webhook.failing", "{body}");
    assert_eq!(body["webhook"]["id"], w.hook.as_str(), "{body}");
    assert_eq!(body["webhook"]["name"], "orders", "{body}");
    assert_eq!(body["webhook"]["url"], w.rx.url.as_str(), "{body}");
    assert_eq!(body["state"], "paused", "{body}");
    assert!(
        body["failing_since"].is_string() && body["next_probe_at"].is_string(),
        "{body}"
    );
    assert!(w.on_call.drain(Duration::from_millis(1500)).await.is_empty(), "once");

    w.rx.answer_by_default(Reply::Status(200, "ok"));
    let body = w.next_event(Duration::from_secs(20)).await;
    assert_eq!(body["type"], "herald.webhook.recovered", "{body}");
    assert_eq!(body["state"], "healthy", "{body}");
    assert!(w.on_call.drain(Duration::from_millis(1000)).await.is_empty(), "once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_reaches_a_subscribed_webhook_once() {
    let app = TestApp::spawn().await;
    let (s, token) = tenant(&app).await;
    assert!(
        s.page("/settings/webhooks/new")
            .await
            .contains("<option value=\"herald.webhook.disabled\""),
        "the form offers the operational events"
    );
    let mut w = watched(&s, &token, "legacy", Reply::Status(410, "gone"), 3).await;

    let body = w.next_event(Duration::from_secs(15)).await;
    assert_eq!(body["type"], "herald.webhook.disabled", "{body}");
    assert_eq!(body["webhook"]["id"], w.hook.as_str(), "{body}");
    assert_eq!(body["state"], "disabled", "{body}");
    assert!(body["reason"].as_str().unwrap().contains("410"), "{body}");
    assert!(w.on_call.drain(Duration::from_millis(1500)).await.is_empty(), "once");
    assert!(w.rx.drain(Duration::from_millis(10)).await.len() <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_disable_reaches_a_subscribed_webhook_once() {
    let app = TestApp::spawn_with(|c: &mut Config| {
        c.retry_schedule = vec![Duration::ZERO];
        c.auto_disable_after = Duration::from_secs(1);
        c.maintenance_every = Duration::from_millis(200);
    })
    .await;
    let (s, token) = tenant(&app).await;
    let mut w = watched(&s, &token, "billing", Reply::Status(500, "down"), 1).await;

    let body = w.next_event(Duration::from_secs(20)).await;
    assert_eq!(body["type"], "herald.webhook.disabled", "{body}");
    assert_eq!(body["webhook"]["id"], w.hook.as_str(), "{body}");
    assert_eq!(body["state"], "disabled", "{body}");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("every delivery failed for 1 second"),
        "{body}"
    );
    assert!(w.on_call.drain(Duration::from_millis(1500)).await.is_empty(), "once");
}
