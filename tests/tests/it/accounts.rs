use herald_tests::{TestApp, http::PASSWORD, unique};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let s = app.session();
    assert_eq!(s.get("/healthz").await.status(), StatusCode::OK);
    let res = s.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_logs_in_and_creates_a_first_app() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("ann@example.com"), "Acme").await;
    let apps = s.page("/settings/apps").await;
    assert!(apps.contains("My first app"), "{apps}");
    assert!(apps.contains("AP-"), "the app token is shown");
    assert!(apps.contains("wk_"), "the write key is shown");
    let audit = s.page("/settings/audit-log").await;
    assert!(
        audit.contains("account.created") && audit.contains("app.created"),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_needs_a_login_and_logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let s = app.session();
    let res = s.get("/settings/tokens").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");

    let email = unique("bob@example.com");
    s.signup(&email, "Bob Co").await;
    assert_eq!(s.get("/settings/tokens").await.status(), StatusCode::OK);
    let csrf = s.csrf_from("/settings/tokens").await;
    let res = s.post_raw("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.get("/settings/tokens").await.status(), StatusCode::SEE_OTHER);
    s.login(&email).await;
    assert_eq!(s.get("/settings/tokens").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookies_are_http_only_and_same_site_lax() {
    let app = TestApp::spawn().await;
    let s = app.session();
    let token = s.csrf_from("/signup").await;
    let res = s
        .post_raw(
            "/signup",
            &[
                ("csrf", &token),
                ("email", &unique("c@example.com")),
                ("password", PASSWORD),
                ("account_name", "C"),
            ],
        )
        .await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("herald_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http base URL: no Secure flag: {cookie}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_and_wrong_password_get_the_same_message() {
    let app = TestApp::spawn().await;
    let s = app.session();
    let email = unique("dan@example.com");
    s.signup(&email, "Dan").await;
    let other = app.session();
    let wrong = other
        .post_form("/login", &[("email", &email), ("password", "not the password")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    let unknown = other
        .post_form(
            "/login",
            &[("email", "nobody@example.com"), ("password", "whatever password")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("Invalid email or password."));
    assert!(unknown.contains("Invalid email or password."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_ten_failed_logins_are_throttled_and_audited() {
    let app = TestApp::spawn().await;
    let owner = app.session();
    let email = unique("eve@example.com");
    owner.signup(&email, "Eve").await;
    let attacker = app.session();
    for i in 0..10 {
        let res = attacker
            .post_form("/login", &[("email", &email), ("password", "guess guess guess")])
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = attacker
        .post_form("/login", &[("email", &email), ("password", PASSWORD)])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits out the window"
    );
    assert!(res.text().await.unwrap().contains("Too many failed logins"));
    let audit = owner.page("/settings/audit-log").await;
    assert!(audit.contains("user.login_throttled"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_in_two_accounts_switches_between_them() {
    let app = TestApp::spawn().await;
    let alice = app.session();
    let alice_email = unique("alice@example.com");
    alice.signup(&alice_email, "Alpha").await;
    let bob = app.session();
    bob.signup(&unique("bob@example.com"), "Bravo").await;
    let res = bob
        .post_form(
            "/settings/members/invite",
            &[("email", &alice_email), ("role", "admin")],
        )
        .await;
    let html = bob.follow(res).await;
    let link = herald_tests::http::extract(&html, "id=\"invite-link\" class=\"secret\">", "<").unwrap();
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let res = alice.post_form(&path, &[("password", PASSWORD)]).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "an existing login joins with its password"
    );

    let page = alice.page("/settings/account").await;
    assert!(page.contains("value=\"Bravo\""), "joining switches to the new account");
    let alpha_id = herald_tests::http::extract(&page, "<option value=\"", "\"").unwrap();
    assert!(
        page.contains(">Alpha</option>") && page.contains(">Bravo</option>"),
        "{page}"
    );
    let res = alice.post_form("/account/switch", &[("account_id", &alpha_id)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(alice.page("/settings/account").await.contains("value=\"Alpha\""));

    let res = alice.post_form("/account/switch", &[("account_id", "999999")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "not a member there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_the_account_is_audited_with_a_diff() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("f@example.com"), "Old name").await;
    let res = s.post_form("/settings/account", &[("name", "New name")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(s.page("/settings/account").await.contains("value=\"New name\""));
    let token = s.create_token("reader", &["read"]).await;
    let (status, body) = s
        .api(reqwest::Method::GET, &token, "/audit-log?target_type=account", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let updated = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "account.updated")
        .expect("a row");
    assert_eq!(updated["diff"]["name"]["before"], "Old name");
    assert_eq!(updated["diff"]["name"]["after"], "New name");
    assert_eq!(updated["actor"]["type"], "user");
    assert_eq!(updated["ip"], "127.0.0.1");
}
