//! The ingest parser and the Segment-compatible endpoints under hostile input: arbitrary JSON
//! (property-based), deep nesting, huge numbers, invalid UTF-8, gzip bombs and 10,000
//! properties. Every request is either stored whole (2xx) or refused with a 4xx and a clear
//! `{"error": {"code", "message"}}`, a refused request stores nothing, and memory stays bounded.

use std::io::Write;

use herald_tests::{TestApp, unique};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

struct Target {
    app: TestApp,
    client: reqwest::Client,
    write_key: String,
    token: String,
    db: DatabaseConnection,
}

async fn target() -> Target {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("hostile@example.com"), "Hostile").await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;
    let (_, apps) = s.api(reqwest::Method::GET, &token, "/apps", None).await;
    let write_key = apps["data"][0]["write_key"].as_str().expect("write key").to_owned();
    let db = Database::connect(app.database_url()).await.expect("test connection");
    Target {
        app,
        client: reqwest::Client::new(),
        write_key,
        token,
        db,
    }
}

impl Target {
    async fn events(&self) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM events",
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// Sends `body` to `path` (a Segment path with the write key, or `/api/v1/events` with the
    /// token) and checks the contract; returns the status.
    async fn send(&self, path: &str, body: Vec<u8>, gzip: bool) -> StatusCode {
        let before = self.events().await;
        let mut req = self.client.post(format!("{}{path}", self.app.base));
        req = if path.starts_with("/api/") {
            req.bearer_auth(&self.token)
        } else {
            req.basic_auth(&self.write_key, Some(""))
        };
        if gzip {
            req = req.header("content-encoding", "gzip");
        }
        let res = req
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("an answer");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if status.is_success() {
            return status;
        }
        assert!(status.is_client_error(), "{path}: {status} {text}");
        let error: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"));
        assert!(
            error["error"]["code"].is_string() && error["error"]["message"].is_string(),
            "{path}: {text}"
        );
        assert_eq!(self.events().await, before, "{path}: a refused request stored nothing");
        status
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data).expect("gzip");
    gz.finish().expect("gzip")
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![Just("track".to_owned()), Just("identify".to_owned()), ".{0,20}"].prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("event".to_owned()),
                    Just("userId".to_owned()),
                    Just("properties".to_owned()),
                    Just("batch".to_owned()),
                    Just("timestamp".to_owned()),
                    "[a-zA-Z]{1,8}"
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_json_is_stored_whole_or_refused_with_a_clear_error() {
    let t = target().await;
    // Deterministic, so a failing case comes back on every run.
    let mut runner = TestRunner::deterministic();
    let mut cases = Vec::new();
    for _ in 0..64 {
        cases.push(arbitrary_json().new_tree(&mut runner).expect("a case").current());
    }
    for (i, case) in cases.into_iter().enumerate() {
        let path = ["/v1/track", "/v1/batch", "/api/v1/events", "/v1/identify"][i % 4];
        let body = serde_json::to_vec(&case).expect("JSON");
        t.send(path, body, i % 3 == 0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_nesting_huge_numbers_invalid_utf8_bombs_and_10000_properties_are_4xx() {
    let t = target().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested = format!(
        r#"{{"type":"track","userId":"u","event":"e","properties":{{"p":{}1{}}}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    let huge = r#"{"type":"track","userId":"u","event":"e","properties":{"n":1e400}}"#;
    let mut invalid = br#"{"type":"track","userId":"u","event":""#.to_vec();
    invalid.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid.extend_from_slice(br#""}"#);
    let props: serde_json::Map<String, Value> = (0..10_000).map(|i| (format!("p{i}"), json!(i))).collect();
    let many =
        serde_json::to_vec(&json!({"type": "track", "userId": "u", "event": "e", "properties": props})).expect("JSON");
    for path in ["/v1/track", "/api/v1/events"] {
        for body in [
            deep.as_bytes().to_vec(),
            nested.clone().into_bytes(),
            huge.as_bytes().to_vec(),
            invalid.clone(),
            many.clone(),
        ] {
            let status = t.send(path, body, false).await;
            assert!(status.is_client_error(), "{path}: {status}");
        }
    }
    let big_int = r#"{"type":"track","userId":"u","event":"e","properties":{"n":123456789012345678901234567890}}"#;
    assert!(
        t.send("/v1/track", big_int.as_bytes().to_vec(), false)
            .await
            .is_success()
    );

    let bomb = gzip(&vec![b' '; 200 * 1024 * 1024]);
    let baseline = rss();
    for _ in 0..3 {
        let status = t.send("/v1/batch", bomb.clone(), true).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
    let grown = rss().saturating_sub(baseline);
    assert!(
        grown < 128 * 1024 * 1024,
        "a 200 MB gzip bomb grew memory by {} MB",
        grown >> 20
    );
}

/// The resident set of this process (the server runs in it), in bytes (Linux).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .expect("VmRSS")
        * 1024
}
