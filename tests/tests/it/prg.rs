//! Post/Redirect/Get: every successful dashboard POST answers `303 See Other`; what must be shown
//! once (a token, an invite link, a revealed secret) is shown once on the page it leads to, and
//! a test result is shown by URL without sending again. Also: a refused webhook form keeps the
//! user's rows and does not grow.

use std::time::Duration;

use herald_tests::fixtures::create_by_form;
use herald_tests::http::extract;
use herald_tests::receiver::Receiver;
use herald_tests::{TestApp, unique};
use reqwest::StatusCode;

fn location(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a successful POST answers 303");
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// The `value` of every input named `name`, in page order.
fn values(html: &str, name: &str) -> Vec<String> {
    let start = format!("name=\"{name}\" value=\"");
    html.match_indices(&start)
        .map(|(i, _)| extract(&html[i..], &start, "\"").unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_webhook_form_shows_the_rows_the_user_had_however_often_it_is_sent() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("rows@example.com"), "Rows").await;
    let mut headers = vec![
        (String::new(), String::new()),
        ("Bad Header".to_owned(), "v".to_owned()),
    ];
    let mut patterns = vec![String::new(), "flows.*".to_owned()];
    let mut filters = vec![(String::new(), String::new())];
    for round in 1..=3 {
        let mut fields: Vec<(&str, &str)> = vec![("name", "Rows"), ("url", "not a url"), ("event_types", "track")];
        for (n, v) in &headers {
            fields.extend([("header_name", n.as_str()), ("header_value", v.as_str())]);
        }
        for p in &patterns {
            fields.extend([("pattern", p.as_str()), ("pattern_live", "on")]);
        }
        for (p, v) in &filters {
            fields.extend([
                ("filter_path", p.as_str()),
                ("filter_op", "eq"),
                ("filter_value", v.as_str()),
            ]);
        }
        let res = s.post_form("/settings/webhooks", &fields).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        assert_eq!(
            html.matches("class=\"row header-row\"").count(),
            2,
            "round {round}: 1 + 1 spare"
        );
        assert_eq!(html.matches("class=\"row pattern-row\"").count(), 2, "round {round}");
        assert_eq!(html.matches("class=\"row filter-row\"").count(), 1, "round {round}");
        assert_eq!(values(&html, "header_name"), ["Bad Header", ""], "round {round}");
        assert_eq!(values(&html, "pattern"), ["flows.*", ""], "round {round}");
        assert!(
            html.contains(
                "value=\"Bad Header\" placeholder=\"X-Api-Key\" aria-label=\"Header name 1\" aria-invalid=\"true\""
            ),
            "the row error marks the row it belongs to"
        );
        assert!(html.contains("value=\"not a url\""), "input is kept");
        // The browser sends the page back as rendered, spare rows included.
        headers = values(&html, "header_name")
            .into_iter()
            .zip(values(&html, "header_value"))
            .collect();
        patterns = values(&html, "pattern");
        filters = values(&html, "filter_path")
            .into_iter()
            .zip(values(&html, "filter_value"))
            .collect();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_shown_once_on_the_page_a_post_redirects_to_and_never_in_its_url() {
    let app = TestApp::spawn().await;
    let s = app.session();
    let email = unique("prg@example.com");
    s.signup(&email, "PRG").await;

    let res = s
        .post_form("/settings/tokens", &[("name", "reader"), ("scopes", "read")])
        .await;
    assert_eq!(location(&res), "/settings/tokens");
    let page = s.page("/settings/tokens").await;
    let secret = extract(&page, "id=\"new-token\" class=\"secret\">", "<").expect("shown once");
    assert!(secret.starts_with("hrld_"));
    assert!(
        !s.page("/settings/tokens").await.contains(&secret),
        "a reload does not show it again"
    );

    let res = s
        .post_form(
            "/settings/members/invite",
            &[("email", "friend@example.com"), ("role", "viewer")],
        )
        .await;
    assert_eq!(location(&res), "/settings/members");
    let page = s.page("/settings/members").await;
    let link = extract(&page, "id=\"invite-link\" class=\"secret\">", "<").expect("shown once");
    assert!(!s.page("/settings/members").await.contains(&link));

    let hook = create_by_form(
        &s,
        &[
            ("name", "Signed"),
            ("url", "https://example.com/h"),
            ("event_types", "track"),
            ("pattern", "*"),
        ],
    )
    .await;
    let res = s
        .post_form(&format!("/settings/webhooks/{hook}/secret/reveal"), &[])
        .await;
    let to = location(&res);
    assert_eq!(
        to,
        format!("/settings/webhooks/{hook}?tab=settings"),
        "nothing secret in the URL"
    );
    let page = s.page(&to).await;
    let revealed = extract(&page, "id=\"webhook-secret\" class=\"secret\">", "<").expect("shown once");
    assert!(revealed.starts_with("whsec_"), "{revealed}");
    assert!(!s.page(&to).await.contains(&revealed), "a reload hides it again");

    // The one-time cookie belongs to the login that made it.
    let res = s
        .post_form(&format!("/settings/webhooks/{hook}/secret/reveal"), &[])
        .await;
    let first_cookie = |res: &reqwest::Response| {
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    let flash = first_cookie(&res);
    let other = app.session();
    let login = other
        .post_form(
            "/login",
            &[("email", &email), ("password", herald_tests::http::PASSWORD)],
        )
        .await;
    let other_login = first_cookie(&login);
    assert!(other_login.starts_with("herald_session=") && flash.starts_with("herald_flash="));
    let stolen = other
        .client
        .get(format!("{}{to}", app.base))
        .header("cookie", format!("{other_login}; {flash}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(stolen.contains("id=\"reveal-secret\""), "the other login sees the page");
    assert!(
        !stolen.contains(&revealed),
        "but not the secret: the flash is not its own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_redirects_to_its_result_and_reloading_it_sends_nothing() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("test@example.com"), "Tests").await;
    let mut rx = Receiver::start().await;
    let hook = create_by_form(
        &s,
        &[
            ("name", "Rx"),
            ("url", &rx.url),
            ("event_types", "track"),
            ("pattern", "*"),
        ],
    )
    .await;

    let res = s.post_form(&format!("/settings/webhooks/{hook}/test"), &[]).await;
    let to = location(&res);
    let delivery = to
        .split_once("?test=")
        .map(|(_, id)| id.to_owned())
        .expect("the delivery id in the URL");
    for _ in 0..3 {
        let page = s.page(&to).await;
        assert_eq!(extract(&page, "id=\"test-status\">", "<").as_deref(), Some("HTTP 200"));
        assert!(page.contains(&format!("href=\"/settings/deliveries/{delivery}\"")));
    }
    rx.next(Duration::from_secs(10)).await;
    assert!(
        rx.drain(Duration::from_millis(500)).await.is_empty(),
        "sent exactly once"
    );

    let other = app.session();
    other.signup(&unique("other@example.com"), "Other").await;
    let theirs = create_by_form(
        &other,
        &[
            ("name", "Theirs"),
            ("url", "https://example.com/h"),
            ("event_types", "track"),
            ("pattern", "*"),
        ],
    )
    .await;
    let res = other.get(&format!("/settings/webhooks/{theirs}?test={delivery}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "only this webhook's own tests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_successful_dashboard_post_answers_303() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("all@example.com"), "All").await;
    let hook = create_by_form(
        &s,
        &[
            ("name", "H"),
            ("url", "https://example.com/h"),
            ("event_types", "track"),
            ("pattern", "*"),
        ],
    )
    .await;
    let w = format!("/settings/webhooks/{hook}");
    let res = s
        .post_form(
            "/settings/members/invite",
            &[("email", "x@example.com"), ("role", "admin")],
        )
        .await;
    location(&res);
    let members = s.page("/settings/members").await;
    let invitation = extract(&members, "id=\"invitation-", "\"").unwrap();
    let res = s
        .post_form("/settings/tokens", &[("name", "t"), ("scopes", "read")])
        .await;
    location(&res);
    let token = extract(&s.page("/settings/tokens").await, "id=\"token-", "\"").unwrap();
    let res = s.post_form("/settings/event-types", &[("name", "flows.done")]).await;
    location(&res);
    let event_type = extract(&s.page("/settings/event-types").await, "id=\"event-type-", "\"").unwrap();
    let app_id = extract(&s.page("/settings/apps").await, "id=\"app-", "\"").unwrap();

    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            w.clone(),
            vec![
                ("name", "H2"),
                ("url", "https://example.com/h"),
                ("event_types", "track"),
                ("pattern", "*"),
            ],
        ),
        (format!("{w}/disable"), vec![]),
        (format!("{w}/enable"), vec![]),
        (format!("{w}/secret/rotate"), vec![]),
        (format!("{w}/secret/reveal"), vec![]),
        (format!("{w}/test"), vec![]),
        (format!("/settings/tokens/{token}/revoke"), vec![]),
        ("/settings/apps".into(), vec![("name", "Second")]),
        (format!("/settings/apps/{app_id}/rename"), vec![("name", "First")]),
        (
            "/settings/account".into(),
            vec![("name", "All renamed"), ("visit_timeout_minutes", "30")],
        ),
        (format!("/settings/event-types/{event_type}/archive"), vec![]),
        (format!("/settings/event-types/{event_type}/restore"), vec![]),
        (format!("/settings/invitations/{invitation}/revoke"), vec![]),
        (format!("{w}/delete"), vec![]),
    ];
    for (path, fields) in &posts {
        let res = s.post_form(path, fields).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "POST {path}: {}",
            res.text().await.unwrap_or_default()
        );
    }
}
