use herald_tests::fixtures::join_as;
use herald_tests::http::extract;
use herald_tests::{TestApp, unique};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_every_settings_page_and_gets_403_on_every_change() {
    let app = TestApp::spawn().await;
    let owner = app.session();
    owner.signup(&unique("owner@example.com"), "Shop").await;
    owner.create_token("owner token", &["read"]).await;
    owner
        .post_form(
            "/settings/members/invite",
            &[("email", "pending@example.com"), ("role", "admin")],
        )
        .await;
    let viewer = join_as(&app, &owner, "viewer").await;

    for path in [
        "/settings/tokens",
        "/settings/apps",
        "/settings/account",
        "/settings/members",
        "/settings/audit-log",
    ] {
        let html = viewer.page(path).await;
        assert!(html.contains("view-only access"), "{path} says so");
    }
    let tokens = owner.page("/settings/tokens").await;
    let token_id = extract(&tokens, "id=\"token-", "\"").unwrap();
    let apps = owner.page("/settings/apps").await;
    let app_id = extract(&apps, "id=\"app-", "\"").unwrap();
    let members = owner.page("/settings/members").await;
    let owner_member = extract(&members, "id=\"member-", "\"").unwrap();
    let invitation = extract(&members, "id=\"invitation-", "\"").unwrap();
    let audit_before = owner.page("/settings/audit-log").await;

    let changes: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/settings/tokens".into(), vec![("name", "mine"), ("scopes", "read")]),
        (format!("/settings/tokens/{token_id}/revoke"), vec![]),
        ("/settings/apps".into(), vec![("name", "new app")]),
        (format!("/settings/apps/{app_id}/rename"), vec![("name", "renamed")]),
        ("/settings/account".into(), vec![("name", "Taken over")]),
        (
            "/settings/members/invite".into(),
            vec![("email", "friend@example.com"), ("role", "owner")],
        ),
        (
            format!("/settings/members/{owner_member}/role"),
            vec![("role", "viewer")],
        ),
        (format!("/settings/members/{owner_member}/remove"), vec![]),
        (format!("/settings/invitations/{invitation}/revoke"), vec![]),
    ];
    for (path, fields) in &changes {
        let res = viewer.post_form(path, fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    assert_eq!(
        owner.page("/settings/tokens").await.matches("badge green").count(),
        1,
        "owner's token still active"
    );
    assert_eq!(owner.page("/settings/apps").await.matches("id=\"app-").count(), 1);
    assert!(owner.page("/settings/account").await.contains("value=\"Shop\""));
    let members_after = owner.page("/settings/members").await;
    assert!(members_after.contains(&format!("id=\"invitation-{invitation}\"")));
    let audit_after = owner.page("/settings/audit-log").await;
    assert_eq!(
        audit_after.matches("id=\"audit-").count(),
        audit_before.matches("id=\"audit-").count(),
        "nothing was recorded"
    );
}
