//! Settings → Webhooks and `/api/v1/webhooks`.

use herald_tests::fixtures::{create_by_form, full_body, full_form, join_as};
use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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
