//! Changing a webhook: secrets encrypted at rest and rotated with overlap, and every edit,
//! toggle and delete audited with a field-level diff.

use herald_tests::fixtures::{create_by_form, full_form};
use herald_tests::http::extract;
use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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
