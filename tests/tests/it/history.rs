//! Issue 6's acceptance: delivery history with every attempt, Retry, Send Test, Replay, health,
//! auto-disable and tenant isolation — in the dashboard and the API.

use std::time::{Duration, Instant};

use herald_jobs::signing;
use herald_tests::browser::Browser;
use herald_tests::fixtures::{WAIT, account, send, until, webhook};
use herald_tests::http::{PASSWORD, extract};
use herald_tests::receiver::{Receiver, Reply};
use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn schedule(ms: &[u64]) -> Vec<Duration> {
    ms.iter().copied().map(Duration::from_millis).collect()
}

fn now_rfc3339() -> String {
    herald::timestamps::rfc3339(herald::timestamps::now_ms())
}

fn count_status(list: &Value, status: &str) -> usize {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == status)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_delivery_shows_three_failed_attempts_and_retry_adds_a_successful_one_in_the_browser() {
    let Some(b) = Browser::launch().await else { return };
    let app = TestApp::spawn_with(|c| c.retry_schedule = schedule(&[0, 50, 100])).await;
    let base = app.base.clone();
    let s = app.session();
    let email = unique("history@example.com");
    s.signup(&email, "History Inc").await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;
    let mut rx = Receiver::start().await;
    rx.script(vec![
        Reply::Status(500, "{\"error\":\"boom 1\"}"),
        Reply::Status(502, "{\"error\":\"boom 2\"}"),
        Reply::Status(503, "{\"error\":\"boom 3\"}"),
    ]);
    let (hook, _) = webhook(
        &s,
        &token,
        &rx.url,
        json!({"name": "Orders to CRM", "patterns": [{"pattern": "*"}]}),
    )
    .await;
    send(
        &s,
        &token,
        json!({"type": "track", "event": "Order Completed", "userId": "u1", "properties": {"total": 42}}),
    )
    .await;
    rx.take(3, WAIT).await;
    let list = until(&s, &token, &format!("/webhooks/{hook}/deliveries"), |v| {
        count_status(v, "failed") == 1
    })
    .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    assert_eq!(list["data"][0]["attempts"], 3);

    b.goto(&format!("{base}/login")).await;
    b.fill("email", &email).await;
    b.fill("password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for_path("/overview").await;
    b.screenshot("history-webhooks-list").await;
    b.goto(&format!("{base}/settings/webhooks/{hook}")).await;
    assert_eq!(b.wait_for_text(&format!("#delivery-{id} .badge")).await, "failed");
    assert!(b.html().await.contains("Order Completed"));
    b.screenshot("history-webhook-detail").await;

    b.goto(&format!("{base}/settings/deliveries/{id}")).await;
    let html = b.html().await;
    for (n, code) in [(1, 500), (2, 502), (3, 503)] {
        let row = b.wait_for_text(&format!("#attempt-{n} .attempt-result")).await;
        assert_eq!(row, format!("HTTP {code}"));
        assert!(
            html.contains(&format!("boom {n}")),
            "attempt {n}'s response body is shown"
        );
    }
    assert!(!html.contains("id=\"attempt-4\""));
    b.click("#attempt-1 summary").await;
    b.screenshot("history-delivery-failed").await;

    rx.answer_by_default(Reply::Status(200, "{\"ok\":true}"));
    b.click("#retry").await;
    b.wait_for_path(&format!("/settings/deliveries/{id}")).await;
    // Nobody reloads: the page refreshes itself until the new attempt has settled.
    let deadline = Instant::now() + WAIT;
    loop {
        if b.text("#attempt-4 .attempt-result").await.as_deref() == Some("HTTP 200")
            && b.text("#delivery-status").await.as_deref() == Some("succeeded")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the retried attempt never appeared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        b.html().await.contains("Resend"),
        "a delivered one offers Resend, not Retry"
    );
    assert_eq!(
        b.wait_for_text("#delivery-status").await,
        "succeeded",
        "the delivery is now delivered"
    );
    assert!(b.text("#attempt-4").await.unwrap().contains("manual"));
    b.click("#attempt-4 summary").await;
    b.screenshot("history-delivery-retried").await;
    assert_eq!(rx.next(WAIT).await.json()["event"], "Order Completed");

    let (_, detail) = s.api(Method::GET, &token, &format!("/deliveries/{id}"), None).await;
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4);
    assert_eq!(attempts[3]["trigger"], "manual");
    assert_eq!(attempts[0]["response_body"], "{\"error\":\"boom 1\"}");
    let (_, audit) = s.api(Method::GET, &token, "/audit-log?limit=200", None).await;
    assert!(audit.to_string().contains("delivery.retried"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_from_the_list_delivers_a_signed_test_payload_and_leaves_health_alone() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    rx.answer_by_default(Reply::Status(200, "{\"received\":\"yes\"}"));
    let (hook, secret) = webhook(
        &s,
        &token,
        &rx.url,
        json!({"patterns": [{"pattern": "flows.*"}], "payload_format": "envelope", "properties": ["user.email"]}),
    )
    .await;
    send(
        &s,
        &token,
        json!({"type": "track", "event": "flows.completed", "userId": "u1"}),
    )
    .await;
    rx.next(WAIT).await;
    until(&s, &token, &format!("/webhooks/{hook}/deliveries"), |v| {
        count_status(v, "succeeded") == 1
    })
    .await;
    let (_, before) = s
        .api(Method::GET, &token, &format!("/webhooks/{hook}/stats"), None)
        .await;
    assert_eq!(before["last_24h"]["succeeded"], 1, "{before}");

    let list = s.page("/settings/webhooks").await;
    let action = format!("action=\"/settings/webhooks/{hook}/test\"");
    assert!(list.contains(&action), "the list has a Send Test button");
    let res = s.post_form(&format!("/settings/webhooks/{hook}/test"), &[]).await;
    let page = s.follow(res).await;
    assert_eq!(extract(&page, "id=\"test-status\">", "<").as_deref(), Some("HTTP 200"));
    assert!(
        extract(&page, "id=\"test-body\">", "</pre>")
            .unwrap()
            .contains("received")
    );
    assert!(extract(&page, "id=\"test-duration\">", "<").unwrap().ends_with(" ms"));

    let got = rx.next(WAIT).await;
    let body = got.json();
    assert_eq!(body["test"], true, "{body}");
    assert_eq!(body["type"], "flows.test", "a name the webhook's first pattern takes");
    assert!(
        body["app_token"].is_string() && body["data"]["user"].is_object(),
        "envelope format: {body}"
    );
    let ts: i64 = got.header("webhook-timestamp").unwrap().parse().unwrap();
    let now = herald::timestamps::now_ms() / 1000;
    assert!(signing::verify_standard(
        secret.as_deref().unwrap(),
        got.header("webhook-id").unwrap(),
        ts,
        now,
        &got.body,
        got.header("webhook-signature").unwrap()
    ));

    let (status, api_test) = s
        .api(
            Method::POST,
            &token,
            &format!("/webhooks/{hook}/test"),
            Some(&json!({"event_name": "identify"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{api_test}");
    assert_eq!(api_test["attempt"]["response_status"], 200);
    assert_eq!(api_test["delivery"]["trigger"], "test");
    assert_eq!(rx.next(WAIT).await.json()["data"]["user"]["user_id"], "user_test_42");

    let (_, after) = s
        .api(Method::GET, &token, &format!("/webhooks/{hook}/stats"), None)
        .await;
    assert_eq!(before, after, "test sends do not count towards health");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_failures_since_t_resends_exactly_the_fifty_after_t() {
    // The breaker stays shut: all 57 failures are attempted, none paused.
    let app = TestApp::spawn_with(|c| {
        c.retry_schedule = schedule(&[0]);
        c.breaker_after = 1000;
    })
    .await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    rx.answer_by_default(Reply::Status(500, "down"));
    let (hook, _) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    let batch = |prefix: &str, n: usize| json!({"batch": (0..n).map(|i| json!({"type": "track", "event": format!("{prefix}-{i}"), "userId": "u"})).collect::<Vec<_>>()});
    let path = format!("/webhooks/{hook}/deliveries?limit=200&status=failed");
    send(&s, &token, batch("before", 7)).await;
    rx.take(7, WAIT).await;
    until(&s, &token, &path, |v| v["data"].as_array().unwrap().len() == 7).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let t = now_rfc3339();
    tokio::time::sleep(Duration::from_millis(20)).await;
    send(&s, &token, batch("after", 50)).await;
    rx.take(50, WAIT).await;
    until(&s, &token, &path, |v| v["data"].as_array().unwrap().len() == 57).await;
    rx.answer_by_default(Reply::Status(200, "ok"));

    let confirm = s
        .page(&format!(
            "/settings/webhooks/{hook}/replay?since={}",
            t.replace(':', "%3A")
        ))
        .await;
    assert!(confirm.contains("<strong>50</strong> failed deliveries"), "{confirm}");
    let res = s
        .post_form(&format!("/settings/webhooks/{hook}/replay"), &[("since", t.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let resent = rx.take(50, WAIT).await;
    let mut names: Vec<String> = resent
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 50, "each of the 50 exactly once");
    assert!(names.iter().all(|n| n.starts_with("after-")), "{names:?}");
    assert!(
        rx.drain(Duration::from_millis(500)).await.is_empty(),
        "nothing from before T"
    );

    let deadline = Instant::now() + WAIT;
    loop {
        let page = s.page(&format!("/settings/webhooks/{hook}")).await;
        if page.contains("50 of 50 done") {
            break;
        }
        assert!(Instant::now() < deadline, "progress never reached 50 of 50");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, still_failed) = s.api(Method::GET, &token, &path, None).await;
    assert_eq!(still_failed["data"].as_array().unwrap().len(), 7);
    let (status, again) = s
        .api(
            Method::POST,
            &token,
            &format!("/webhooks/{hook}/replay"),
            Some(&json!({"since": t})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["count"], 0, "they succeeded, nothing left to replay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_whose_deliveries_all_fail_for_the_window_is_disabled_with_banner_and_audit_row() {
    let app = TestApp::spawn_with(|c| {
        c.retry_schedule = schedule(&[0]);
        c.auto_disable_after = Duration::from_secs(1);
        c.maintenance_every = Duration::from_millis(200);
    })
    .await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    rx.answer_by_default(Reply::Status(500, "down"));
    let (hook, _) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(&s, &token, json!({"type": "track", "event": "ping", "userId": "u"})).await;
    rx.next(WAIT).await;
    let w = until(&s, &token, &format!("/webhooks/{hook}"), |v| v["enabled"] == false).await;
    let reason = w["disabled_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("Disabled by Herald on ") && reason.contains("every delivery failed for 1 second"),
        "{reason}"
    );
    let page = s.page(&format!("/settings/webhooks/{hook}")).await;
    assert!(page.contains("id=\"disabled-banner\""));
    assert!(page.contains("every delivery failed for 1 second"));
    let list = s.page("/settings/webhooks").await;
    assert!(list.contains("every delivery failed for 1 second"), "the list says why");
    let (_, audit) = s.api(Method::GET, &token, "/audit-log?limit=200", None).await;
    let row = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "webhook.disabled")
        .expect("an audit row");
    assert_eq!(row["actor"]["type"], "system", "{row}");

    // Re-enabling resumes delivery of new events, and the window starts again.
    rx.answer_by_default(Reply::Status(200, "ok"));
    let (status, _) = s
        .api(Method::POST, &token, &format!("/webhooks/{hook}/enable"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(600)).await;
    send(&s, &token, json!({"type": "track", "event": "pong", "userId": "u"})).await;
    assert_eq!(rx.next(WAIT).await.json()["event"], "pong");
    let (_, w) = s.api(Method::GET, &token, &format!("/webhooks/{hook}"), None).await;
    assert_eq!(w["enabled"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_deliveries_attempts_replays_and_tests_are_404() {
    let app = TestApp::spawn().await;
    let (a, a_token) = account(&app).await;
    let (b, b_token) = account(&app).await;
    let mut rx = Receiver::start().await;
    let (hook, _) = webhook(&a, &a_token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(
        &a,
        &a_token,
        json!({"type": "track", "event": "secret-event", "userId": "u"}),
    )
    .await;
    rx.next(WAIT).await;
    let list = until(&a, &a_token, &format!("/webhooks/{hook}/deliveries"), |v| {
        count_status(v, "succeeded") == 1
    })
    .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    let since = json!({"since": "2000-01-01T00:00:00Z"});

    for (method, path, body) in [
        (Method::GET, format!("/deliveries/{id}"), None),
        (Method::POST, format!("/deliveries/{id}/retry"), None),
        (Method::GET, format!("/webhooks/{hook}/deliveries"), None),
        (Method::POST, format!("/webhooks/{hook}/replay"), Some(&since)),
        (Method::POST, format!("/webhooks/{hook}/test"), None),
        (Method::GET, format!("/webhooks/{hook}/stats"), None),
    ] {
        let (status, res) = b.api(method.clone(), &b_token, &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {res}");
        assert_eq!(res["error"]["code"], "not_found");
    }
    for path in [
        format!("/settings/deliveries/{id}"),
        format!("/settings/webhooks/{hook}/replay?since=2000-01-01T00%3A00"),
    ] {
        assert_eq!(b.get(&path).await.status(), StatusCode::NOT_FOUND, "GET {path}");
    }
    for (path, fields) in [
        (format!("/settings/deliveries/{id}/retry"), vec![]),
        (
            format!("/settings/webhooks/{hook}/replay"),
            vec![("since", "2000-01-01T00:00")],
        ),
        (format!("/settings/webhooks/{hook}/test"), vec![]),
    ] {
        assert_eq!(
            b.post_form(&path, &fields).await.status(),
            StatusCode::NOT_FOUND,
            "POST {path}"
        );
    }
    assert!(
        rx.drain(Duration::from_millis(500)).await.is_empty(),
        "nothing was sent for the other account"
    );
    let (_, detail) = a.api(Method::GET, &a_token, &format!("/deliveries/{id}"), None).await;
    assert_eq!(
        detail["attempts"].as_array().unwrap().len(),
        1,
        "A's delivery is untouched"
    );
}
