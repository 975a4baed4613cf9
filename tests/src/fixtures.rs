//! Typed helpers that set up what many tests start from — an account with a token, a webhook,
//! an ingested event, a member with a role — and wait for the API to reach a state. Shared by
//! every test module, so no test module imports another's helpers.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::http::{PASSWORD, Session, extract};
use crate::{TestApp, unique};

/// How long [`until`] polls before it fails the test.
pub const WAIT: Duration = Duration::from_secs(15);

/// Signs up a new account; returns its owner's session and a token with the `ingest`, `read`
/// and `write` scopes.
pub async fn account(app: &TestApp) -> (Session, String) {
    let s = app.session();
    s.signup(&unique("owner@example.com"), "Acme").await;
    let token = s.create_token("all", &["ingest", "read", "write"]).await;
    (s, token)
}

/// Creates a webhook over the API from `body` with `url` filled in (and a name when `body` has
/// none); returns its public id and its generated secret, if the scheme has one.
///
/// # Panics
/// When the API does not answer 201.
pub async fn webhook(s: &Session, token: &str, url: &str, mut body: Value) -> (String, Option<String>) {
    body["url"] = json!(url);
    if body.get("name").is_none() {
        body["name"] = json!("receiver");
    }
    let (status, created) = s.api(Method::POST, token, "/webhooks", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().map(str::to_owned),
    )
}

/// Ingests `body` at `/events`; returns the API's answer (`accepted`, …).
///
/// # Panics
/// When the API does not answer 202.
pub async fn send(s: &Session, token: &str, body: Value) -> Value {
    let (status, res) = s.api(Method::POST, token, "/events", Some(&body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{res}");
    res
}

/// Polls the API until `path` answers a JSON value for which `done` holds; returns that value.
///
/// # Panics
/// When `path` does not answer 200, or `done` does not hold within [`WAIT`].
pub async fn until(s: &Session, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, v) = s.api(Method::GET, token, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {v}");
        if done(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never reached the expected state: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Invites a new member into the owner's account with `role`; the invitee sets a password and
/// joins. Returns the member's session.
///
/// # Panics
/// When the invitation or the joining fails.
pub async fn join_as(app: &TestApp, owner: &Session, role: &str) -> Session {
    let email = unique(&format!("{role}@example.com"));
    let res = owner
        .post_form("/settings/members/invite", &[("email", &email), ("role", role)])
        .await;
    let link = extract(&owner.follow(res).await, "id=\"invite-link\" class=\"secret\">", "<").unwrap();
    let member = app.session();
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    assert!(member.page(&path).await.contains("Choose a password"));
    let res = member.post_form(&path, &[("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    member
}

/// A webhook form submission with every kind of field; [`full_body`] is the same webhook as an
/// API body.
#[must_use]
pub fn full_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "CRM sync"),
        ("url", "https://crm.example.com/hooks/herald"),
        ("description", "Pushes product events to the CRM"),
        ("method", "PUT"),
        ("header_name", "X-Api-Key"),
        ("header_value", "k-123"),
        ("header_name", "X-Team"),
        ("header_value", "growth"),
        ("event_types", "track"),
        ("event_types", "identify"),
        ("pattern", "flows.*"),
        ("pattern_live", "on"),
        ("pattern", "email_opened"),
        ("pattern_live", "off"),
        ("pattern", "Order Completed"),
        ("pattern_live", "on"),
        ("properties", "user.email\nuser.name\ncompany.name"),
        ("payload_format", "envelope"),
        ("batch_enabled", "on"),
        ("batch_max_events", "50"),
        ("batch_max_wait_secs", "5"),
        ("filter_path", "properties.plan"),
        ("filter_op", "eq"),
        ("filter_value", "\"pro\""),
        ("filter_path", "properties.seats"),
        ("filter_op", "gt"),
        ("filter_value", "3"),
        ("timeout_secs", "7"),
        ("signature_scheme", "hmac_sha1"),
    ]
}

/// The webhook of [`full_form`] as an API body.
#[must_use]
pub fn full_body() -> Value {
    json!({
        "name": "CRM sync",
        "url": "https://crm.example.com/hooks/herald",
        "description": "Pushes product events to the CRM",
        "method": "PUT",
        "headers": [{"name": "X-Api-Key", "value": "k-123"}, {"name": "X-Team", "value": "growth"}],
        "event_types": ["track", "identify"],
        "patterns": [
            {"pattern": "flows.*", "enabled": true},
            {"pattern": "email_opened", "enabled": false},
            {"pattern": "Order Completed", "enabled": true}
        ],
        "properties": ["user.email", "user.name", "company.name"],
        "payload_format": "envelope",
        "batching": {"max_events": 50, "max_wait_secs": 5},
        "filter": [{"path": "properties.plan", "op": "eq", "value": "pro"}, {"path": "properties.seats", "op": "gt", "value": 3}],
        "timeout_secs": 7,
        "signature_scheme": "hmac_sha1"
    })
}

/// Creates a webhook through the dashboard's form; returns its public id.
///
/// # Panics
/// When the form is not accepted (303).
pub async fn create_by_form(s: &Session, fields: &[(&str, &str)]) -> String {
    let res = s.post_form("/settings/webhooks", fields).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    location
        .trim_start_matches("/settings/webhooks/")
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}
