//! Receivers that misbehave on purpose: an endless body, a 100 MB body, headers that never end,
//! a connection closed mid-response. Each attempt ends within the webhook's timeout, keeps at
//! most `MAX_RESPONSE_BODY_BYTES` (4 KB) of what it read, and memory stays flat however much the
//! receiver sends.

use std::time::{Duration, Instant};

use entity::spec::{CustomHeaders, Method};
use herald_jobs::send::{Attempt, ErrorKind, MAX_RESPONSE_BODY_BYTES, OutboundRequest, Signing, Verdict};

use super::receiver::{Receiver, Reply};
use super::{BODY, local_sender};

const TIMEOUT: Duration = Duration::from_secs(2);

/// One attempt against a receiver answering `reply`, with its wall time.
async fn attempt(reply: Reply) -> (Attempt, Duration) {
    let rx = Receiver::start(reply).await;
    let none = CustomHeaders::default();
    let url = rx.url("/");
    let req = OutboundRequest {
        url: &url,
        method: Method::Post,
        headers: &none,
        body: BODY,
        timeout: TIMEOUT,
        signing: Signing::None,
    };
    let clock = Instant::now();
    let attempt = local_sender().send(&req).await;
    (attempt, clock.elapsed())
}

/// The resident set of this process, in bytes (Linux).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_and_huge_bodies_are_cut_at_4_kb_within_the_timeout_and_memory_stays_flat() {
    let (first, _) = attempt(Reply::HugeBody(100 * 1024 * 1024)).await;
    assert_eq!(first.response_body.len(), MAX_RESPONSE_BODY_BYTES);
    let baseline = rss();
    for _ in 0..5 {
        for reply in [Reply::EndlessBody, Reply::HugeBody(100 * 1024 * 1024)] {
            let (a, took) = attempt(reply.clone()).await;
            assert!(took < TIMEOUT, "{reply:?} took {took:?}");
            assert_eq!((a.verdict, a.status), (Verdict::Delivered, Some(200)), "{reply:?}");
            assert_eq!(a.response_body.len(), MAX_RESPONSE_BODY_BYTES, "{reply:?}");
        }
    }
    let grown = rss().saturating_sub(baseline);
    assert!(grown < 32 * 1024 * 1024, "memory grew by {} MB", grown / (1024 * 1024));
}

#[tokio::test]
async fn headers_that_never_end_fail_the_attempt_within_the_timeout() {
    let (a, took) = attempt(Reply::HeadersForever).await;
    assert!(took < TIMEOUT + Duration::from_millis(500), "{took:?}");
    assert_eq!((a.verdict, a.status), (Verdict::Retry, None));
    assert!(a.response_body.is_empty());
    assert!(
        matches!(
            a.error.as_ref().map(|e| e.kind),
            Some(ErrorKind::Timeout | ErrorKind::Connect)
        ),
        "{:?}",
        a.error
    );
}

#[tokio::test]
async fn a_connection_closed_mid_response_keeps_what_arrived() {
    let (a, took) = attempt(Reply::CloseMidResponse).await;
    assert!(took < TIMEOUT, "{took:?}");
    assert_eq!(a.status, Some(200));
    assert_eq!(a.response_body, "c".repeat(500));
}
