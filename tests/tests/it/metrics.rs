//! `GET /metrics`: the engine's numbers in the Prometheus text format, on the web port of
//! `herald serve` and on `HERALD_METRICS_BIND` of a `herald worker`. The recorder is global to
//! the process, shared by every app a test binary starts: counts are asserted with `>=`.

use std::collections::HashMap;
use std::time::Duration;

use herald_tests::fixtures::{WAIT, account, send, webhook};
use herald_tests::http::Session;
use herald_tests::process::HeraldProcess;
use herald_tests::receiver::Receiver;
use herald_tests::{TestApp, unique};
use migration::testing::ThrowawayDb;
use reqwest::StatusCode;
use serde_json::json;

/// The samples of a scrape by series (`name{labels}` exactly as rendered), after checking
/// the content type.
async fn scrape(base: &str) -> HashMap<String, f64> {
    let res = reqwest::get(format!("{base}/metrics")).await.expect("GET /metrics");
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = res.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {l}"));
            (
                series.to_owned(),
                value.parse().unwrap_or_else(|_| panic!("not a sample: {l}")),
            )
        })
        .collect()
}

fn sample(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("{series} is missing from {samples:#?}"))
}

fn assert_queue_gauges(samples: &HashMap<String, f64>) {
    for lane in ["0", "1"] {
        for status in ["pending", "in_flight"] {
            assert!(
                sample(
                    samples,
                    &format!("herald_queue_depth{{lane=\"{lane}\",status=\"{status}\"}}")
                ) >= 0.0
            );
        }
        assert!(
            sample(
                samples,
                &format!("herald_queue_oldest_due_age_seconds{{lane=\"{lane}\"}}")
            ) >= 0.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_ingested_events_group_commits_and_read_the_queue() {
    let app = TestApp::spawn_with(|c| c.metrics = true).await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(
        &s,
        &token,
        json!({"batch": [
            {"type": "track", "event": "Metered", "userId": "u1"},
            {"type": "track", "event": "Metered", "userId": "u2"},
        ]}),
    )
    .await;
    for user in ["u3", "u4", "u5"] {
        send(&s, &token, json!({"type": "track", "event": "Metered", "userId": user})).await;
    }
    rx.take(5, WAIT).await;

    let samples = scrape(&app.base).await;
    assert!(sample(&samples, "herald_events_ingested_total") >= 5.0, "{samples:#?}");
    assert!(sample(&samples, "herald_group_commit_size_count{writer=\"ingest\"}") >= 1.0);
    assert!(
        sample(&samples, "herald_group_commit_size_sum{writer=\"ingest\"}") >= 4.0,
        "four requests"
    );
    assert!(sample(&samples, "herald_group_commit_seconds_count{writer=\"ingest\"}") >= 1.0);
    assert!(
        samples.contains_key("herald_group_commit_seconds_bucket{writer=\"ingest\",le=\"0.0001\"}"),
        "histograms, not summaries"
    );
    assert_queue_gauges(&samples);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_herald_metrics_there_is_no_metrics_page() {
    let app = TestApp::spawn().await;
    let res = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// A worker has no web server: it answers `/metrics` on `HERALD_METRICS_BIND` (which
/// `HeraldProcess` sets to its port), with the settle writer's commits, its outcomes and the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_serves_its_metrics_on_its_own_address() {
    let db = ThrowawayDb::create().await;
    let env = vec![
        ("HERALD_DATABASE_URL", db.url().to_owned()),
        ("HERALD_SECRET_KEY", "cd".repeat(32)),
        ("HERALD_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ("HERALD_METRICS", "true".to_owned()),
    ];
    let web = HeraldProcess::start(&["serve", "--no-workers"], &env).await;
    let worker = HeraldProcess::start(&["worker"], &env).await;
    let s = Session::new(&web.base);
    s.signup(&unique("metrics@example.com"), "Metrics").await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;
    let mut rx = Receiver::start().await;
    webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    for user in ["u1", "u2", "u3"] {
        send(&s, &token, json!({"type": "track", "event": "Metered", "userId": user})).await;
    }
    rx.take(3, WAIT).await;

    assert_eq!(sample(&scrape(&web.base).await, "herald_events_ingested_total"), 3.0);
    // The attempt is settled just after the delivery arrives: poll briefly.
    let deadline = tokio::time::Instant::now() + WAIT;
    let samples = loop {
        let samples = scrape(&worker.base).await;
        let logged = samples
            .get("herald_group_commit_size_sum{writer=\"settle\"}")
            .copied()
            .unwrap_or(0.0);
        if logged >= 3.0 || tokio::time::Instant::now() > deadline {
            break samples;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(sample(&samples, "herald_group_commit_size_sum{writer=\"settle\"}"), 3.0);
    assert_eq!(
        sample(&samples, "herald_deliveries_total{outcome=\"succeeded\"}"),
        3.0,
        "the worker counts what it settled"
    );
    assert!(
        !samples.contains_key("herald_events_ingested_total"),
        "a worker ingests nothing"
    );
    assert_queue_gauges(&samples);
}
