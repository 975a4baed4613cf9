//! One delivery attempt, from the claimed row to its settled outcome. Everything an attempt
//! writes is written here, in one transaction per batch of attempts: the attempt rows, each
//! delivery's `last_status` / `last_error` and `attempts`, the clearing of delivered bodies on
//! HIPAA accounts, and the fenced next state of the row. Nothing about an attempt is written
//! anywhere else.
//!
//! ```text
//! claim (queue: rows + body + webhook version) → handler: send (returns an Outcome)
//!     → SettleService: outcome → next state → settle loop: one commit for the whole batch
//! ```
//!
//! # The delivery policy
//! - **Delivered** (a 2xx): the delivery is `succeeded`. On a HIPAA account its frozen body is
//!   dropped in the same commit, and no attempt row keeps a request or response body.
//! - **Retry timing**: after a failed attempt `n` (1-based, counted in `deliveries.attempts`),
//!   the next attempt is due after entry `n` of the retry schedule (default: at once, 5 s, 5 min,
//!   30 min, 2 h, 5 h, 10 h, 10 h), ±20 % jitter, in lane 1 so retries never hold up first
//!   attempts. After the schedule's last attempt the delivery is `failed`. Failures that retry:
//!   timeouts, connection, DNS and TLS errors, any non-2xx status other than those below
//!   (3xx included: redirects are never followed), and an attempt Herald could not make
//!   (`internal`, e.g. the webhook's stored configuration could not be read).
//! - **Retry-After**: a `429` or `503` with a usable `Retry-After` delays the next attempt by
//!   what the receiver asked (the sender caps it at one hour) instead of the schedule's entry.
//!   It never adds attempts: on the schedule's last attempt the delivery fails all the same.
//! - **410 Gone**: the receiver wants nothing more. The delivery is `failed` at once and the
//!   handler disables the webhook (with its reason and an audit row), which cancels its queue.
//! - **Blocked**: Herald refused to send (an address the SSRF guard forbids, a request that
//!   cannot be built). Repeating cannot help: `failed` at once.
//! - **Abort**: the webhook was disabled after the delivery was queued: nothing is sent and
//!   nothing is recorded as an attempt; the delivery is `cancelled` (as disabling does to the
//!   rest of its queue). A deleted webhook takes its deliveries with it.
//!
//! - **Circuit breaker**: after [`QueueConfig::breaker_after`](crate::queue::QueueConfig)
//!   failed attempts in a row to one webhook (default 10), its deliveries wait without spending
//!   attempts and single probes test the endpoint at growing intervals; a 2xx closes it at once
//!   ([`breaker`]). The auto-disable rule still applies to a webhook that only fails.
//!
//! Every settled row is fenced on `status = 'in_flight'` and the lease its claim set
//! (`lease_until`, which only grows from one claim of a row to the next): when a slow worker's
//! lease ran out and the row was claimed again, its late outcome — attempt row included —
//! changes nothing, so a delivery's `attempts` always equals its attempt rows.

mod breaker;
mod settle;
pub(crate) mod sql;

use std::time::Duration;

use entity::delivery::DeliveryStatus;

use crate::queue::{ClaimedDelivery, now_ms, retry_delay};
use crate::send::{Attempt, ErrorKind, Verdict};

pub use settle::{SettleLayer, SettleService};
pub(crate) use settle::{SettleMsg, settle_loop};

/// What the delivery handler did with a claimed delivery. A handler error (`Err`) means the
/// attempt could not be made; it is recorded as an `internal` attempt and retried on the schedule.
#[derive(Debug)]
pub enum Outcome {
    /// A request was made, or refused by the guard: recorded, and its verdict decides what next.
    Sent(Box<Attempt>),
    /// Nothing was sent and nothing is recorded: the delivery is `cancelled` with this reason
    /// (the webhook was disabled after the delivery was queued).
    Cancelled(&'static str),
}

/// The log row of one attempt, as stored in `delivery_attempts` (bodies kept unless HIPAA).
#[derive(Debug)]
pub(crate) struct AttemptRow {
    pub started_at: i64,
    pub duration_ms: i32,
    /// JSON array of `[name, value]` pairs, secrets already redacted by the sender.
    pub request_headers: String,
    pub response_status: Option<i32>,
    pub response_headers: String,
    pub response_body: String,
    pub error_kind: Option<&'static str>,
    pub error_message: Option<String>,
}

/// A claim's outcome, ready to be committed.
#[derive(Debug)]
pub(crate) struct Settled {
    /// The claim, kept while the handler owns the task.
    pub claim: ClaimedDelivery,
    pub status: DeliveryStatus,
    /// Unix ms of the next attempt; read only when `status` is `pending`.
    pub next_attempt_at: i64,
    /// `None` for a cancelled delivery: nothing was attempted.
    pub row: Option<AttemptRow>,
    /// `deliveries.last_error`: the error kind, or why the delivery was cancelled.
    pub last_error: Option<String>,
}

impl Settled {
    /// Applies the policy above to the handler's result.
    pub(crate) fn new<E: std::fmt::Display>(
        claim: ClaimedDelivery,
        result: Result<&Outcome, &E>,
        schedule: &[Duration],
    ) -> Self {
        let attempt = match result {
            Ok(Outcome::Sent(a)) => AttemptView::Sent(a),
            Ok(Outcome::Cancelled(reason)) => {
                return Self {
                    claim,
                    status: DeliveryStatus::Cancelled,
                    next_attempt_at: 0,
                    row: None,
                    last_error: Some((*reason).to_owned()),
                };
            }
            Err(e) => AttemptView::Internal(e.to_string()),
        };
        let (status, next_attempt_at) = next_state(attempt.verdict(), schedule, claim.attempt);
        let row = attempt.row();
        Self {
            last_error: row.error_kind.map(str::to_owned),
            claim,
            status,
            next_attempt_at,
            row: Some(row),
        }
    }
}

enum AttemptView<'a> {
    Sent(&'a Attempt),
    Internal(String),
}

impl AttemptView<'_> {
    fn verdict(&self) -> Verdict {
        match self {
            Self::Sent(a) => a.verdict,
            Self::Internal(_) => Verdict::Retry,
        }
    }

