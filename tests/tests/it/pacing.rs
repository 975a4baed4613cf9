//! Fair, paced and ordered delivery (issue 14), end to end on the real server and a real
//! receiver: a hanging tenant does not slow another, the in-flight cap, the circuit breaker,
//! the rate limit and ordered delivery. On PostgreSQL each test runs a second Herald (a peer
//! with its own workers and queue) on the same database, so the limits are held across
//! processes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use herald::config::Config;
use herald_tests::receiver::{Received, Receiver, Reply};
use herald_tests::{Peer, Session, TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn tenant(app: &TestApp, name: &str) -> (Session, String) {
    let s = app.session();
    s.signup(&unique(&format!("{name}@example.com")), name).await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;
    (s, token)
}

async fn webhook(s: &Session, token: &str, url: &str, extra: Value) -> String {
    let mut body = json!({"name": "hook", "url": url, "patterns": [{"pattern": "*"}]});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (status, res) = s.api(Method::POST, token, "/webhooks", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    res["id"].as_str().or(res["webhook"]["id"].as_str()).unwrap().to_owned()
}

/// Sends `n` events named `{prefix}-{i}` in batches of `per`; returns the ack time of each.
async fn send(s: &Session, token: &str, prefix: &str, n: usize, per: usize) -> HashMap<String, Instant> {
    let mut acked = HashMap::new();
    for start in (0..n).step_by(per) {
        let batch: Vec<Value> = (start..(start + per).min(n))
            .map(|i| json!({"type": "track", "userId": "u", "event": format!("{prefix}-{i}"), "messageId": format!("{prefix}-{i}")}))
            .collect();
        let (status, res) = s
            .api(Method::POST, token, "/events", Some(&json!({"batch": batch})))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{res}");
        let now = Instant::now();
        for i in start..(start + per).min(n) {
            acked.insert(format!("{prefix}-{i}"), now);
        }
    }
    acked
}

fn event(r: &Received) -> String {
    r.json()["event"].as_str().unwrap_or_default().to_owned()
}

fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

/// On PostgreSQL, a second Herald with its own workers on the same database.
async fn second_process(app: &TestApp) -> Option<Peer> {
    if on_postgres() {
        Some(app.spawn_worker_peer().await)
    } else {
        None
    }
}

/// The most requests open at once, each open for `open` from its arrival.
fn peak_open(arrivals: &[Instant], open: Duration) -> usize {
    arrivals
        .iter()
        .map(|t| {
            arrivals
                .iter()
                .filter(|u| *u <= t && t.duration_since(**u) < open)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_tenant_does_not_delay_another_tenants_fresh_events() {
    // Only the in-flight cap protects here: the breaker would otherwise pause A early.
    let app = TestApp::spawn_with(|c: &mut Config| c.breaker_after = 1000).await;
    let _peer = second_process(&app).await;
    let mut hanging = Receiver::start().await;
    hanging.answer_by_default(Reply::Hang(Duration::from_secs(3)));
    let mut healthy = Receiver::start().await;
    let (a, a_token) = tenant(&app, "noisy").await;
    let (b, b_token) = tenant(&app, "quiet").await;
    webhook(&a, &a_token, &hanging.url, json!({"timeout_secs": 2})).await;
    webhook(&b, &b_token, &healthy.url, json!({})).await;
    send(&a, &a_token, "a", 2000, 100).await;
    let mut a_arrivals: Vec<Instant> = hanging
        .take(8, Duration::from_secs(10))
        .await
        .iter()
        .map(|r| r.at)
        .collect();
    let acked = send(&b, &b_token, "b", 200, 10).await;
    let got = healthy.take(200, Duration::from_secs(60)).await;
    let mut waits: Vec<Duration> = got.iter().map(|r| r.at.duration_since(acked[&event(r)])).collect();
    waits.sort();
    let (p50, p99) = (percentile(&waits, 0.5), percentile(&waits, 0.99));
    a_arrivals.extend(hanging.drain(Duration::from_millis(10)).await.iter().map(|r| r.at));
    // The receiver goes on hanging after Herald gave up (actix does not drop a handler whose
    // client left), so a request counts as open from its arrival until Herald's timeout, less
    // a margin for the moment between sending and arriving.
    let a_peak = peak_open(&a_arrivals, Duration::from_millis(1900));
    println!(
        "noisy neighbour: B's 200 events ingest-ack → arrival p50 {p50:?}, p99 {p99:?}, max {:?}; A's peak {a_peak}",
        waits[199]
    );
    assert!(p99 <= Duration::from_secs(1), "p99 {p99:?}");
    assert!(a_peak <= 8, "A held {a_peak} requests at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_never_sees_more_requests_at_once_than_the_cap() {
    let app = TestApp::spawn().await;
    let _peer = second_process(&app).await;
    let mut rx = Receiver::start().await;
    rx.answer_by_default(Reply::Hang(Duration::from_millis(150)));
    let (s, token) = tenant(&app, "capped").await;
    webhook(&s, &token, &rx.url, json!({"max_in_flight": 3})).await;
    send(&s, &token, "c", 60, 60).await;
    rx.take(60, Duration::from_secs(30)).await;
    println!(
        "in-flight cap 3: peak concurrency seen by the receiver {}",
        rx.peak_concurrency()
    );
    assert!(rx.peak_concurrency() <= 3, "peak {}", rx.peak_concurrency());
    assert!(rx.peak_concurrency() >= 2, "the cap is a cap, not serial delivery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_gets_probes_then_everything_arrives_within_the_schedule() {
    let schedule: Vec<Duration> = [0, 300, 600, 1000, 1000, 1000, 1000, 1000]
        .into_iter()
        .map(Duration::from_millis)
        .collect();
    let attempts_allowed = schedule.len();
    let app = TestApp::spawn_with(move |c: &mut Config| c.retry_schedule = schedule).await;
    let peer = second_process(&app).await;
    let mut rx = Receiver::start().await;
    rx.answer_by_default(Reply::Status(500, "down"));
    let (s, token) = tenant(&app, "breaker").await;
    let hook = webhook(&s, &token, &rx.url, json!({})).await;
    send(&s, &token, "f", 30, 30).await;
    let failures = rx.take(10, Duration::from_secs(10)).await;
    let opened = failures.last().unwrap().at;
    // Open: what still comes is what was in flight when it opened, then single probes.
    let during = rx.drain(Duration::from_millis(1500)).await;
    let probes: Vec<&Received> = during
        .iter()
        .filter(|r| r.at.duration_since(opened) > Duration::from_millis(300))
        .collect();
    println!(
        "breaker: {} requests in the 1.5 s after it opened, {} of them probes",
        during.len(),
        probes.len()
    );
    assert!(probes.len() <= 2, "only probes while open: {}", probes.len());
    // Rows claimed ahead and not yet started go back unsent: what still arrives is what had
    // started by the time the breaker's settle committed, at most the in-flight cap (8) and the
    // few a freed slot started in those milliseconds. (Sending the buffer out made it ~20.) A
    // second process learns of the breaker only at its next claim, and sends what it had
    // buffered until then (14 seen), so the bound holds for one process.
    if peer.is_none() {
        assert!(
            during.len() <= 12,
            "{} requests after the breaker opened: only those in flight should follow",
            during.len()
        );
    }
    let (_, stats) = s
        .api(Method::GET, &token, &format!("/webhooks/{hook}/stats"), None)
        .await;
    println!("breaker: stats while open {stats}");
    assert_eq!(stats["state"], "paused", "{stats}");
    assert!(stats["next_probe_at"].is_string(), "{stats}");
    assert!(stats["failing_since"].is_string(), "{stats}");
    let page = s.get(&format!("/settings/webhooks/{hook}")).await.text().await.unwrap();
    assert!(
        page.contains(r#"id="health-state">paused</span>"#),
        "the page says paused"
    );
    assert!(page.contains("— endpoint failing since"), "the page says since when");
    assert!(
        page.contains("next probe at <time"),
        "the page says when the next probe goes"
    );
    let (_, waiting) = s
        .api(
            Method::GET,
            &token,
            &format!("/webhooks/{hook}/deliveries?limit=100"),
            None,
        )
        .await;
    for d in waiting["data"].as_array().unwrap() {
        assert_ne!(d["status"], "failed", "a paused webhook's deliveries wait: {d}");
    }
    rx.answer_by_default(Reply::Status(200, "ok"));
    let mut delivered: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while delivered.len() < 30 {
        assert!(
            Instant::now() < deadline,
            "only {} of 30 arrived after recovery",
            delivered.len()
        );
        for r in rx.drain(Duration::from_millis(200)).await {
            *delivered.entry(event(&r)).or_default() += 1;
        }
    }
    let (status, page) = s
        .api(
            Method::GET,
            &token,
            &format!("/webhooks/{hook}/deliveries?limit=100"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for d in page["data"].as_array().unwrap() {
        assert_eq!(d["status"], "succeeded", "{d}");
        let attempts = d["attempts"].as_u64().unwrap();
        assert!(attempts as usize <= attempts_allowed, "{d}");
    }
    let (_, stats) = s
        .api(Method::GET, &token, &format!("/webhooks/{hook}/stats"), None)
        .await;
    assert_eq!(stats["state"], "healthy", "{stats}");
    assert!(stats["next_probe_at"].is_null(), "{stats}");
    let page = s.get(&format!("/settings/webhooks/{hook}")).await.text().await.unwrap();
    assert!(
        page.contains(r#"id="health-state">healthy</span>"#),
        "the page says healthy again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_spreads_deliveries_and_loses_none() {
    let app = TestApp::spawn().await;
    let _peer = second_process(&app).await;
    let mut rx = Receiver::start().await;
    let (s, token) = tenant(&app, "paced").await;
    webhook(&s, &token, &rx.url, json!({"rate_limit": 20})).await;
    send(&s, &token, "r", 200, 100).await;
    let got = rx.take(200, Duration::from_secs(40)).await;
    let spread = got.last().unwrap().at.duration_since(got[0].at);
    let distinct: std::collections::HashSet<String> = got.iter().map(event).collect();
    println!("rate limit 20/s: 200 arrivals spread over {spread:?}");
    assert_eq!(distinct.len(), 200, "none lost or doubled");
    assert!(spread >= Duration::from_millis(9500), "{spread:?}");
    assert!(rx.drain(Duration::from_millis(300)).await.is_empty());
}

/// 100 events; the receiver fails the 10th request twice. Returns the events of the requests
/// that succeeded, in arrival order, and the event that failed.
async fn first_successes(ordered: bool) -> (Vec<usize>, usize) {
    let schedule = vec![Duration::ZERO, Duration::from_millis(700), Duration::from_millis(700)];
    let app = TestApp::spawn_with(move |c: &mut Config| c.retry_schedule = schedule).await;
    let _peer = second_process(&app).await;
    let mut rx = Receiver::start().await;
    let mut script = vec![Reply::Status(200, "ok"); 9];
    script.extend([Reply::Status(500, "no"), Reply::Status(500, "no")]);
    rx.script(script);
    let (s, token) = tenant(&app, "ordered").await;
    webhook(&s, &token, &rx.url, json!({"ordered": ordered})).await;
    send(&s, &token, "o", 100, 100).await;
    let got = rx.take(102, Duration::from_secs(60)).await;
    let number = |r: &Received| -> usize { event(r).trim_start_matches("o-").parse().unwrap() };
    let successes = got
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(i, 9 | 10))
        .map(|(_, r)| number(r))
        .collect();
    (successes, number(&got[9]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_delivery_keeps_ingest_order_through_a_failing_head() {
    let (got, failed) = first_successes(true).await;
    assert_eq!(failed, 9, "one at a time: the 10th request is the 10th event");
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ordering_a_failing_delivery_holds_nothing_back() {
    let (got, failed) = first_successes(false).await;
    println!(
        "unordered: event {failed} failed twice and arrived at position {:?} of 100",
        got.iter().position(|e| *e == failed)
    );
    assert_eq!(got.len(), 100);
    let at = got.iter().position(|e| *e == failed).unwrap();
    assert!(
        at >= 90,
        "the others went on while it waited for its retry: it came {at}th"
    );
}
