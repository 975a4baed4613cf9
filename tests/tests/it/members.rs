use herald_tests::fixtures::join_as;
use herald_tests::http::{PASSWORD, extract};
use herald_tests::{TestApp, unique};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_link_works_once_and_is_audited() {
    let app = TestApp::spawn().await;
    let owner = app.session();
    owner.signup(&unique("owner@example.com"), "Team").await;
    let email = unique("new@example.com");
    let res = owner
        .post_form("/settings/members/invite", &[("email", &email), ("role", "admin")])
        .await;
    let link = extract(&owner.follow(res).await, "id=\"invite-link\" class=\"secret\">", "<").unwrap();
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let invitee = app.session();
    let res = invitee.post_form(&path, &[("password", "short")]).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the password rule applies"
    );
    let res = invitee.post_form(&path, &[("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(invitee.page("/settings/account").await.contains("value=\"Team\""));
    assert_eq!(
        app.session().get(&path).await.status(),
        StatusCode::NOT_FOUND,
        "used links are dead"
    );
    let members = owner.page("/settings/members").await;
    assert!(members.contains(&email));
    let audit = owner.page("/settings/audit-log").await;
    assert!(audit.contains("member.invited") && audit.contains("member.joined"));
    let again = owner
        .post_form("/settings/members/invite", &[("email", &email), ("role", "viewer")])
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("already a member"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_owner_cannot_be_removed_or_demoted() {
    let app = TestApp::spawn().await;
    let owner = app.session();
    owner.signup(&unique("owner@example.com"), "Solo").await;
    let me = extract(&owner.page("/settings/members").await, "id=\"member-", "\"").unwrap();
    let res = owner
        .post_form(&format!("/settings/members/{me}/role"), &[("role", "admin")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("last owner"));
    let res = owner.post_form(&format!("/settings/members/{me}/remove"), &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        owner
            .page("/settings/members")
            .await
            .contains("<option value=\"owner\" selected>")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_members_but_not_owners() {
    let app = TestApp::spawn().await;
    let owner = app.session();
    owner.signup(&unique("owner@example.com"), "Org").await;
    let admin = join_as(&app, &owner, "admin").await;
    let viewer = join_as(&app, &owner, "viewer").await;
    drop(viewer);
    let members = owner.page("/settings/members").await;
    let ids: Vec<String> = members
        .split("id=\"member-")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    let (owner_id, viewer_id) = (&ids[0], &ids[2]);

    let res = admin
        .post_form(
            "/settings/members/invite",
            &[("email", "boss@example.com"), ("role", "owner")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "admins can't create owners");
    let res = admin
        .post_form(&format!("/settings/members/{owner_id}/remove"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "admins can't remove owners");
    let res = admin
        .post_form(&format!("/settings/members/{viewer_id}/role"), &[("role", "admin")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = admin
        .post_form(&format!("/settings/members/{viewer_id}/remove"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let audit = owner.page("/settings/audit-log").await;
    assert!(audit.contains("member.role_changed") && audit.contains("member.removed"));
    assert_eq!(owner.page("/settings/members").await.matches("id=\"member-").count(), 2);
}
