//! The SSRF guard end to end: internal targets are refused before anything reaches them, by IP
//! literal and by name, unless private targets are allowed.

use std::time::Duration;

use entity::spec::{CustomHeaders, Method};
use herald_jobs::send::{ErrorKind, OutboundRequest, Sender, SenderConfig, Signing, Verdict};

use crate::receiver::{Receiver, Reply};
use crate::{BODY, send_plain};

fn strict_sender() -> Sender {
    Sender::new(SenderConfig::default()).expect("sender")
}

#[tokio::test]
async fn internal_targets_are_blocked_and_never_reached() {
    let rx = Receiver::start(Reply::status(200)).await;
    let port = rx.port();
    let none = CustomHeaders::default();
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://0.0.0.0:{port}/"),
        format!("http://2130706433:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00:ec2::254]/".to_owned(),
        "http://10.0.0.1/".to_owned(),
    ] {
        let req = OutboundRequest {
            url: &url,
            method: Method::Post,
            headers: &none,
            body: BODY,
            timeout: Duration::from_secs(2),
            signing: Signing::None,
        };
        let attempt = strict_sender().send(&req).await;
        assert_eq!(attempt.verdict, Verdict::Blocked, "{url}: {attempt:?}");
        assert_eq!(attempt.status, None, "{url}");
        let error = attempt.error.expect("error");
        assert_eq!(error.kind, ErrorKind::Blocked, "{url}: {}", error.message);
        assert!(
            error.message.contains("internal or reserved address"),
            "{}",
            error.message
        );
    }
    assert_eq!(rx.connections(), 0, "nothing may reach the receiver");
    let url = format!("http://localhost:{port}/");
    let req = OutboundRequest {
        url: &url,
        method: Method::Post,
        headers: &none,
        body: BODY,
        timeout: Duration::from_secs(2),
        signing: Signing::None,
    };
    let message = strict_sender().send(&req).await.error.expect("error").message;
    assert!(
        message.starts_with("localhost resolves to "),
        "refused at connect time: {message}"
    );
    assert!(rx.received().is_empty());
}

#[tokio::test]
async fn urls_that_are_not_http_are_blocked() {
    let none = CustomHeaders::default();
    for url in ["ftp://example.com/", "file:///etc/passwd", "no url at all"] {
        let req = OutboundRequest {
            url,
            method: Method::Post,
            headers: &none,
            body: BODY,
            timeout: Duration::from_secs(2),
            signing: Signing::None,
        };
        let attempt = strict_sender().send(&req).await;
        assert_eq!(attempt.verdict, Verdict::Blocked, "{url}");
    }
}

#[tokio::test]
async fn allowing_private_targets_lifts_the_guard() {
    let rx = Receiver::start(Reply::status(200)).await;
    let port = rx.port();
    for url in [format!("http://127.0.0.1:{port}/"), format!("http://localhost:{port}/")] {
        let attempt = send_plain(&url).await;
        assert_eq!(attempt.verdict, Verdict::Delivered, "{url}: {attempt:?}");
    }
    assert_eq!(rx.received().len(), 2);
}
