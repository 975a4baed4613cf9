//! The dashboard in headless Chromium.

use herald_tests::browser::{Browser, WIDTHS};
use std::time::Duration;

use herald_tests::http::PASSWORD;
use herald_tests::receiver::Receiver;
use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};

/// Every dashboard page the tour below visits: (screenshot name, path). `{webhook}` and
/// `{delivery}` are filled in with objects the tour creates. Add new pages here.
const PAGES: &[(&str, &str)] = &[
    ("overview", "/overview"),
    ("overview-7d", "/overview?range=7d"),
    ("deliveries", "/deliveries"),
    ("webhooks", "/settings/webhooks"),
    ("webhook-new", "/settings/webhooks/new"),
    ("webhook", "/settings/webhooks/{webhook}"),
    ("webhook-settings", "/settings/webhooks/{webhook}?tab=settings"),
    (
        "webhook-replay",
        "/settings/webhooks/{webhook}/replay?since=2000-01-01T00:00",
    ),
    ("webhook-history", "/settings/webhooks/{webhook}?tab=history"),
    ("webhook-delete", "/settings/webhooks/{webhook}/delete"),
    ("delivery", "/settings/deliveries/{delivery}"),
    ("tokens", "/settings/tokens"),
    ("apps", "/settings/apps"),
    ("event-types", "/settings/event-types"),
    ("members", "/settings/members"),
    ("audit-log", "/settings/audit-log"),
    ("account", "/settings/account"),
    ("security", "/settings/security"),
    ("error", "/settings/deliveries/abc"),
    ("login", "/login"),
    ("signup", "/signup"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_at_laptop_and_phone_width_in_the_browser() {
    let Some(b) = Browser::launch().await else { return };
    let rx = Receiver::start().await;
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    let (_, phone_height) = WIDTHS[1];
    let phone = WIDTHS[1].0;
    b.set_window_size(phone, phone_height).await;

    b.goto(&format!("{base}/signup")).await;
    b.fill(
        "email",
        &unique("a-rather-long-address.for-the-tour@example-company.com"),
    )
    .await;
    b.fill("password", PASSWORD).await;
    b.fill("account_name", "Tour Co").await;
    b.click("button[type=submit]").await;
    b.wait_for_path("/overview").await;
    b.look("overview-empty", phone).await;
    b.goto(&format!("{base}/settings/webhooks")).await;
    b.look("webhooks-empty", phone).await;

    b.goto(&format!("{base}/settings/tokens")).await;
    b.fill("name", "Backend ingest").await;
    b.click("input[name=scopes][value=ingest]").await;
    b.click("input[name=scopes][value=read]").await;
    b.click("form[action='/settings/tokens'] button[type=submit]").await;
    b.wait_for_text("#new-token").await;
    b.click("button.copy[data-copy-target='#new-token']").await;
    b.wait_for_text_to_be("button.copy[data-copy-target='#new-token']", "Copied")
        .await;
    b.look("token-created", phone).await;

    // A second app after the token: an ingest token made now would have to name its app.
    b.goto(&format!("{base}/settings/apps")).await;
    b.fill("name", "Marketing site").await;
    b.click("form[action='/settings/apps'] button[type=submit]").await;
    b.wait_for_text("input[value='Marketing site']").await;

    b.goto(&format!("{base}/settings/event-types")).await;
    b.fill("name", "Order Completed").await;
    b.click("form[action='/settings/event-types'] button[type=submit]")
        .await;
    b.wait_for_text("#event-type-1, tr[id^=event-type-]").await;

    b.goto(&format!("{base}/settings/members")).await;
    b.fill("email", &unique("teammate@example.com")).await;
    b.click("form[action='/settings/members/invite'] button[type=submit]")
        .await;
    b.wait_for_text("#invite-link").await;
    b.look("invite-created", phone).await;

    b.goto(&format!("{base}/settings/webhooks/new")).await;
    b.fill("name", "Notify my CRM").await;
    b.fill(
        "url",
        &format!(
            "{}/hooks/herald/a-rather-long-path/that-must-wrap-on-a-phone?token=0123456789abcdef0123456789abcdef",
            rx.url
        ),
    )
    .await;
    b.fill_nth("input[name=pattern]", 0, "*").await;
    b.click("#save-webhook").await;
    b.wait_for_text(".alert.success").await;
    let webhook = b.path().await.trim_start_matches("/settings/webhooks/").to_owned();
    b.click("#send-test").await;
    b.wait_for_text("#test-status").await;
    b.look("webhook-tested", phone).await;
    let link = b
        .eval("return document.querySelector('#test-result a').getAttribute('href');")
        .await;
    let delivery = link
        .as_str()
        .and_then(|l| l.strip_prefix("/settings/deliveries/"))
        .expect("the test result links its delivery")
        .to_owned();

    // The console check below sees what the Content-Security-Policy blocks: an inline script.
    b.console().await;
    b.eval(
        "document.head.append(Object.assign(document.createElement('script'), {textContent: 'window.inline = 1'}));",
    )
    .await;
    assert!(
        b.console().await.iter().any(|m| m.contains("Content Security Policy")),
        "the policy blocks inline scripts, and the console shows it"
    );
    for (width, height) in WIDTHS {
        b.set_window_size(width, height).await;
        for (name, path) in PAGES {
            let path = path.replace("{webhook}", &webhook).replace("{delivery}", &delivery);
            b.goto(&format!("{base}{path}")).await;
            b.look(name, width).await;
            let csp: Vec<String> = b
                .console()
                .await
                .into_iter()
                .filter(|m| m.contains("Content Security Policy"))
                .collect();
            assert!(
                csp.is_empty(),
                "{name}: the page breaks its Content-Security-Policy: {csp:?}"
            );
            assert_eq!(
                b.eval("return document.documentElement.classList.contains('js');")
                    .await,
                true,
                "{name}: the dashboard's scripts run under the policy"
            );
        }
    }
    b.close().await;
}

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
    b.wait_for_path("/overview").await;

    b.click("form[action='/logout'] button").await;
    b.wait_for_path("/login").await;
    b.fill("email", &email).await;
    b.fill("password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_for_path("/overview").await;

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
    b.accept_dialog().await;
    assert_eq!(b.wait_for_text("span.badge.grey").await, "revoked");
    let (status, body) = api.api(Method::GET, &secret, "/apps", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    b.screenshot("tokens").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_edit_toggle_rotate_and_delete_a_webhook_in_the_browser() {
    let Some(b) = Browser::launch().await else { return };
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    b.goto(&format!("{base}/signup")).await;
    b.fill("email", &unique("hooks@example.com")).await;
    b.fill("password", PASSWORD).await;
    b.fill("account_name", "Hooks Inc").await;
    b.click("button[type=submit]").await;
    b.wait_for_path("/overview").await;
    assert!(
        b.html().await.contains("No webhooks yet"),
        "the empty state explains webhooks"
    );
    b.screenshot("webhooks-empty").await;

    b.click(".empty a.button").await;
    b.wait_for_path("/settings/webhooks/new").await;
    b.fill("name", "Notify my CRM").await;
    b.fill("url", "https://crm.example.com/hooks").await;
    b.fill_nth("input[name=header_name]", 0, "X-Api-Key").await;
    b.fill_nth("input[name=header_value]", 0, "k-secret-1").await;
    b.click(".add-row[data-target=headers]").await;
    b.fill_nth("input[name=header_name]", 1, "X-Team").await;
    b.fill_nth("input[name=header_value]", 1, "growth").await;
    b.click("input[name=event_types][value=identify]").await;
    b.fill_nth("input[name=pattern]", 0, "flows.*").await;
    b.fill_nth("input[name=pattern]", 1, "email_opened").await;
    b.select_nth("select[name=pattern_live]", 1, "off").await;
    b.click(".add-row[data-target=patterns]").await;
    b.fill_nth("input[name=pattern]", 2, "Order Completed").await;
    let properties: Vec<String> = (1..=5)
        .map(|i| format!("user.trait{i}"))
        .chain((1..=5).map(|i| format!("company.trait{i}")))
        .collect();
    b.fill("properties", &properties.join("\n")).await;
    b.click("input[name=payload_format][value=envelope]").await;
    b.click("input[name=batch_enabled]").await;
    b.fill_nth("input[name=filter_path]", 0, "properties.plan").await;
    b.fill_nth("input[name=filter_value]", 0, "\"pro\"").await;
    b.screenshot("webhook-form").await;
    b.click("#save-webhook").await;
    let notice = b.wait_for_text(".alert.success").await;
    assert!(notice.contains("Webhook created"), "{notice}");
    let path = b.path().await;
    let id = path.trim_start_matches("/settings/webhooks/").to_owned();

    b.click("#reveal-secret").await;
    let secret = b.wait_for_text("#webhook-secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    b.screenshot("webhook-detail").await;

    b.fill("name", "Notify my CRM (EU)").await;
    b.fill("timeout_secs", "9").await;
    b.click("#save-webhook").await;
    assert_eq!(b.wait_for_text(".alert.success").await, "Changes saved.");

    b.goto(&format!("{base}/settings/webhooks")).await;
    b.click(&format!("#webhook-{id} button.toggle")).await;
    assert_eq!(
        b.wait_for_text(&format!("#webhook-{id} .status-word")).await,
        "disabled"
    );
    assert_eq!(
        b.wait_for_text(&format!("#webhook-{id} .health-state")).await,
        "disabled"
    );
    b.screenshot("webhooks-list").await;
    b.click(&format!("#webhook-{id} button.toggle")).await;
    assert_eq!(b.wait_for_text(&format!("#webhook-{id} .status-word")).await, "enabled");
    assert_eq!(
        b.wait_for_text(&format!("#webhook-{id} .health-state")).await,
        "no traffic"
    );

    b.goto(&format!("{base}/settings/webhooks/{id}")).await;
    b.click(".secret-box summary").await;
    b.click("#rotate-secret").await;
    assert!(b.wait_for_text(".alert.success").await.contains("Secret rotated"));

    b.goto(&format!("{base}/settings/webhooks/{id}?tab=history")).await;
    let history = b.html().await;
    for action in [
        "webhook.created",
        "webhook.updated",
        "webhook.disabled",
        "webhook.enabled",
        "webhook.secret_rotated",
    ] {
        assert!(history.contains(action), "{action} in the history tab");
    }

    b.goto(&format!("{base}/settings/webhooks/{id}/delete")).await;
    b.click("#confirm-delete").await;
    b.wait_for_path("/settings/webhooks").await;
    assert!(b.html().await.contains("No webhooks yet"));

    b.goto(&format!("{base}/settings/audit-log")).await;
    let audit = b.html().await;
    for action in [
        "webhook.created",
        "webhook.updated",
        "webhook.disabled",
        "webhook.enabled",
        "webhook.secret_rotated",
        "webhook.deleted",
    ] {
        assert!(audit.contains(action), "{action} in the audit log");
    }
    assert!(audit.contains("Notify my CRM (EU)"), "the rename shows as a diff");
    assert!(!audit.contains(&secret), "the secret never appears in the audit log");
    assert!(
        !audit.contains("k-secret-1"),
        "header values never appear in the audit log"
    );
    b.screenshot("audit-log").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_the_page_after_send_test_does_not_send_again() {
    let Some(b) = Browser::launch().await else { return };
    let app = TestApp::spawn().await;
    let mut rx = Receiver::start().await;
    b.goto(&format!("{}/signup", app.base)).await;
    b.fill("email", &unique("reload@example.com")).await;
    b.fill("password", PASSWORD).await;
    b.fill("account_name", "Reload Co").await;
    b.click("button[type=submit]").await;
    b.wait_for_path("/overview").await;
    b.goto(&format!("{}/settings/webhooks/new", app.base)).await;
    b.fill("name", "Receiver").await;
    b.fill("url", &rx.url).await;
    b.click("#save-webhook").await;
    b.wait_for_text(".alert.success").await;
    let page = b.path().await;

    b.click("#send-test").await;
    assert_eq!(b.wait_for_text("#test-status").await, "HTTP 200");
    rx.next(Duration::from_secs(10)).await;
    b.reload().await;
    assert_eq!(
        b.wait_for_text("#test-status").await,
        "HTTP 200",
        "the result is still shown"
    );
    assert_eq!(b.path().await, page, "the result lives at the webhook's own address");
    b.screenshot("send-test-result").await;
    assert!(
        rx.drain(Duration::from_secs(1)).await.is_empty(),
        "the receiver got exactly one request"
    );
    b.close().await;
}
