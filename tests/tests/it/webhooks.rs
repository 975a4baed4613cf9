//! Settings → Webhooks and `/api/v1/webhooks`.

use herald_tests::http::{Session, extract};
use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::viewer::join_as;

/// A form submission with every kind of field, and the same webhook as an API body.
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

/// Creates a webhook through the form and returns its public id.
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

fn comparable(mut w: Value) -> Value {
    for key in ["id", "created_at", "updated_at", "created_by", "updated_by"] {
        w.as_object_mut().unwrap().remove(key);
    }
    w
}

async fn count_webhooks(app: &TestApp) -> i64 {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(app.database_url()).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM webhooks",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_and_the_api_store_identical_webhooks_for_the_same_input() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let token = s.create_token("admin", &["read", "write"]).await;
    let form_id = create_by_form(&s, &full_form()).await;
    let (status, created) = s.api(Method::POST, &token, "/webhooks", Some(&full_body())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(
        created["secret"].as_str().unwrap().len() >= 32,
        "a generated HMAC secret"
    );
    let (_, by_form) = s.api(Method::GET, &token, &format!("/webhooks/{form_id}"), None).await;
    let (_, by_api) = s
        .api(
            Method::GET,
            &token,
            &format!("/webhooks/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(comparable(by_form.clone()), comparable(by_api));
    assert_eq!(by_form["filter"][0]["value"], "pro");
    assert_eq!(by_form["filter"][1]["value"], 3);
    assert_eq!(
        by_form["patterns"][1],
        json!({"pattern": "email_opened", "enabled": false})
    );
    assert_eq!(by_form["batching"], json!({"max_events": 50, "max_wait_secs": 5}));
    let (_, listed) = s.api(Method::GET, &token, "/webhooks", None).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(created["secret"].as_str().unwrap()),
        "lists never carry secrets"
    );
}

/// A bad form submission, the same mistake as an API body, and the field both must name.
type BadCase = (Vec<(&'static str, String)>, Value, &'static str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_webhook_input_is_refused_inline_and_over_the_api_and_nothing_is_saved() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let token = s.create_token("admin", &["read", "write"]).await;
    let eleven = (1..=11).map(|i| format!("user.trait{i}")).collect::<Vec<_>>();
    let eleven_text = eleven.join("\n");
    let base = |k: &'static str, v: &str| {
        let mut f: Vec<(&str, String)> = vec![
            ("name", "Bad".into()),
            ("url", "https://example.com/h".into()),
            ("event_types", "track".into()),
        ];
        f.retain(|(key, _)| *key != k);
        f.push((k, v.to_owned()));
        f
    };
    let cases: Vec<BadCase> = vec![
        (
            base("properties", &eleven_text),
            json!({"properties": eleven}),
            "properties",
        ),
        (
            base("url", "ftp://example.com/x"),
            json!({"url": "ftp://example.com/x"}),
            "url",
        ),
        (
            base("url", "https://user:pw@example.com/x"),
            json!({"url": "https://user:pw@example.com/x"}),
            "url",
        ),
        (
            {
                let mut f = base("header_name", "Bad Header");
                f.push(("header_value", "x".into()));
                f
            },
            json!({"headers": [{"name": "Bad Header", "value": "x"}]}),
            "headers[0].name",
        ),
        (
            {
                let mut f = base("payload_format", "custom");
                f.push(("template", "{\"plan\": ".into()));
                f
            },
            json!({"payload_format": "custom", "template": "{\"plan\": "}),
            "template",
        ),
        (
            {
                let mut f = base("batch_enabled", "on");
                f.push(("batch_max_events", "1001".into()));
                f.push(("batch_max_wait_secs", "5".into()));
                f
            },
            json!({"batching": {"max_events": 1001, "max_wait_secs": 5}}),
            "batch_max_events",
        ),
        (base("timeout_secs", "0"), json!({"timeout_secs": 0}), "timeout_secs"),
    ];
    for (form, api_patch, field) in cases {
        let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = s.post_form("/settings/webhooks", &fields).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "form with bad {field}");
        let html = res.text().await.unwrap();
        assert!(html.contains("class=\"field-error\""), "inline error for {field}");
        assert!(html.contains("value=\"Bad\""), "typed values are kept");
        let mut body = json!({"name": "Bad", "url": "https://example.com/h"});
        for (k, v) in api_patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, err) = s.api(Method::POST, &token, "/webhooks", Some(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "API with bad {field}: {err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    let (_, err) = s.api(Method::POST, &token, "/webhooks", Some(&json!({"name": "x", "url": "https://e.com", "properties": (1..=11).map(|i| format!("user.t{i}")).collect::<Vec<_>>()}))).await;
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 10 properties"),
        "{err}"
    );
    let (status, err) = s
        .api(
            Method::POST,
            &token,
            "/webhooks",
            Some(&json!({"url": "https://e.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "name");
    assert_eq!(count_webhooks(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_webhook_is_404_viewers_get_403_and_read_tokens_cannot_write() {
    let app = TestApp::spawn().await;
    let owner = app.session();
    owner.signup(&unique("owner@example.com"), "Owner").await;
    let id = create_by_form(&owner, &full_form()).await;
    let reader = owner.create_token("reader", &["read"]).await;

    let other = app.session();
    other.signup(&unique("other@example.com"), "Other").await;
    let other_token = other.create_token("all", &["read", "write"]).await;
    let api_routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/webhooks/{id}"), None),
        (
            Method::PATCH,
            format!("/webhooks/{id}"),
            Some(json!({"name": "mine now"})),
        ),
        (Method::DELETE, format!("/webhooks/{id}"), None),
        (Method::POST, format!("/webhooks/{id}/enable"), None),
        (Method::POST, format!("/webhooks/{id}/disable"), None),
        (Method::POST, format!("/webhooks/{id}/rotate-secret"), None),
        (Method::GET, format!("/webhooks/{id}/secret"), None),
    ];
    for (method, path, body) in &api_routes {
        let (status, res) = other.api(method.clone(), &other_token, path, body.as_ref()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {res}");
    }
    for path in [
        format!("/settings/webhooks/{id}"),
        format!("/settings/webhooks/{id}/delete"),
    ] {
        assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND, "GET {path}");
    }
    let page_posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/settings/webhooks/{id}"), full_form()),
        (format!("/settings/webhooks/{id}/enable"), vec![]),
        (format!("/settings/webhooks/{id}/disable"), vec![]),
        (format!("/settings/webhooks/{id}/delete"), vec![]),
        (format!("/settings/webhooks/{id}/secret/reveal"), vec![]),
        (format!("/settings/webhooks/{id}/secret/rotate"), vec![]),
    ];
    for (path, fields) in &page_posts {
        assert_eq!(
            other.post_form(path, fields).await.status(),
            StatusCode::NOT_FOUND,
            "POST {path}"
        );
    }

    let viewer = join_as(&app, &owner, "viewer").await;
    assert_eq!(
        viewer.get(&format!("/settings/webhooks/{id}")).await.status(),
        StatusCode::OK,
        "viewers read"
    );
    assert_eq!(viewer.get("/settings/webhooks").await.status(), StatusCode::OK);
    assert_eq!(
        viewer.post_form("/settings/webhooks", &full_form()).await.status(),
        StatusCode::FORBIDDEN
    );
    for (path, fields) in &page_posts {
        assert_eq!(
            viewer.post_form(path, fields).await.status(),
            StatusCode::FORBIDDEN,
            "viewer POST {path}"
        );
    }

    let (status, _) = owner.api(Method::GET, &reader, &format!("/webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = owner.api(Method::POST, &reader, "/webhooks", Some(&full_body())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (method, path, body) in &api_routes[1..] {
        let (status, res) = owner.api(method.clone(), &reader, path, body.as_ref()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "read token {method} {path}: {res}");
    }

    let (_, still) = owner.api(Method::GET, &reader, &format!("/webhooks/{id}"), None).await;
    assert_eq!(still["name"], "CRM sync");
    assert_eq!(still["enabled"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_encrypted_at_rest_rotate_with_overlap_and_never_reach_the_audit_log() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let token = s.create_token("admin", &["read", "write"]).await;
    let body = json!({"name": "Signed", "url": "https://example.com/h"});
    let (_, created) = s.api(Method::POST, &token, "/webhooks", Some(&body)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));

    let (status, rotated) = s
        .api(Method::POST, &token, &format!("/webhooks/{id}/rotate-secret"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        rotated["previous_secret"],
        secret.as_str(),
        "the old secret keeps signing"
    );
    assert!(rotated["previous_secret_expires_at"].is_string());
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let (status, chosen) = s
        .api(
            Method::POST,
            &token,
            &format!("/webhooks/{id}/rotate-secret"),
            Some(&json!({"secret": "not-base64!"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(chosen["error"]["field"], "secret");

    // The page shows it only once, after the Reveal POST redirects to it.
    let page = s.page(&format!("/settings/webhooks/{id}")).await;
    assert!(!page.contains(&new_secret));
    let res = s
        .post_form(&format!("/settings/webhooks/{id}/secret/reveal"), &[])
        .await;
    let revealed = s.follow(res).await;
    assert_eq!(
        extract(&revealed, "id=\"webhook-secret\" class=\"secret\">", "<").unwrap(),
        new_secret
    );

    let (_, audit) = s.api(Method::GET, &token, "/audit-log?limit=200", None).await;
    let text = audit.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(&new_secret),
        "no secret in the audit log"
    );
    assert!(text.contains("webhook.secret_rotated"));

    if app.database_url().starts_with("sqlite://") {
        let path = app
            .database_url()
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let mut raw = std::fs::read(&path).unwrap();
        raw.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        for s in [&secret, &new_secret] {
            assert!(
                !raw.windows(s.len()).any(|w| w == s.as_bytes()),
                "secret found in clear in the database file"
            );
        }
    } else {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let db = Database::connect(app.database_url()).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT secret_sealed, previous_secret_sealed FROM webhooks",
            ))
            .await
            .unwrap();
        for row in rows {
            let sealed: Option<String> = row.try_get("", "secret_sealed").unwrap();
            let prev: Option<String> = row.try_get("", "previous_secret_sealed").unwrap();
            for v in [sealed, prev].into_iter().flatten() {
                assert!(v.starts_with("v1:") && !v.contains(&secret) && !v.contains(&new_secret));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_toggles_and_deletes_are_audited_with_field_level_diffs() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("a@example.com"), "A").await;
    let token = s.create_token("admin", &["read", "write"]).await;
    let id = create_by_form(&s, &full_form()).await;
    let mut edited = full_form();
    edited.retain(|(k, _)| !matches!(*k, "header_name" | "header_value" | "timeout_secs"));
    edited.extend([
        ("header_name", "X-Api-Key"),
        ("header_value", "k-456"),
        ("timeout_secs", "9"),
    ]);
    let res = s.post_form(&format!("/settings/webhooks/{id}"), &edited).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        s.post_form(&format!("/settings/webhooks/{id}/disable"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let list = s.page("/settings/webhooks").await;
    assert!(list.contains("health-state\">disabled<"));
    assert_eq!(
        s.post_form(&format!("/settings/webhooks/{id}/enable"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let (status, _) = s
        .api(
            Method::PATCH,
            &token,
            &format!("/webhooks/{id}"),
            Some(&json!({"name": "CRM (renamed)"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.api(Method::DELETE, &token, &format!("/webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.api(Method::GET, &token, &format!("/webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, audit) = s
        .api(
            Method::GET,
            &token,
            &format!("/audit-log?target_type=webhook&target_id={id}"),
            None,
        )
        .await;
    let rows = audit["data"].as_array().unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "webhook.deleted",
            "webhook.updated",
            "webhook.enabled",
            "webhook.disabled",
            "webhook.updated",
            "webhook.created"
        ]
    );
    let first_edit = &rows[4]["diff"];
    assert_eq!(first_edit["timeout_secs"], json!({"before": 7, "after": 9}));
    assert_eq!(
        first_edit["headers"]["after"][1],
        Value::Null,
        "the second header was removed"
    );
    assert_eq!(first_edit["headers"]["after"][0]["value"], "[redacted]");
    assert!(first_edit.get("name").is_none(), "unchanged fields are not in the diff");
    assert_eq!(
        rows[1]["diff"]["name"],
        json!({"before": "CRM sync", "after": "CRM (renamed)"})
    );
    assert_eq!(rows[1]["actor"]["type"], "token");
    assert_eq!(
        rows[5]["diff"]["secret"],
        json!({"before": null, "after": "[redacted]"})
    );
    let text = audit.to_string();
    assert!(
        !text.contains("k-123") && !text.contains("k-456"),
        "header values are redacted: {text}"
    );
    let history = s.page("/settings/audit-log?target_type=webhook").await;
    assert!(history.contains("webhook.deleted"));
}