    fn row(self) -> AttemptRow {
        let headers = |h: &[(String, String)]| serde_json::to_string(h).unwrap_or_else(|_| "[]".into());
        match self {
            Self::Sent(a) => AttemptRow {
                started_at: a.started_at_ms,
                duration_ms: i32::try_from(a.duration_ms).unwrap_or(i32::MAX),
                request_headers: headers(&a.request_headers),
                response_status: a.status.map(i32::from),
                response_headers: headers(&a.response_headers),
                response_body: a.response_body.clone(),
                error_kind: a.error.as_ref().map(|e| e.kind.as_str()),
                error_message: a.error.as_ref().map(|e| e.message.clone()),
            },
            Self::Internal(message) => AttemptRow {
                started_at: now_ms(),
                duration_ms: 0,
                request_headers: "[]".to_owned(),
                response_status: None,
                response_headers: "[]".to_owned(),
                response_body: String::new(),
                error_kind: Some(ErrorKind::Internal.as_str()),
                error_message: Some(message),
            },
        }
    }
}

/// The row's next `(status, next_attempt_at)` after attempt number `attempt` ended in `verdict`.
fn next_state(verdict: Verdict, schedule: &[Duration], attempt: i32) -> (DeliveryStatus, i64) {
    let wait = match verdict {
        Verdict::Delivered => return (DeliveryStatus::Succeeded, 0),
        Verdict::Gone | Verdict::Blocked => return (DeliveryStatus::Failed, 0),
        Verdict::RetryAfter(d) => retry_delay(schedule, attempt).map(|_| d),
        Verdict::Retry => retry_delay(schedule, attempt),
    };
    match wait {
        Some(d) => {
            let millis = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            (DeliveryStatus::Pending, now_ms().saturating_add(millis))
        }
        None => (DeliveryStatus::Failed, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_states_follow_the_policy() {
        let schedule = [Duration::ZERO, Duration::from_secs(10)];
        assert_eq!(
            next_state(Verdict::Delivered, &schedule, 1),
            (DeliveryStatus::Succeeded, 0)
        );
        assert_eq!(next_state(Verdict::Gone, &schedule, 1), (DeliveryStatus::Failed, 0));
        assert_eq!(next_state(Verdict::Blocked, &schedule, 1), (DeliveryStatus::Failed, 0));
        let before = now_ms();
        let (status, at) = next_state(Verdict::Retry, &schedule, 1);
        assert_eq!(status, DeliveryStatus::Pending);
        assert!(at >= before + 8_000 && at <= now_ms() + 12_000, "{at} vs {before}");
        assert_eq!(next_state(Verdict::Retry, &schedule, 2), (DeliveryStatus::Failed, 0));
        let later = Verdict::RetryAfter(Duration::from_secs(60));
        let (status, at) = next_state(later, &schedule, 1);
        assert_eq!(status, DeliveryStatus::Pending);
        assert!(at >= before + 60_000, "{at} vs {before}");
        assert_eq!(
            next_state(later, &schedule, 2),
            (DeliveryStatus::Failed, 0),
            "Retry-After adds no attempt"
        );
    }

    #[test]
    fn a_handler_error_is_an_internal_attempt_and_cancelling_records_none() {
        let claim = ClaimedDelivery {
            id: 1,
            attempt: 1,
            lease_until: 5,
            account_id: 2,
            webhook_id: 3,
            webhook_version: Some(1),
            trigger: "scheduled".into(),
            lane: 0,
            body: None,
        };
        let schedule = [Duration::ZERO, Duration::from_millis(10)];
        let err = "webhooks.headers holds an invalid value".to_owned();
        let s = Settled::new(claim.clone(), Err::<&Outcome, _>(&err), &schedule);
        assert_eq!(s.status, DeliveryStatus::Pending);
        let row = s.row.expect("an internal attempt is recorded");
        assert_eq!(row.error_kind, Some("internal"));
        assert_eq!(row.error_message.as_deref(), Some(err.as_str()));
        let cancelled = Outcome::Cancelled("the webhook is disabled");
        let s = Settled::new(claim, Ok::<_, &String>(&cancelled), &schedule);
        assert_eq!(s.status, DeliveryStatus::Cancelled);
        assert!(s.row.is_none());
        assert_eq!(s.last_error.as_deref(), Some("the webhook is disabled"));
    }
}
