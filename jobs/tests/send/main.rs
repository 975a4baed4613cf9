//! The sender against a real HTTP receiver on 127.0.0.1: what arrives on the wire, how each kind
//! of answer (or silence) is judged, and the SSRF guard (in `ssrf.rs`). No external network.

mod misbehaviour;
mod receiver;
mod ssrf;

use std::time::{Duration, Instant, SystemTime};

use entity::spec::{CustomHeaders, Method, SignatureScheme};
use herald_jobs::send::{Attempt, ErrorKind, OutboundRequest, Sender, SenderConfig, Signing, Verdict};
use herald_jobs::signing::{self, verify_hmac_sha1_hex, verify_standard};
use receiver::{Receiver, Reply};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
pub const BODY: &[u8] = br#"{"type":"track","event":"Signed Up","properties":{"plan":"Startup"}}"#;

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("seconds fit i64")
}

pub fn local_sender() -> Sender {
    Sender::new(SenderConfig {
        allow_private_targets: true,
        ..SenderConfig::default()
    })
    .expect("sender")
}

fn headers(rows: &[(&str, &str)]) -> CustomHeaders {
    CustomHeaders::parse(rows.iter().copied()).expect("valid headers")
}

/// Sends `BODY` unsigned with no custom headers and a 5 s timeout.
async fn send_plain(url: &str) -> Attempt {
    let none = CustomHeaders::default();
    let req = OutboundRequest {
        url,
        method: Method::Post,
        headers: &none,
        body: BODY,
        timeout: Duration::from_secs(5),
        signing: Signing::None,
    };
    local_sender().send(&req).await
}

