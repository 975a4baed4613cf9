//! Every dashboard failure is a styled page with a way on (the layout when signed in, a link
//! home otherwise), while the API and the ingest endpoints keep answering JSON.

use herald_tests::{TestApp, unique};
use reqwest::{Method, StatusCode};

/// The layout's sidebar: the page has the dashboard's navigation.
const SIDEBAR: &str = "<nav class=\"sidebar\"";

async fn html_of(res: reqwest::Response) -> (StatusCode, String, String) {
    let status = res.status();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, res.text().await.expect("body"))
}

#[tokio::test]
async fn dashboard_errors_are_styled_pages_with_navigation_when_signed_in() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("errors@example.com"), "Errors Co").await;

    for (path, status) in [
        ("/settings/deliveries/abc", StatusCode::NOT_FOUND),
        ("/settings/webhooks/not-a-webhook", StatusCode::NOT_FOUND),
        ("/settings/deliveries/999999", StatusCode::NOT_FOUND),
        ("/settings/no-such-page", StatusCode::NOT_FOUND),
        ("/settings/tokens?cursor=a&cursor=b", StatusCode::BAD_REQUEST),
    ] {
        let (got, kind, html) = html_of(s.get(path).await).await;
        assert_eq!(got, status, "GET {path}: {html}");
        assert!(kind.starts_with("text/html"), "GET {path} is a page: {kind}");
        assert!(
            html.contains(&format!("<h1>{}", status.as_u16())),
            "GET {path} says its status: {html}"
        );
        assert!(html.contains(SIDEBAR), "GET {path} keeps the navigation: {html}");
        assert!(html.contains("/static/herald.css"), "GET {path} is styled");
        assert!(
            !html.contains("can not parse"),
            "GET {path} hides the parser's wording: {html}"
        );
    }

    let res = s.post_raw("/settings/tokens/abc/revoke", &[("csrf", "forged")]).await;
    let (got, _, html) = html_of(res).await;
    assert!(got.is_client_error(), "a bad form post is refused: {got}");
    assert!(html.contains(SIDEBAR), "and the refusal keeps the navigation: {html}");
}

#[tokio::test]
async fn signed_out_error_pages_link_home() {
    let app = TestApp::spawn().await;
    let s = app.session();
    let (status, kind, html) = html_of(s.get("/no-such-page").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(html.contains("href=\"/\""), "a link home: {html}");
    assert!(!html.contains(SIDEBAR), "no settings navigation without a session");
}

#[tokio::test]
async fn settings_leads_to_the_webhooks() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("settings@example.com"), "Settings Co").await;
    for path in ["/settings", "/settings/"] {
        let res = s.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(res.headers()["location"], "/settings/webhooks", "GET {path}");
    }
}

#[tokio::test]
async fn the_api_and_ingest_still_answer_json() {
    let app = TestApp::spawn().await;
    let s = app.session();
    s.signup(&unique("json@example.com"), "Json Co").await;
    let token = s.create_token("reader", &["read"]).await;

    for path in ["/deliveries/abc", "/webhooks/abc", "/no-such-endpoint"] {
        let (status, body) = s.api(Method::GET, &token, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET /api/v1{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "GET /api/v1{path}: {body}");
    }
    let (status, body) = s.api(Method::GET, &token, "/webhooks?cursor=a&cursor=b", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_query", "{body}");

    let res = s
        .client
        .post(format!("{}/v1/nothing-here", app.base))
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = res.json().await.expect("a JSON body");
    assert_eq!(body["error"]["code"], "not_found", "{body}");
}
