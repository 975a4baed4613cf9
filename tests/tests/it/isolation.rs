//! One account can never see, change or delete another's objects: every attempt is a 404 and
//! leaves the owner's data as it was.

use herald_tests::http::extract;
use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_objects_are_404_by_token_and_by_session() {
    let app = TestApp::spawn().await;
    let a = app.session();
    a.signup(&unique("a@example.com"), "Account A").await;
    let a_token = a.create_token("a admin", &["ingest", "read", "write"]).await;
    let b = app.session();
    b.signup(&unique("b@example.com"), "Account B").await;
    let b_token = b.create_token("b admin", &["ingest", "read", "write"]).await;

    let (_, a_apps) = a.api(Method::GET, &a_token, "/apps", None).await;
    let a_app = a_apps["data"][0]["id"].as_i64().unwrap();
    let (_, a_tokens) = a.api(Method::GET, &a_token, "/tokens", None).await;
    let a_tok = a_tokens["data"][0]["id"].as_i64().unwrap();
    let (_, a_audit) = a.api(Method::GET, &a_token, "/audit-log", None).await;
    let a_row = a_audit["data"][0]["id"].as_i64().unwrap();
    let res = a
        .post_form(
            "/settings/members/invite",
            &[("email", "someone@example.com"), ("role", "viewer")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let members = a.page("/settings/members").await;
    let a_member = extract(&members, "id=\"member-", "\"").unwrap();
    let a_invite = extract(&members, "id=\"invitation-", "\"").unwrap();

    // B's token.
    for (method, path, body) in [
        (Method::GET, format!("/apps/{a_app}"), None),
        (
            Method::PATCH,
            format!("/apps/{a_app}"),
            Some(json!({"name": "hijacked"})),
        ),
        (Method::GET, format!("/tokens/{a_tok}"), None),
        (Method::DELETE, format!("/tokens/{a_tok}"), None),
        (Method::GET, format!("/audit-log/{a_row}"), None),
    ] {
        let (status, body) = b.api(method.clone(), &b_token, &path, body.as_ref()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    // B's lists never include A's rows.
    let (_, b_apps) = b.api(Method::GET, &b_token, "/apps", None).await;
    assert!(
        b_apps["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["id"].as_i64() != Some(a_app))
    );
    let (_, b_audit) = b.api(Method::GET, &b_token, "/audit-log?limit=200", None).await;
    assert!(!b_audit.to_string().contains("Account A"));

    // B's session.
    for (path, fields) in [
        (format!("/settings/apps/{a_app}/rename"), vec![("name", "hijacked")]),
        (format!("/settings/tokens/{a_tok}/revoke"), vec![]),
        (format!("/settings/members/{a_member}/role"), vec![("role", "viewer")]),
        (format!("/settings/members/{a_member}/remove"), vec![]),
        (format!("/settings/invitations/{a_invite}/revoke"), vec![]),
    ] {
        let res = b.post_form(&path, &fields).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "POST {path}");
    }

    // A's data is unchanged.
    let (status, app_now) = a.api(Method::GET, &a_token, &format!("/apps/{a_app}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app_now["name"], "My first app");
    let (status, tok_now) = a.api(Method::GET, &a_token, &format!("/tokens/{a_tok}"), None).await;
    assert_eq!(status, StatusCode::OK, "A's token still works");
    assert!(tok_now["revoked_at"].is_null());
    let members_now = a.page("/settings/members").await;
    assert!(members_now.contains(&format!("id=\"member-{a_member}\"")));
    assert!(members_now.contains(&format!("id=\"invitation-{a_invite}\"")));
    assert!(
        members_now.contains("<option value=\"owner\" selected>"),
        "A is still owner"
    );
    let (_, a_audit_after) = a.api(Method::GET, &a_token, "/audit-log?limit=200", None).await;
    assert!(!a_audit_after.to_string().contains("hijacked"));
}
