//! What one delivery attempt produced: the record kept in `delivery_attempts`, and the verdict the
//! retry policy acts on.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// Longest wait a receiver's `Retry-After` can impose: beyond an hour the regular schedule is the
/// better judge, and a hostile or broken receiver cannot park a delivery for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// The outcome of one HTTP request, complete enough to show the tenant what happened and to decide
/// what to do next. Built by [`crate::send::Sender::send`]; never an `Err`: every failure is data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// When the attempt started, unix milliseconds.
    pub started_at_ms: i64,
    /// Wall time from start to the last byte read (or the failure), in milliseconds.
    pub duration_ms: i64,
    /// The headers sent, in order, with signatures and custom header values replaced by
    /// `[redacted]`: attempt logs are shown in the dashboard and must not leak credentials.
    pub request_headers: Vec<(String, String)>,
    /// The response status, when a response arrived.
    pub status: Option<u16>,
    /// The response headers, in the order received (values lossily decoded as UTF-8).
    pub response_headers: Vec<(String, String)>,
    /// The first 4 KB of the response body, lossy UTF-8 (a character cut at the limit is dropped).
    pub response_body: String,
    /// Why the attempt did not deliver; `None` exactly when the verdict is `Delivered`.
    pub error: Option<SendError>,
    /// What the caller should do next.
    pub verdict: Verdict,
}

/// Why an attempt failed, as a stable kind (stored, filterable) and a human message (shown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct SendError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// What went wrong, for the attempt log.
    pub message: String,
}

impl SendError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// The class of a failed attempt: the type of `delivery_attempts.error_kind`, defined with the
/// entity so the column and the sender share it.
pub use entity::delivery_attempt::ErrorKind;

/// What the caller does after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx status: the delivery succeeded.
    Delivered,
    /// Retry on the regular schedule: timeouts, connection, DNS and TLS errors, and any non-2xx
    /// status not covered below, including 3xx (redirects are never followed).
    Retry,
    /// A 429 or 503 with a usable `Retry-After`: retry no sooner than this (capped at 1 hour).
    RetryAfter(Duration),
    /// 410 Gone: the receiver says the endpoint is gone for good; the caller disables the webhook.
    Gone,
    /// Herald refused to send (see [`ErrorKind::Blocked`]): never retried.
    Blocked,
}

/// The verdict for a response with `status` and (for 429/503) the raw `Retry-After` value,
/// judged at `now`.
#[must_use]
pub fn verdict_for_status(status: u16, retry_after: Option<&str>, now: SystemTime) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Gone,
        429 | 503 => retry_after
            .and_then(|raw| parse_retry_after(raw, now))
            .map_or(Verdict::Retry, Verdict::RetryAfter),
        _ => Verdict::Retry,
    }
}

/// Parses a `Retry-After` value (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date (IMF-fixdate)
/// turned into the wait from `now` (zero when it has passed). Capped at [`MAX_RETRY_AFTER`];
/// `None` when unparsable, so the regular schedule applies.
#[must_use]
pub fn parse_retry_after(raw: &str, now: SystemTime) -> Option<Duration> {
    let raw = raw.trim();
    let wait = if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        // Any run of digits is a valid (if huge) delay; saturate rather than refuse.
        Duration::from_secs(raw.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = OffsetDateTime::parse(raw, &Rfc2822).ok()?;
        let now = OffsetDateTime::from(now);
        let secs = (at - now).whole_seconds();
        Duration::from_secs(u64::try_from(secs).unwrap_or(0))
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn error_kinds_have_stable_names() {
        let names: Vec<&str> = [
            ErrorKind::Timeout,
            ErrorKind::Connect,
            ErrorKind::Dns,
            ErrorKind::Tls,
            ErrorKind::Blocked,
            ErrorKind::HttpStatus,
        ]
        .into_iter()
        .map(ErrorKind::as_str)
        .collect();
        assert_eq!(names, ["timeout", "connect", "dns", "tls", "blocked", "http_status"]);
        assert_eq!(
            SendError::new(ErrorKind::Dns, "no such host").to_string(),
            "dns: no such host"
        );
    }

    #[test]
    fn statuses_map_to_verdicts() {
        let now = at(0);
        assert_eq!(verdict_for_status(200, None, now), Verdict::Delivered);
        assert_eq!(verdict_for_status(204, None, now), Verdict::Delivered);
        assert_eq!(verdict_for_status(302, None, now), Verdict::Retry);
        assert_eq!(verdict_for_status(500, Some("5"), now), Verdict::Retry);
        assert_eq!(verdict_for_status(410, None, now), Verdict::Gone);
        assert_eq!(verdict_for_status(429, None, now), Verdict::Retry);
        assert_eq!(verdict_for_status(429, Some("soon"), now), Verdict::Retry);
        assert_eq!(
            verdict_for_status(503, Some("7"), now),
            Verdict::RetryAfter(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_seconds_are_capped_at_an_hour() {
        let now = at(0);
        assert_eq!(parse_retry_after(" 2 ", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(MAX_RETRY_AFTER));
        for bad in ["", "-1", "1.5", "2s", "tomorrow"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_dates_count_from_now() {
        // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(
            parse_retry_after(date, at(1_445_412_480 - 90)),
            Some(Duration::from_secs(90))
        );
        assert_eq!(parse_retry_after(date, at(1_445_412_480 + 90)), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(date, at(1_445_412_480 - 7200)), Some(MAX_RETRY_AFTER));
    }
}
