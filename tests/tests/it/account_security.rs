//! Settings → Security: password change (current password required, other sessions ended),
//! the sessions list with "sign out everywhere else", TOTP two-factor login (RFC 6238) with
//! one-time recovery codes, and an owner requiring two-factor of every member — each audited.

use herald_tests::fixtures::join_as;
use herald_tests::http::{PASSWORD, Session, extract};
use herald_tests::{TestApp, unique};
use reqwest::StatusCode;
use totp_rs::TOTP;

const NEW_PASSWORD: &str = "a brand new passphrase";

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

async fn login_with(s: &Session, email: &str, password: &str) -> reqwest::Response {
    s.post_form("/login", &[("email", email), ("password", password)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let email = unique("pw@example.com");
    let me = app.session();
    me.signup(&email, "Passwords").await;
    let laptop = app.session();
    laptop.login(&email).await;
    let phone = app.session();
    phone.login(&email).await;
    let page = me.page("/settings/security").await;
    assert_eq!(
        page.matches("data-label=\"Signed in\"").count(),
        3,
        "three sessions listed"
    );
    assert!(page.contains("this session"));

    let res = me
        .post_form(
            "/settings/security/password",
            &[("current_password", "not my password"), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("not your current password"));
    let res = me
        .post_form(
            "/settings/security/password",
            &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert!(me.follow(res).await.contains("Password changed"));
    for other in [&laptop, &phone] {
        let res = other.get("/overview").await;
        assert_eq!(location(&res), "/login", "other sessions are signed out");
    }
    assert_eq!(me.get("/overview").await.status(), StatusCode::OK, "this one stays");
    assert_eq!(
        login_with(&app.session(), &email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_with(&laptop, &email, NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let res = me.post_form("/settings/security/sessions/revoke", &[]).await;
    assert!(me.follow(res).await.contains("Every other session was signed out"));
    assert_eq!(location(&laptop.get("/overview").await), "/login");
    let audit = me.page("/settings/audit-log").await;
    assert!(audit.contains("user.password_changed") && audit.contains("user.signed_out_everywhere"));
    assert!(!audit.contains(NEW_PASSWORD));
}

/// Sets up two-factor for the signed-in `s`; returns the authenticator and the recovery codes.
async fn turn_on_two_factor(s: &Session) -> (TOTP, Vec<String>) {
    let res = s.post_form("/settings/security/two-factor", &[]).await;
    let page = s.follow(res).await;
    let url = extract(&page, "id=\"otpauth-url\" class=\"wrap-anywhere\" href=\"", "\"").unwrap();
    let totp = TOTP::from_url(&url).unwrap();
    let res = s
        .post_form("/settings/security/two-factor/confirm", &[("code", "000000")])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a wrong code turns nothing on"
    );
    let code = totp.generate_current().unwrap();
    let res = s
        .post_form("/settings/security/two-factor/confirm", &[("code", &code)])
        .await;
    let page = s.follow(res).await;
    let codes: Vec<String> = extract(&page, "<pre id=\"recovery-codes\">", "</pre>")
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(
        !s.page("/settings/security").await.contains(&codes[0]),
        "recovery codes are shown once"
    );
    (totp, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_login_asks_for_a_code_once_per_step_or_a_recovery_code_once() {
    let app = TestApp::spawn().await;
    let email = unique("totp@example.com");
    let me = app.session();
    me.signup(&email, "Two Factor").await;
    let (totp, codes) = turn_on_two_factor(&me).await;

    let s = app.session();
    let res = login_with(&s, &email, PASSWORD).await;
    assert_eq!(location(&res), "/login/two-factor");
    assert_eq!(
        location(&s.get("/overview").await),
        "/login/two-factor",
        "nothing opens before the code"
    );
    let res = s.post_form("/login/two-factor", &[("code", "123456")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let used = totp.generate(now);
    let res = s.post_form("/login/two-factor", &[("code", &used)]).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the code used to turn it on works once"
    );
    let next = totp.generate(now + 30);
    let res = s.post_form("/login/two-factor", &[("code", &next)]).await;
    assert_eq!(location(&res), "/");
    assert_eq!(s.get("/overview").await.status(), StatusCode::OK);

    let r = app.session();
    login_with(&r, &email, PASSWORD).await;
    let res = r
        .post_form("/login/two-factor", &[("code", &codes[3].to_uppercase())])
        .await;
    assert_eq!(location(&res), "/", "a recovery code signs in");
    let again = app.session();
    login_with(&again, &email, PASSWORD).await;
    let res = again.post_form("/login/two-factor", &[("code", &codes[3])]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "but only once");

    let audit = me.page("/settings/audit-log").await;
    assert!(audit.contains("user.two_factor_enabled") && audit.contains("user.recovery_code_used"));
    let res = me
        .post_form("/settings/security/two-factor/disable", &[("password", PASSWORD)])
        .await;
    assert!(me.follow(res).await.contains("Two-factor login is off"));
    assert_eq!(location(&login_with(&app.session(), &email, PASSWORD).await), "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_can_require_two_factor_and_members_without_it_are_led_to_set_it_up() {
    let app = TestApp::spawn().await;
    let owner = app.session();
    owner.signup(&unique("boss@example.com"), "Strict").await;
    let member = join_as(&app, &owner, "admin").await;
    let res = member
        .post_form("/settings/security/require-two-factor", &[("require_two_factor", "on")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "only owners decide");
    let res = owner
        .post_form("/settings/security/require-two-factor", &[("require_two_factor", "on")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    for s in [&owner, &member] {
        let res = s.get("/settings/webhooks").await;
        assert_eq!(location(&res), "/settings/security?setup=required");
        assert!(
            s.page("/settings/security?setup=required")
                .await
                .contains("id=\"setup-required\"")
        );
    }
    turn_on_two_factor(&member).await;
    assert_eq!(member.get("/settings/webhooks").await.status(), StatusCode::OK);
    assert!(
        member
            .page("/settings/audit-log")
            .await
            .contains("account.two_factor_required")
    );
}
