//! Issue 13: the delivery log across webhooks (`/deliveries`, `GET /api/v1/deliveries`) with its
//! filters and keyset pages both ways, and Replay that may include retrying deliveries.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use herald_tests::TestApp;
use herald_tests::fixtures::{WAIT, account, send, until, webhook};
use herald_tests::http::Session;
use herald_tests::receiver::{Receiver, Reply};

fn ids(v: &Value) -> Vec<i64> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

async fn count(s: &Session, token: &str, query: &str) -> usize {
    let (status, v) = s
        .api(Method::GET, token, &format!("/deliveries?limit=200&{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {v}");
    ids(&v).len()
}

#[tokio::test]
async fn the_log_filters_across_webhooks_and_pages_both_ways() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    let (first, _) = webhook(
        &s,
        &token,
        &rx.url,
        json!({"name": "CRM", "patterns": [{"pattern": "*"}]}),
    )
    .await;
    let (second, _) = webhook(
        &s,
        &token,
        &rx.url,
        json!({"name": "Slack", "patterns": [{"pattern": "*"}]}),
    )
    .await;
    for (event, user, message) in [
        ("Order Completed", "u1", "m1"),
        ("order shipped", "u2", "m2"),
        ("Signup", "u3", "m3"),
    ] {
        send(
            &s,
            &token,
            json!({"type": "track", "event": event, "userId": user, "messageId": message}),
        )
        .await;
    }
    rx.take(6, WAIT).await;
    let all = until(&s, &token, "/deliveries?status=succeeded", |v| ids(v).len() == 6).await;
    assert!(all["data"][0]["duration_ms"].is_i64(), "{all}");
    assert!(all["data"].as_array().unwrap().iter().any(|d| d["webhook_id"] == first));

    assert_eq!(count(&s, &token, "event=order").await, 4, "a prefix, any case");
    assert_eq!(count(&s, &token, "event=ORDER%20C").await, 2);
    assert_eq!(count(&s, &token, "event=rder").await, 0, "a prefix, not a substring");
    assert_eq!(count(&s, &token, "user_id=u1").await, 2);
    assert_eq!(count(&s, &token, "message_id=m3").await, 2);
    assert_eq!(count(&s, &token, &format!("webhook_id={second}")).await, 3);
    assert_eq!(count(&s, &token, &format!("webhook_id={second}&event=sign")).await, 1);
    assert_eq!(count(&s, &token, "since=2999-01-01T00:00:00Z").await, 0);
    assert_eq!(count(&s, &token, "status=retrying").await, 0);

    let (status, err) = s
        .api(Method::GET, &token, "/deliveries?status=done&since=soon", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "status", "{err}");

    // Two at a time: older pages down to the last, then newer pages back up, same rows.
    let newest = ids(&all);
    let mut pages = Vec::new();
    let mut path = "/deliveries?limit=2".to_owned();
    loop {
        let (_, page) = s.api(Method::GET, &token, &path, None).await;
        pages.push(page.clone());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/deliveries?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages[0]["prev_cursor"],
        Value::Null,
        "the newest page has nothing newer"
    );
    assert_eq!(pages.iter().flat_map(ids).collect::<Vec<_>>(), newest);
    let back = pages[2]["prev_cursor"].as_str().expect("the oldest page points newer");
    let (_, middle) = s
        .api(Method::GET, &token, &format!("/deliveries?limit=2&cursor={back}"), None)
        .await;
    assert_eq!(ids(&middle), ids(&pages[1]));
    let up = middle["prev_cursor"].as_str().unwrap();
    let (_, top) = s
        .api(Method::GET, &token, &format!("/deliveries?limit=2&cursor={up}"), None)
        .await;
    assert_eq!(ids(&top), ids(&pages[0]));
    assert_eq!(top["prev_cursor"], Value::Null);

    // The page: the same rows and filters; another account sees none of them.
    let html = s.page("/deliveries?event=order").await;
    assert_eq!(html.matches("<tr id=\"delivery-").count(), 4);
    assert!(html.contains("CRM") && html.contains("Slack"));
    let (other, other_token) = account(&app).await;
    assert_eq!(count(&other, &other_token, "").await, 0);
    let (status, _) = other
        .api(
            Method::GET,
            &other_token,
            &format!("/deliveries?webhook_id={first}"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "another account's webhook is not a filter"
    );
    assert_eq!(other.page("/deliveries").await.matches("<tr id=\"delivery-").count(), 0);
}

#[tokio::test]
async fn retrying_deliveries_read_as_retrying_and_replay_can_send_them_now() {
    let app =
        TestApp::spawn_with(|c| c.retry_schedule = [0, 3_600_000].into_iter().map(Duration::from_millis).collect())
            .await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    rx.answer_by_default(Reply::Status(500, "{}"));
    let (hook, _) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(
        &s,
        &token,
        json!({"type": "track", "event": "Order Completed", "userId": "u1"}),
    )
    .await;
    rx.next(WAIT).await;
    let list = until(&s, &token, "/deliveries?status=retrying", |v| ids(v).len() == 1).await;
    assert_eq!(list["data"][0]["attempts"], 1);
    assert!(list["data"][0]["next_attempt_at"].is_string());
    let page = s.page(&format!("/settings/webhooks/{hook}")).await;
    assert!(
        page.contains(">retrying</span>") && page.contains("attempt 2 of 2"),
        "the row says what happens next"
    );
    assert!(page.contains(">failing</span>"));
    assert!(
        page.contains("id=\"failed-count\">1 / 1<"),
        "the failure counts while it is retried"
    );

    let since = "2000-01-01T00:00:00Z";
    let (_, replay) = s
        .api(
            Method::POST,
            &token,
            &format!("/webhooks/{hook}/replay"),
            Some(&json!({"since": since})),
        )
        .await;
    assert_eq!(replay["count"], 0, "nothing has failed for good");
    rx.answer_by_default(Reply::Status(200, "{}"));
    let (_, replay) = s
        .api(
            Method::POST,
            &token,
            &format!("/webhooks/{hook}/replay"),
            Some(&json!({"since": since, "include_retrying": true})),
        )
        .await;
    assert_eq!(replay["count"], 1);
    rx.next(WAIT).await;
    let done = until(&s, &token, "/deliveries?status=succeeded", |v| ids(v).len() == 1).await;
    assert_eq!(done["data"][0]["trigger"], "manual");
    let page = s.page(&format!("/settings/webhooks/{hook}")).await;
    assert!(page.contains(">healthy</span>"), "the latest attempt delivered");
}
