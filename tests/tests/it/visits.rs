//! Derived `NEW_VISITOR` / `NEW_VISIT` events from page events (seed 001, issue 7), end to end:
//! real server, real receiver, SQLite or PostgreSQL.

use std::time::Duration;

use herald_tests::TestApp;
use herald_tests::fixtures::{WAIT, account, send, webhook};
use herald_tests::http::Session;
use herald_tests::receiver::{Received, Receiver};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// How long to keep listening to show that nothing more arrives.
const QUIET: Duration = Duration::from_millis(1500);

const IPHONE_SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                             (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// A webhook taking both derived events; returns the receiver.
async fn visit_hook(s: &Session, token: &str) -> Receiver {
    let rx = Receiver::start().await;
    webhook(
        s,
        token,
        &rx.url,
        json!({"patterns": [{"pattern": "NEW_VISITOR"}, {"pattern": "NEW_VISIT"}]}),
    )
    .await;
    rx
}

fn page(anonymous_id: &str, at: &str, url: &str) -> Value {
    json!({"type": "page", "anonymousId": anonymous_id, "timestamp": at, "properties": {"url": url}})
}

/// The `event` names of what arrived, in arrival order.
fn names(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| r.json()["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn count(got: &[Received], name: &str) -> usize {
    names(got).iter().filter(|n| *n == name).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_within_the_timeout_are_one_visit_and_a_gap_of_31_minutes_starts_another() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = visit_hook(&s, &token).await;
    for at in ["2024-12-22T14:30:00Z", "2024-12-22T14:45:00Z", "2024-12-22T14:59:00Z"] {
        send(&s, &token, page("anon-1", at, "https://example.com/")).await;
    }
    let mut got = rx.take(2, WAIT).await;
    got.extend(rx.drain(QUIET).await);
    assert_eq!(count(&got, "NEW_VISITOR"), 1, "{:?}", names(&got));
    assert_eq!(count(&got, "NEW_VISIT"), 1, "{:?}", names(&got));
    let visitor = got.iter().find(|r| r.json()["event"] == "NEW_VISITOR").unwrap().json();
    let first_visit = got.iter().find(|r| r.json()["event"] == "NEW_VISIT").unwrap().json();
    assert_eq!(
        visitor["id"], first_visit["id"],
        "the visitor's event describes its first visit"
    );
    assert_eq!(first_visit["visitor"]["id"], "anon-1");
    assert_eq!(first_visit["visitor"]["firstSeen"], "2024-12-22T14:30:00Z");
    assert_eq!(first_visit["date"], "2024-12-22T14:30:00Z");

    send(
        &s,
        &token,
        page("anon-1", "2024-12-22T15:30:00Z", "https://example.com/again"),
    )
    .await;
    let mut later = vec![rx.next(WAIT).await];
    later.extend(rx.drain(QUIET).await);
    assert_eq!(names(&later), ["NEW_VISIT"]);
    let second = later[0].json();
    assert_ne!(second["id"], first_visit["id"]);
    assert_eq!(second["date"], "2024-12-22T15:30:00Z");
    assert_eq!(second["visitor"]["firstSeen"], "2024-12-22T14:30:00Z");
    assert_eq!(second["url"], "https://example.com/again");

    // Re-sending a page with the same messageId is acknowledged and derives nothing.
    let again = json!({"type": "page", "anonymousId": "anon-1", "messageId": "fixed",
                       "timestamp": "2024-12-23T10:00:00Z"});
    send(&s, &token, again.clone()).await;
    assert_eq!(names(&[rx.next(WAIT).await]), ["NEW_VISIT"]);
    let res = send(&s, &token, again).await;
    assert_eq!(res["duplicates"], 1, "{res}");
    assert!(rx.drain(QUIET).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visit_payload_has_utm_params_traffic_source_device_and_browser() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let rx_visit = Receiver::start().await;
    webhook(
        &s,
        &token,
        &rx_visit.url,
        json!({"patterns": [{"pattern": "NEW_VISIT"}]}),
    )
    .await;
    let mut rx = rx_visit;
    send(
        &s,
        &token,
        json!({"batch": [
            {"type": "identify", "userId": "u-7", "traits": {"email": "ann@example.com"}},
            {"type": "group", "userId": "u-7", "groupId": "acme", "traits": {"name": "Example Corp", "website": "https://www.example.com"}},
            {"type": "page", "userId": "u-7", "anonymousId": "anon-utm", "timestamp": "2024-12-22T14:30:00Z",
             "properties": {"url": "https://example.com/entry?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale",
                            "referrer": "https://google.com"},
             "context": {"ip": "192.168.1.1", "userAgent": IPHONE_SAFARI, "timezone": "America/Los_Angeles",
                         "location": {"country": "United States", "city": "San Francisco", "region": "California"},
                         "screen": {"height": 2532, "width": 1170}}},
            {"type": "page", "anonymousId": "anon-direct", "properties": {"url": "https://example.com/pricing"}}
        ]}),
    )
    .await;
    let got = rx.take(2, WAIT).await;
    let by_visitor = |id: &str| {
        got.iter()
            .map(Received::json)
            .find(|b| b["visitor"]["id"] == id)
            .unwrap_or_else(|| panic!("a NEW_VISIT for {id}"))
    };
    let v = by_visitor("anon-utm");
    assert_eq!(v["type"], "track");
    assert_eq!(v["event"], "NEW_VISIT");
    assert_eq!(
        v["url"],
        "https://example.com/entry?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale"
    );
    assert_eq!(
        v["params"],
        json!({"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring_sale"})
    );
    assert_eq!(v["referrer"], "https://google.com");
    assert_eq!(
        v["trafficSource"],
        json!({"channel": "Email", "source": "newsletter", "campaign": "spring_sale"}),
        "UTM parameters win over the Google referrer"
    );
    assert_eq!(v["date"], "2024-12-22T14:30:00Z");
    assert_eq!(v["ip"], "192.168.1.1");
    assert_eq!(
        v["visitor"]["company"],
        json!({"name": "Example Corp", "domain": "example.com"})
    );
    assert_eq!(
        v["location"],
        json!({"country": "United States", "city": "San Francisco", "state": "California"})
    );
    assert_eq!(v["device"]["model"], "iPhone");
    assert_eq!(v["device"]["os"], "iOS 17.0");
    assert_eq!(
        v["browser"],
        json!({"name": "Safari", "version": "17.0", "vendor": "Apple"})
    );
    assert_eq!(v["timezone"], "America/Los_Angeles");
    assert_eq!(v["screen"], json!({"height": "2532", "width": "1170", "touch": "true"}));
    assert!(v["id"].as_str().is_some_and(|id| !id.is_empty()));

    let direct = by_visitor("anon-direct");
    assert_eq!(
        direct["trafficSource"],
        json!({"channel": "Direct", "source": null, "campaign": null})
    );
    assert_eq!(direct["params"], json!({}));
    assert_eq!(direct["device"], json!({"model": null, "os": null, "type": null}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_pages_of_one_visitor_yield_one_new_visitor() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = visit_hook(&s, &token).await;
    const ROUNDS: usize = 4;
    for round in 0..ROUNDS {
        let visitor = format!("racer-{round}");
        let a = page(&visitor, "2024-12-22T14:30:00Z", "https://example.com/a");
        let b = page(&visitor, "2024-12-22T14:30:01Z", "https://example.com/b");
        tokio::join!(send(&s, &token, a), send(&s, &token, b));
    }
    let mut got = rx.take(2 * ROUNDS, WAIT).await;
    got.extend(rx.drain(QUIET).await);
    assert_eq!(count(&got, "NEW_VISITOR"), ROUNDS, "{:?}", names(&got));
    assert_eq!(count(&got, "NEW_VISIT"), ROUNDS, "{:?}", names(&got));
    for round in 0..ROUNDS {
        let visitor = format!("racer-{round}");
        let mine = got
            .iter()
            .filter(|r| r.json()["visitor"]["id"] == visitor.as_str())
            .count();
        assert_eq!(mine, 2, "{visitor}: one NEW_VISITOR and one NEW_VISIT");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_and_hipaa_mode_are_account_settings_and_the_names_are_built_in() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;

    let (status, types) = s.api(Method::GET, &token, "/event-types?limit=100", None).await;
    assert_eq!(status, StatusCode::OK, "{types}");
    for name in ["NEW_VISITOR", "NEW_VISIT"] {
        let entry = types["data"].as_array().unwrap().iter().find(|t| t["name"] == name);
        assert_eq!(entry.map(|t| t["source"].clone()), Some(json!("builtin")), "{types}");
    }
    assert!(s.page("/settings/event-types").await.contains("built-in"));
    assert!(
        s.page("/settings/webhooks/new")
            .await
            .contains("<option value=\"NEW_VISIT\"")
    );

    let res = s
        .post_form("/settings/account", &[("name", "Acme"), ("visit_timeout_minutes", "0")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("from 1 to 1440"));
    let res = s
        .post_form(
            "/settings/account",
            &[("name", "Acme"), ("visit_timeout_minutes", "5"), ("hipaa_mode", "on")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(s.page("/settings/account").await.contains("value=\"5\""));

    let mut rx = visit_hook(&s, &token).await;
    let with_ip =
        |at: &str| json!({"type": "page", "anonymousId": "short", "timestamp": at, "context": {"ip": "203.0.113.9"}});
    send(&s, &token, with_ip("2024-12-22T14:30:00Z")).await;
    send(&s, &token, with_ip("2024-12-22T14:36:00Z")).await;
    let mut got = rx.take(3, WAIT).await;
    got.extend(rx.drain(QUIET).await);
    assert_eq!(
        names(&got).iter().filter(|n| *n == "NEW_VISIT").count(),
        2,
        "6 minutes > 5"
    );
    assert!(
        got.iter().all(|r| r.json().get("ip").is_none()),
        "no ip key in HIPAA mode"
    );

    let (status, log) = s.api(Method::GET, &token, "/audit-log?target_type=account", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(log.to_string().contains("visit_timeout_minutes"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_star_webhook_gets_no_derived_events_and_a_new_visit_webhook_gets_the_visit() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut star = Receiver::start().await;
    webhook(
        &s,
        &token,
        &star.url,
        json!({"event_types": ["track"], "patterns": [{"pattern": "*"}]}),
    )
    .await;
    let mut visits = Receiver::start().await;
    webhook(&s, &token, &visits.url, json!({"patterns": [{"pattern": "NEW_VISIT"}]})).await;
    send(
        &s,
        &token,
        page("anon-star", "2024-12-22T14:30:00Z", "https://example.com/"),
    )
    .await;
    let got = visits.take(1, WAIT).await;
    assert_eq!(names(&got), ["NEW_VISIT"]);
    assert!(got[0].json()["properties"].is_object() || got[0].json().is_object());
    assert!(visits.drain(QUIET).await.is_empty(), "only the visit, not NEW_VISITOR");
    assert!(
        star.drain(QUIET).await.is_empty(),
        "`*` means the tenant's own track events only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_track_event_with_a_reserved_name_is_refused() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    for name in ["NEW_VISIT", "NEW_VISITOR"] {
        let body = json!({"type": "track", "userId": "u", "event": name});
        let (status, res) = s.api(Method::POST, &token, "/events", Some(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
        assert_eq!(res["error"]["field"], "event", "{res}");
        assert!(res["error"]["message"].as_str().unwrap().contains("reserved"), "{res}");
    }
}
