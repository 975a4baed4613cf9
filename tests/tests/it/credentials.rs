//! Cached credentials: a revoked token stops working within 5 s in every process on the
//! database (at once in the one that revoked it), and a new token works at once everywhere.

use std::time::{Duration, Instant};

use herald_tests::{Peer, Session, TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// How long a revocation may take to reach every process.
const REVOCATION_BOUND: Duration = Duration::from_secs(5);

async fn ingest(s: &Session, token: &str) -> StatusCode {
    let event = json!({"type": "track", "userId": "u", "event": "Ping", "messageId": unique("m")});
    s.api(Method::POST, token, "/events", Some(&event)).await.0
}

async fn create_ingest_token(s: &Session, admin: &str) -> Value {
    let (status, created) = s
        .api(
            Method::POST,
            admin,
            "/tokens",
            Some(&json!({"name": unique("ingest"), "scopes": ["ingest"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

/// Two servers on one database, an account with an admin token (`admin`, used through `s`)
/// and an ingest token created just now (`created`, as the API answered).
struct TwoProcesses {
    _app: TestApp,
    _peer: Peer,
    s: Session,
    other: Session,
    admin: String,
    created: Value,
}

impl TwoProcesses {
    async fn with_a_new_token() -> Self {
        let app = TestApp::spawn().await;
        let peer = app.spawn_peer().await;
        let (s, other) = (app.session(), peer.session());
        s.signup(&unique("a@example.com"), "A").await;
        let admin = s.create_token("admin", &["ingest", "read", "write"]).await;
        let created = create_ingest_token(&s, &admin).await;
        Self {
            _app: app,
            _peer: peer,
            s,
            other,
            admin,
            created,
        }
    }
}

/// Ingests every 100 ms until refused; the time from `since`.
async fn time_until_refused(s: &Session, token: &str, since: Instant) -> Duration {
    loop {
        let status = ingest(s, token).await;
        if status == StatusCode::UNAUTHORIZED {
            return since.elapsed();
        }
        assert_eq!(status, StatusCode::ACCEPTED, "a live token ingests");
        assert!(
            since.elapsed() < REVOCATION_BOUND,
            "the revoked token still works after {REVOCATION_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_within_five_seconds_by_every_process() {
    let t = TwoProcesses::with_a_new_token().await;
    let TwoProcesses {
        s,
        other,
        admin,
        created,
        ..
    } = &t;
    let token = created["secret"].as_str().unwrap();
    assert_eq!(ingest(s, token).await, StatusCode::ACCEPTED);
    assert_eq!(
        ingest(other, token).await,
        StatusCode::ACCEPTED,
        "the peer now caches it too"
    );

    let (status, body) = s
        .api(Method::DELETE, admin, &format!("/tokens/{}", created["id"]), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revoked = Instant::now();
    assert_eq!(
        ingest(s, token).await,
        StatusCode::UNAUTHORIZED,
        "the revoking process refuses it at once"
    );
    let elapsed = time_until_refused(other, token, revoked).await;
    println!("the other process refused the revoked token after {elapsed:?}");
    assert!(elapsed < REVOCATION_BOUND);
    assert_eq!(
        ingest(other, token).await,
        StatusCode::UNAUTHORIZED,
        "and keeps refusing it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_created_a_moment_ago_works_at_once_in_every_process() {
    let t = TwoProcesses::with_a_new_token().await;
    let token = t.created["secret"].as_str().unwrap();
    assert_eq!(ingest(&t.other, token).await, StatusCode::ACCEPTED, "the other process");
    assert_eq!(ingest(&t.s, token).await, StatusCode::ACCEPTED, "the creating process");
}
