//! The dashboard in headless Chromium.

use herald_tests::browser::Browser;
use herald_tests::http::PASSWORD;
use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_log_in_and_manage_an_ingest_token_in_the_browser() {
    let Some(b) = Browser::launch().await else { return };
    let app = TestApp::spawn().await;
    let email = unique("browser@example.com");

    b.goto(&format!("{}/signup", app.base)).await;
    b.fill("email", &email).await;
    b.fill("password", PASSWORD).await;
    b.fill("account_name", "Browser Co").await;
    b.click("button[type=submit]").await;
    b.wait_for_path("/settings/apps").await;
    b.screenshot("apps").await;

    b.click("form[action='/logout'] button").await;
    b.wait_for_path("/login").await;
    b.fill("email", &email).await;
    b.fill("password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for_path("/settings/apps").await;

    b.goto(&format!("{}/settings/tokens", app.base)).await;
    b.fill("name", "Backend ingest").await;
    b.click("input[name=scopes][value=ingest]").await;
    b.click("form[action='/settings/tokens'] button[type=submit]").await;
    let secret = b.wait_for_text("#new-token").await;
    assert!(secret.starts_with("hrld_"), "{secret}");
    b.screenshot("token-created").await;

    b.goto(&format!("{}/settings/tokens", app.base)).await;
    let html = b.html().await;
    assert!(b.text("#new-token").await.is_none(), "not shown again after reload");
    assert!(!html.contains(&secret), "the secret is gone from the page");
    let prefix: String = secret.chars().take(13).collect();
    assert!(html.contains(&format!("{prefix}…")), "listed by prefix");

    let api = app.session();
    let (status, _) = api.api(Method::GET, &secret, "/apps", None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a live ingest token is known but lacks the read scope"
    );
    b.click("form[action$='/revoke'] button").await;
    assert_eq!(b.wait_for_text("span.badge.grey").await, "revoked");
    let (status, body) = api.api(Method::GET, &secret, "/apps", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    b.screenshot("tokens").await;
    b.close().await;
}