#[tokio::test]
async fn a_standard_webhooks_request_arrives_signed_in_order_and_is_recorded_redacted() {
    let rx = Receiver::start(Reply::status(200)).await;
    let custom = headers(&[("X-Api-Key", "key-123"), ("X-Tag", "blue")]);
    let ts = now();
    let url = rx.url("/hooks?x=1");
    let req = OutboundRequest {
        url: &url,
        method: Method::Post,
        headers: &custom,
        body: BODY,
        timeout: Duration::from_secs(5),
        signing: Signing::Standard {
            msg_id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            timestamp: ts,
            secret: SECRET,
            previous: None,
        },
    };
    let attempt = local_sender().send(&req).await;
    assert_eq!(attempt.verdict, Verdict::Delivered, "{attempt:?}");
    assert_eq!((attempt.status, &attempt.error), (Some(200), &None));
    assert_eq!(attempt.response_body, "answer 200");

    let got = rx.received();
    assert_eq!(got.len(), 1);
    let got = &got[0];
    assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/hooks?x=1"));
    assert_eq!(got.body, BODY);
    let ours = [
        "user-agent",
        "content-type",
        "x-api-key",
        "x-tag",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ];
    let order: Vec<&str> = got
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| ours.contains(k))
        .collect();
    assert_eq!(order, ours);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(got.header("user-agent"), Some(format!("Herald/{version}").as_str()));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("x-api-key"), Some("key-123"));
    assert_eq!(got.header("webhook-id"), Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"));
    assert_eq!(got.header("webhook-timestamp"), Some(ts.to_string().as_str()));
    let sig = got.header("webhook-signature").expect("signed");
    assert!(sig.starts_with("v1,") && !sig.contains(' '), "{sig}");
    assert!(verify_standard(
        SECRET,
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        ts,
        now(),
        &got.body,
        sig
    ));

    let redacted = "[redacted]".to_owned();
    let expected: Vec<(String, String)> = [
        ("User-Agent", format!("Herald/{version}")),
        ("Content-Type", "application/json".into()),
        ("X-Api-Key", redacted.clone()),
        ("X-Tag", redacted.clone()),
        ("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk".into()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", redacted),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(attempt.request_headers, expected);
}

#[tokio::test]
async fn during_a_rotation_both_signatures_are_sent_and_each_verifies() {
    let rx = Receiver::start(Reply::status(204)).await;
    let previous = signing::generate_secret(SignatureScheme::StandardWebhooks).expect("secret");
    let none = CustomHeaders::default();
    let ts = now();
    let url = rx.url("/");
    let req = OutboundRequest {
        url: &url,
        method: Method::Post,
        headers: &none,
        body: BODY,
        timeout: Duration::from_secs(5),
        signing: Signing::Standard {
            msg_id: "msg_1",
            timestamp: ts,
            secret: SECRET,
            previous: Some(&previous),
        },
    };
    let attempt = local_sender().send(&req).await;
    assert_eq!(attempt.verdict, Verdict::Delivered);
    let got = &rx.received()[0];
    let sig = got.header("webhook-signature").expect("signed");
    let parts: Vec<&str> = sig.split(' ').collect();
    assert_eq!(parts.len(), 2, "{sig}");
    for (secret, part) in [(SECRET, parts[0]), (previous.as_str(), parts[1])] {
        assert!(verify_standard(secret, "msg_1", ts, now(), &got.body, part));
    }
}

#[tokio::test]
async fn hmac_sha1_signs_the_raw_body_and_the_method_is_honoured() {
    for method in [Method::Put, Method::Patch, Method::Delete, Method::Post] {
        let rx = Receiver::start(Reply::status(200)).await;
        let custom = headers(&[("Authorization", "Bearer s3cr3t")]);
        let url = rx.url("/cio");
        let req = OutboundRequest {
            url: &url,
            method,
            headers: &custom,
            body: BODY,
            timeout: Duration::from_secs(5),
            signing: Signing::HmacSha1 {
                secret: "a-shared-secret-of-some-length",
            },
        };
        let attempt = local_sender().send(&req).await;
        assert_eq!(attempt.verdict, Verdict::Delivered, "{method}");
        let got = &rx.received()[0];
        assert_eq!(got.method, method.as_str());
        assert_eq!(got.body, BODY);
        assert_eq!(got.header("authorization"), Some("Bearer s3cr3t"));
        let sig = got.header("x-signature").expect("signed");
        assert!(verify_hmac_sha1_hex("a-shared-secret-of-some-length", &got.body, sig));
        assert!(got.header("webhook-signature").is_none());
        let shown: Vec<&str> = attempt.request_headers.iter().map(|(_, v)| v.as_str()).collect();
        assert!(
            !shown.iter().any(|v| v.contains("s3cr3t") || v.contains(sig)),
            "{shown:?}"
        );
        assert!(
            attempt
                .request_headers
                .contains(&("X-Signature".into(), "[redacted]".into()))
        );
    }
}

#[tokio::test]
async fn a_server_error_is_retried_with_its_status_and_body() {
    let rx = Receiver::start(Reply::Respond {
        status: 500,
        headers: vec![("X-Request-Id".into(), "req-9".into())],
        body: b"database on fire".to_vec(),
    })
    .await;
    let attempt = send_plain(&rx.url("/")).await;
    assert_eq!((attempt.verdict, attempt.status), (Verdict::Retry, Some(500)));
    let error = attempt.error.expect("error");
    assert_eq!(error.kind, ErrorKind::HttpStatus);
    assert!(error.message.contains("500"), "{}", error.message);
    assert_eq!(attempt.response_body, "database on fire");
    assert!(
        attempt
            .response_headers
            .contains(&("x-request-id".into(), "req-9".into()))
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_is_retried() {
    let rx = Receiver::start(Reply::with_headers(302, &[("Location", "/elsewhere")])).await;
    let attempt = send_plain(&rx.url("/start")).await;
    assert_eq!((attempt.verdict, attempt.status), (Verdict::Retry, Some(302)));
    assert_eq!(attempt.error.map(|e| e.kind), Some(ErrorKind::HttpStatus));
    let got = rx.received();
    assert_eq!(got.len(), 1, "the redirect must not be followed");
    assert_eq!(got[0].path, "/start");
}

#[tokio::test]
async fn a_receiver_that_hangs_times_out_within_the_timeout() {
    let rx = Receiver::start(Reply::Hang).await;
    let none = CustomHeaders::default();
    let url = rx.url("/");
    let req = OutboundRequest {
        url: &url,
        method: Method::Post,
        headers: &none,
        body: BODY,
        timeout: Duration::from_secs(1),
        signing: Signing::None,
    };
    let clock = Instant::now();
    let attempt = local_sender().send(&req).await;
    let took = clock.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(attempt.duration_ms >= 950, "{}", attempt.duration_ms);
    assert_eq!((attempt.verdict, attempt.status), (Verdict::Retry, None));
    assert_eq!(attempt.error.map(|e| e.kind), Some(ErrorKind::Timeout));
    assert_eq!(rx.received().len(), 1);
}

#[tokio::test]
async fn gone_means_gone() {
    let rx = Receiver::start(Reply::status(410)).await;
    let attempt = send_plain(&rx.url("/")).await;
    assert_eq!((attempt.verdict, attempt.status), (Verdict::Gone, Some(410)));
    assert_eq!(attempt.error.map(|e| e.kind), Some(ErrorKind::HttpStatus));
}

#[tokio::test]
async fn too_many_requests_with_retry_after_pushes_the_retry_out() {
    let rx = Receiver::start(Reply::with_headers(429, &[("Retry-After", "2")])).await;
    let attempt = send_plain(&rx.url("/")).await;
    assert_eq!(attempt.verdict, Verdict::RetryAfter(Duration::from_secs(2)));
    assert_eq!(attempt.status, Some(429));
    let rx = Receiver::start(Reply::with_headers(
        503,
        &[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")],
    ))
    .await;
    let attempt = send_plain(&rx.url("/")).await;
    assert_eq!(
        attempt.verdict,
        Verdict::RetryAfter(Duration::ZERO),
        "a past date means now"
    );
    let rx = Receiver::start(Reply::status(429)).await;
    assert_eq!(send_plain(&rx.url("/")).await.verdict, Verdict::Retry);
}

#[tokio::test]
async fn the_response_body_is_cut_at_4_kb() {
    let rx = Receiver::start(Reply::Respond {
        status: 200,
        headers: Vec::new(),
        body: vec![b'a'; 10_000],
    })
    .await;
    let attempt = send_plain(&rx.url("/")).await;
    assert_eq!(attempt.verdict, Verdict::Delivered);
    assert_eq!(attempt.response_body, "a".repeat(4096));
}

#[tokio::test]
async fn reading_stops_at_4_kb_without_waiting_for_the_rest() {
    let rx = Receiver::start(Reply::PartialBody {
        declared: 10_000_000,
        sent: 5000,
    })
    .await;
    let clock = Instant::now();
    let attempt = send_plain(&rx.url("/")).await;
    assert!(clock.elapsed() < Duration::from_secs(3), "{:?}", clock.elapsed());
    assert_eq!((attempt.verdict, attempt.status), (Verdict::Delivered, Some(200)));
    assert_eq!(attempt.response_body.len(), 4096);
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let attempt = send_plain(&format!("http://127.0.0.1:{port}/")).await;
    assert_eq!((attempt.verdict, attempt.status), (Verdict::Retry, None));
    assert_eq!(attempt.error.map(|e| e.kind), Some(ErrorKind::Connect));
}

#[tokio::test]
async fn a_tls_failure_is_a_tls_error() {
    let rx = Receiver::start(Reply::NotTls).await;
    let attempt = send_plain(&format!("https://127.0.0.1:{}/", rx.port())).await;
    assert_eq!(attempt.verdict, Verdict::Retry);
    let error = attempt.error.expect("error");
    assert_eq!(error.kind, ErrorKind::Tls, "{}", error.message);
    assert!(error.message.starts_with("TLS handshake failed"), "{}", error.message);
}

#[tokio::test]
async fn an_unusable_secret_refuses_to_send() {
    let rx = Receiver::start(Reply::status(200)).await;
    let none = CustomHeaders::default();
    let url = rx.url("/");
    let req = OutboundRequest {
        url: &url,
        method: Method::Post,
        headers: &none,
        body: BODY,
        timeout: Duration::from_secs(5),
        signing: Signing::Standard {
            msg_id: "msg_1",
            timestamp: now(),
            secret: "whsec_!!!not base64",
            previous: None,
        },
    };
    let attempt = local_sender().send(&req).await;
    assert_eq!(attempt.verdict, Verdict::Blocked);
    assert_eq!(attempt.error.map(|e| e.kind), Some(ErrorKind::Blocked));
    assert_eq!(rx.connections(), 0);
}
