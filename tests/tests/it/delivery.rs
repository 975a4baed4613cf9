//! Ingest → matching → queue → signed HTTP delivery, against a real local receiver.

use std::time::Duration;

use herald_jobs::signing;
use herald_tests::TestApp;
use herald_tests::fixtures::{WAIT, account, send, webhook};
use herald_tests::receiver::Receiver;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracked_event_arrives_signed_in_the_event_format() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    let (_, secret) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    let res = send(
        &s,
        &token,
        json!({"type": "track", "event": "Signed Up", "userId": "u1", "properties": {"plan": "pro"}}),
    )
    .await;
    assert_eq!(res["accepted"], 1);
    let got = rx.next(WAIT).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert!(got.header("user-agent").unwrap().starts_with("Herald/"));
    let body = got.json();
    assert_eq!(body["event"], "Signed Up");
    assert_eq!(body["properties"]["plan"], "pro");
    assert_eq!(body["type"], "track");
    assert!(body["messageId"].is_string() && body["receivedAt"].is_string() && body["timestamp"].is_string());
    let id = got.header("webhook-id").unwrap();
    let ts: i64 = got.header("webhook-timestamp").unwrap().parse().unwrap();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    assert!(signing::verify_standard(
        &secret.unwrap(),
        id,
        ts,
        now,
        &got.body,
        got.header("webhook-signature").unwrap()
    ));
}

