//! Issue 13's acceptance in the browser: with one endpoint answering 500, the dashboard says so
//! while its deliveries are still being retried — in the list, on the webhook's page, in the
//! overview and the delivery log — at laptop and at phone width, without sideways scrolling.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use herald_tests::browser::{Browser, WIDTHS};
use herald_tests::fixtures::{send, webhook};
use herald_tests::http::PASSWORD;
use herald_tests::receiver::{Receiver, Reply};
use herald_tests::{TestApp, unique};

const WAIT: Duration = Duration::from_secs(20);
const EVENTS: usize = 30;
const HOUR: i64 = 3_600_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_reads_failing_while_it_is_retried_on_a_laptop_and_a_phone() {
    let Some(b) = Browser::launch().await else { return };
    // The second attempt waits ten minutes: every failed delivery stays "retrying". The breaker
    // stays shut so that all thirty are attempted once.
    let app = TestApp::spawn_with(|c| {
        c.retry_schedule = [0, 600_000, 600_000].into_iter().map(Duration::from_millis).collect();
        c.breaker_after = 1000;
    })
    .await;
    let base = app.base.clone();
    let s = app.session();
    let email = unique("dashboard@example.com");
    s.signup(&email, "Dashboard Co").await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;
    let mut good_rx = Receiver::start().await;
    let mut bad_rx = Receiver::start().await;
    bad_rx.answer_by_default(Reply::Status(500, "{\"error\":\"database is down\"}"));
    let all = json!([{"pattern": "*"}]);
    let (good, _) = webhook(&s, &token, &good_rx.url, json!({"name": "CRM", "patterns": all})).await;
    let (bad, _) = webhook(
        &s,
        &token,
        &bad_rx.url,
        json!({"name": "Slack alerts", "patterns": all}),
    )
    .await;
    let started = herald::timestamps::now_ms();
    for i in 0..EVENTS {
        send(
            &s,
            &token,
            json!({"type": "track", "event": "Order Completed", "userId": format!("u{i}")}),
        )
        .await;
    }
    good_rx.take(EVENTS, WAIT).await;
    bad_rx.take(EVENTS, WAIT).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, v) = s
            .api(
                Method::GET,
                &token,
                &format!("/deliveries?limit=200&status=retrying&webhook_id={bad}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        if v["data"].as_array().map(Vec::len) == Some(EVENTS) {
            break;
        }
        assert!(Instant::now() < deadline, "the failures never all settled: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ended = herald::timestamps::now_ms();

    b.goto(&format!("{base}/login")).await;
    b.fill("email", &email).await;
    b.fill("password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for_path("/overview").await;
    for (width, height) in [WIDTHS[0], WIDTHS[1]] {
        b.set_window_size(width, height).await;

        b.goto(&format!("{base}/settings/webhooks")).await;
        assert_eq!(
            b.wait_for_text(&format!("#webhook-{bad} .health-state")).await,
            "failing"
        );
        assert_eq!(
            b.wait_for_text(&format!("#webhook-{good} .health-state")).await,
            "healthy"
        );
        b.look("failing-webhooks", width).await;

        b.goto(&format!("{base}/settings/webhooks/{bad}")).await;
        assert_eq!(b.wait_for_text("#health-state").await, "failing");
        assert_eq!(b.wait_for_text("#failed-count").await, format!("{EVENTS} / {EVENTS}"));
        assert_eq!(b.wait_for_text("#retrying-count").await, EVENTS.to_string());
        assert!(b.wait_for_text("#last-error").await.contains("HTTP 500"));
        let row = b.wait_for_text("table.deliveries tbody tr:first-child").await;
        assert!(row.contains("retrying") && row.contains("attempt 2 of 3"), "{row}");
        // One bar per hour with attempts, all of them failed ones of this test.
        let bars = b
            .eval("return [...document.querySelectorAll('#chart-24h g.bar')].map((g) => [Number(g.dataset.hour), Number(g.dataset.succeeded), Number(g.dataset.failed)]);")
            .await;
        let bars = bars.as_array().unwrap();
        let hours = (ended / HOUR - started / HOUR + 1) as usize;
        assert!((1..=hours).contains(&bars.len()), "{bars:?}");
        assert!(
            bars.iter()
                .all(|b| b[0].as_i64().unwrap() >= started / HOUR * HOUR && b[1] == 0)
        );
        assert_eq!(bars.iter().map(|b| b[2].as_u64().unwrap()).sum::<u64>(), EVENTS as u64);
        b.look("failing-webhook", width).await;

        b.goto(&format!("{base}/overview")).await;
        let first = b
            .eval("return document.querySelector('table.overview-webhooks tbody tr').id;")
            .await;
        assert_eq!(
            first,
            Value::String(format!("overview-{bad}")),
            "failing webhooks come first"
        );
        assert_eq!(b.wait_for_text("#total-failing").await, "1 of 2");
        b.look("failing-overview", width).await;

        b.goto(&format!("{base}/deliveries?status=retrying")).await;
        let rows = b
            .eval("return document.querySelectorAll('table.deliveries tbody tr').length;")
            .await;
        assert_eq!(rows, json!(EVENTS));
        b.look("failing-deliveries", width).await;
    }
    b.close().await;
}
