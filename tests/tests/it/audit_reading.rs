//! Reading the audit log: a list change is recorded item by item, nothing is recorded when
//! nothing changed, and user agents are summarised (in full in a tooltip and the API).

use std::time::Duration;

use herald_tests::fixtures::{account, create_by_form, full_form, send, webhook};
use herald_tests::http::{Session, extract};
use herald_tests::receiver::{Receiver, Reply};
use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn webhook_entries(s: &Session, token: &str, hook: &str) -> Vec<Value> {
    let path = format!("/audit-log?target_type=webhook&target_id={hook}");
    let (status, list) = s.api(Method::GET, token, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"].as_array().unwrap().clone()
}

/// The `<tr>` of audit row `id` on a page.
fn row(html: &str, id: &Value) -> String {
    extract(html, &format!("id=\"audit-{id}\">"), "</tr>").expect("the row is on the page")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_item_list_change_is_recorded_as_that_item_and_an_unchanged_save_records_nothing() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let form = full_form();
    let hook = create_by_form(&s, &form).await;
    let res = s.post_form(&format!("/settings/webhooks/{hook}"), &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        webhook_entries(&s, &token, &hook).await.len(),
        1,
        "only webhook.created"
    );

    let mut edited: Vec<(&str, &str)> = form
        .iter()
        .filter(|(k, v)| !matches!((*k, *v), ("header_name", "X-Team") | ("header_value", "growth")))
        .copied()
        .collect();
    edited.extend([("pattern", "billing.*"), ("pattern_live", "on")]);
    let res = s.post_form(&format!("/settings/webhooks/{hook}"), &edited).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let entries = webhook_entries(&s, &token, &hook).await;
    assert_eq!(entries.len(), 2);
    let diff = &entries[0]["diff"];
    assert_eq!(entries[0]["action"], "webhook.updated");
    assert_eq!(
        diff["triggers"]["added"],
        json!([{"pattern": "billing.*", "enabled": true}]),
        "{diff}"
    );
    assert_eq!(diff["triggers"]["removed"], json!([]));
    assert_eq!(
        diff["headers"]["removed"],
        json!([{"name": "X-Team", "value": "[redacted]"}])
    );
    assert_eq!(diff["headers"]["added"], json!([]));
    assert!(!diff.to_string().contains("k-123"), "header values stay redacted");

    let page = s.page(&format!("/settings/webhooks/{hook}?tab=history")).await;
    for html in [page, s.page("/settings/audit-log").await] {
        let updated = row(&html, &entries[0]["id"]);
        assert!(
            updated.contains("<span class=\"after added\">+ enabled: true, pattern: billing.*</span>"),
            "{updated}"
        );
        assert!(
            updated.contains("<span class=\"before removed\">− name: X-Team, value: [redacted]</span>"),
            "{updated}"
        );
        assert!(
            !updated.contains("flows.*"),
            "unchanged items are not repeated: {updated}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_a_delivery_that_waits_for_its_next_attempt_records_what_changed() {
    let app = TestApp::spawn_with(|c| c.retry_schedule = vec![Duration::ZERO, Duration::from_secs(600)]).await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    rx.script(vec![Reply::Status(500, "boom")]);
    let (hook, _) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    send(&s, &token, json!({"type": "track", "event": "Paid", "userId": "u1"})).await;
    rx.next(Duration::from_secs(10)).await;
    let path = format!("/webhooks/{hook}/deliveries");
    let delivery = loop {
        let (_, list) = s.api(Method::GET, &token, &path, None).await;
        let d = list["data"][0].clone();
        if d["attempts"] == 1 && d["status"] != "in_flight" {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let id = delivery["id"].as_i64().unwrap();
    let (status, body) = s
        .api(Method::POST, &token, &format!("/deliveries/{id}/retry"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, audit) = s
        .api(
            Method::GET,
            &token,
            &format!("/audit-log?target_type=delivery&target_id={id}"),
            None,
        )
        .await;
    let diff = &audit["data"][0]["diff"];
    assert_eq!(audit["data"][0]["action"], "delivery.retried");
    assert_eq!(
        diff["status"],
        json!({"before": "retrying", "after": "pending"}),
        "a stage that changed, never 'pending → pending': {diff}"
    );
    assert!(
        diff["next_attempt_at"]["after"].is_string(),
        "the attempt moved to now: {diff}"
    );
}

const CHROME: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_agents_are_summarised_on_the_page_and_kept_whole_in_the_tooltip_and_the_api() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("ua@example.com"), "UA").await;
    let token = s.create_token("admin", &["read", "write"]).await;
    let csrf = s.csrf_from("/login").await;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("csrf", csrf.as_str()), ("name", "From Chrome")])
        .finish();
    let res = s
        .client
        .post(format!("{}/settings/apps", app.base))
        .header("user-agent", CHROME)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = s
        .client
        .post(format!("{}/api/v1/apps", app.base))
        .bearer_auth(&token)
        .header("user-agent", "curl/8.5.0")
        .json(&json!({"name": "From curl"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let page = s.page("/settings/audit-log").await;
    assert!(
        page.contains(&format!("title=\"{CHROME}\">Chrome 131 on Linux</span>")),
        "{page}"
    );
    assert!(page.contains(">curl 8.5</span>"));
    assert!(
        !page.contains(&format!(">{CHROME}<")),
        "the whole string only in the tooltip"
    );
    let (_, audit) = s.api(Method::GET, &token, "/audit-log?target_type=app", None).await;
    let agents: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["user_agent"].as_str())
        .collect();
    assert!(agents.contains(&CHROME) && agents.contains(&"curl/8.5.0"), "{agents:?}");
}