/// HMAC-SHA256 computed here with the primitives, independently of Herald's signing module.
fn independent_standard_signature(secret: &str, id: &str, ts: &str, body: &[u8]) -> String {
    use base64::Engine;
    use hmac::Mac;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_carry_exactly_the_chosen_properties_and_opt_in_types_are_respected() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    let properties: Vec<String> = (1..=6)
        .map(|i| format!("user.u{i}"))
        .chain((1..=4).map(|i| format!("company.c{i}")))
        .collect();
    webhook(
        &s,
        &token,
        &rx.url,
        json!({"patterns": [{"pattern": "flows.*"}], "properties": properties, "payload_format": "envelope"}),
    )
    .await;
    let traits: serde_json::Map<String, Value> = (1..=8)
        .map(|i| (format!("u{i}"), json!(format!("user value {i}"))))
        .collect();
    let company: serde_json::Map<String, Value> = (1..=6).map(|i| (format!("c{i}"), json!(i))).collect();
    send(
        &s,
        &token,
        json!({"batch": [
            {"type": "identify", "userId": "u-42", "traits": traits},
            {"type": "group", "userId": "u-42", "groupId": "acme", "traits": company},
            {"type": "page", "userId": "u-42", "name": "Home"},
            {"type": "track", "userId": "u-42", "event": "email_opened"},
            {"type": "track", "userId": "u-42", "event": "flows.completed", "timestamp": "2023-03-23T13:37:05Z",
             "properties": {"id": 1, "hostname": "demo.userpilot.io"}}
        ]}),
    )
    .await;
    let got = rx.next(WAIT).await;
    let body = got.json();
    assert_eq!(body["type"], "flows.completed");
    assert_eq!(body["timestamp"], 1_679_578_625);
    assert!(body["app_token"].as_str().unwrap().starts_with("AP-"));
    assert_eq!(body["data"]["hostname"], "demo.userpilot.io");
    let user = body["data"]["user"].as_object().unwrap();
    let company = body["data"]["company"].as_object().unwrap();
    assert_eq!(user["user_id"], "u-42");
    assert_eq!(company["id"], "acme");
    assert_eq!(
        user.len() - 1 + company.len() - 1,
        10,
        "exactly the 10 chosen properties: {body}"
    );
    assert_eq!(user["u6"], "user value 6");
    assert!(user.get("u7").is_none(), "unchosen traits stay out");
    assert_eq!(company["c4"], 4);
    assert!(
        rx.drain(Duration::from_millis(700)).await.is_empty(),
        "identify, group, page and unmatched names are not sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_endpoints_take_write_keys_gzip_and_batches_and_opted_in_types_are_sent() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    webhook(
        &s,
        &token,
        &rx.url,
        json!({"event_types": ["track", "identify", "page"], "patterns": [{"pattern": "*"}]}),
    )
    .await;
    let (_, apps) = s.api(Method::GET, &token, "/apps", None).await;
    let write_key = apps["data"][0]["write_key"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}/v1/{p}", app.base);
    let res = client
        .post(url("identify"))
        .basic_auth(&write_key, Some(""))
        .json(&json!({"userId": "u1", "traits": {"email": "a@b.co"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["success"], true);
    let res = client
        .post(url("page"))
        .json(&json!({"writeKey": write_key, "anonymousId": "anon-1", "name": "Pricing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let batch = json!({"batch": [{"type": "track", "userId": "u1", "event": "A"}, {"type": "track", "userId": "u1", "event": "B"}], "context": {"library": {"name": "analytics-python"}}});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, batch.to_string().as_bytes()).unwrap();
    let res = client
        .post(url("batch"))
        .basic_auth(&write_key, Some(""))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    // The page also derives NEW_VISITOR and NEW_VISIT, which `*` does not take (opt-in by name).
    let got = rx.take(4, WAIT).await;
    let mut kinds: Vec<String> = got
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r.json()["type"].as_str().unwrap(),
                r.json()["event"].as_str().unwrap_or("")
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["identify:", "page:", "track:A", "track:B"]);
    let track = got
        .iter()
        .map(herald_tests::receiver::Received::json)
        .find(|b| b["event"] == "A")
        .unwrap();
    assert_eq!(
        track["context"]["library"]["name"], "analytics-python",
        "batch context is merged into messages"
    );

    let res = client
        .post(url("track"))
        .basic_auth("wk_nope", Some(""))
        .json(&json!({"userId": "u", "event": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client
        .post(url("track"))
        .basic_auth(&write_key, Some(""))
        .json(&json!({"event": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "userId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_verify_independently_and_during_rotation_both_do() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    let (id, secret) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    let old = secret.unwrap();
    let (_, rotated) = s
        .api(Method::POST, &token, &format!("/webhooks/{id}/rotate-secret"), None)
        .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    send(&s, &token, json!({"type": "track", "userId": "u", "event": "rotated"})).await;
    let got = rx.next(WAIT).await;
    let (msg_id, ts) = (
        got.header("webhook-id").unwrap(),
        got.header("webhook-timestamp").unwrap(),
    );
    let header = got.header("webhook-signature").unwrap();
    let sigs: Vec<&str> = header.split(' ').collect();
    assert_eq!(sigs.len(), 2, "two signatures during a rotation: {header}");
    assert!(sigs.contains(&independent_standard_signature(&new, msg_id, ts, &got.body).as_str()));
    assert!(sigs.contains(&independent_standard_signature(&old, msg_id, ts, &got.body).as_str()));

    let mut rx2 = Receiver::start().await;
    let (_, sha1_secret) = webhook(
        &s,
        &token,
        &rx2.url,
        json!({"patterns": [{"pattern": "*"}], "signature_scheme": "hmac_sha1"}),
    )
    .await;
    send(&s, &token, json!({"type": "track", "userId": "u", "event": "sha1"})).await;
    let got = rx2.next(WAIT).await;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(sha1_secret.unwrap().as_bytes()).unwrap();
    mac.update(&got.body);
    assert_eq!(
        got.header("x-signature").unwrap(),
        hex::encode(mac.finalize().into_bytes())
    );
    assert!(got.header("webhook-signature").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_template_is_filled_from_the_event_and_the_chosen_properties() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    let template = json!({"who": "{{ userId }}", "plan": "{{ properties.plan }}", "email": "{{ user.email }}", "note": "Plan {{ properties.plan }}!", "missing": "{{ properties.nope }}"});
    webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}], "payload_format": "custom", "template": template, "properties": ["user.email"], "method": "PATCH"})).await;
    send(
        &s,
        &token,
        json!({"batch": [
            {"type": "identify", "userId": "u9", "traits": {"email": "u9@example.com"}},
            {"type": "track", "userId": "u9", "event": "Upgraded", "properties": {"plan": "pro"}}
        ]}),
    )
    .await;
    let got = rx.next(WAIT).await;
    assert_eq!(got.method, "PATCH");
    assert_eq!(
        got.json(),
        json!({"who": "u9", "plan": "pro", "email": "u9@example.com", "note": "Plan pro!", "missing": null})
    );
}
