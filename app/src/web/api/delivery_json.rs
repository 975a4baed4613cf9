//! The JSON shapes of deliveries, attempts and webhook health in the API.

use serde::Serialize;
use serde_json::Value;

use entity::delivery::{self, DeliveryStatus};
use entity::delivery_attempt;

use super::choices;
use crate::domain::deliveries::{Health, Row, Stage, State, Window};
use crate::domain::{DomainError, stored_json};
use crate::timestamps::rfc3339;

/// A delivery: one request (one event or a batch) to one webhook, with its latest outcome.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryOut {
    #[serde(flatten)]
    fields: DeliveryFields,
    /// Attempts made so far.
    attempts: i32,
    /// How long the latest attempt took (only in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<i32>,
}

/// What a delivery list row and a delivery's detail share (the detail lists the attempts
/// themselves under `attempts` instead of their count).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryFields {
    id: i64,
    /// The webhook's public id.
    webhook_id: String,
    event_id: Option<i64>,
    event_name: Option<String>,
    /// `pending` (due now), `retrying` (failed an attempt, waits for the next at
    /// `next_attempt_at`), `in_flight`, `succeeded`, `failed` (given up), `cancelled` or
    /// `collecting`.
    #[schema(value_type = choices::DeliveryStatus, inline)]
    status: &'static str,
    /// `scheduled`, `manual` (retried or replayed) or `test`.
    #[schema(value_type = choices::Trigger, inline)]
    trigger: String,
    event_count: i32,
    next_attempt_at: Option<String>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: String,
    updated_at: String,
}

impl DeliveryOut {
    /// `webhook_id`: the webhook's public id.
    #[must_use]
    pub fn new(d: delivery::Model, webhook_id: String) -> Self {
        Self {
            attempts: d.attempts,
            duration_ms: None,
            fields: DeliveryFields::new(d, webhook_id),
        }
    }

    /// A row of a delivery list, with its latest attempt's duration.
    #[must_use]
    pub fn from_row(r: Row) -> Self {
        let duration_ms = r.duration_ms;
        Self {
            duration_ms,
            ..Self::new(r.delivery, r.webhook_id)
        }
    }
}

impl DeliveryFields {
    /// `webhook_id`: the webhook's public id.
    #[must_use]
    pub fn new(d: delivery::Model, webhook_id: String) -> Self {
        let due = matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Collecting);
        Self {
            id: d.id,
            webhook_id,
            event_id: d.event_id,
            status: Stage::of(&d).as_str(),
            event_name: d.event_name,
            trigger: d.trigger,
            event_count: d.event_count,
            next_attempt_at: due.then(|| rfc3339(d.next_attempt_at)),
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
        }
    }
}

/// A header as sent or received (secret values already redacted when sent).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeaderOut {
    name: String,
    value: String,
}

fn headers(column: &str, row_id: i64, text: Option<&str>) -> Result<Vec<HeaderOut>, DomainError> {
    Ok(stored_json::parse_opt::<Vec<(String, String)>>(column, row_id, text)?
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| HeaderOut { name, value })
        .collect())
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptOut {
    id: i64,
    /// 1-based attempt number.
    attempt: i32,
    /// `scheduled`, `manual` or `test`.
    #[schema(value_type = choices::Trigger, inline)]
    trigger: String,
    started_at: String,
    duration_ms: i32,
    request_headers: Vec<HeaderOut>,
    /// Absent in HIPAA mode.
    request_body: Option<String>,
    response_status: Option<i32>,
    response_headers: Vec<HeaderOut>,
    /// Truncated to 4 KB; absent in HIPAA mode.
    response_body: Option<String>,
    /// `timeout`, `connect`, `dns`, `tls`, `blocked`, `http_status` or `internal`.
    #[schema(value_type = Option<choices::ErrorKind>, inline)]
    error_kind: Option<String>,
    error_message: Option<String>,
}

impl TryFrom<delivery_attempt::Model> for AttemptOut {
    type Error = DomainError;

    fn try_from(a: delivery_attempt::Model) -> Result<Self, DomainError> {
        Ok(Self {
            id: a.id,
            attempt: a.attempt,
            trigger: a.trigger,
            started_at: rfc3339(a.started_at),
            duration_ms: a.duration_ms,
            request_headers: headers("delivery_attempts.request_headers", a.id, Some(&a.request_headers))?,
            request_body: a.request_body,
            response_status: a.response_status,
            response_headers: headers(
                "delivery_attempts.response_headers",
                a.id,
                a.response_headers.as_deref(),
            )?,
            response_body: a.response_body,
            error_kind: a.error_kind.map(|k| k.as_str().to_owned()),
            error_message: a.error_message,
        })
    }
}

/// A delivery with its body and every attempt, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDetailOut {
    #[serde(flatten)]
    pub delivery: DeliveryFields,
    /// The frozen request body (JSON); `null` once purged by retention or HIPAA mode.
    #[schema(value_type = Option<Object>)]
    pub body: Option<Value>,
    pub attempts: Vec<AttemptOut>,
}

/// Figures for one window, over the attempts started in it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WindowOut {
    attempts: u64,
    succeeded: u64,
    /// Attempts that did not deliver (an error or a non-2xx answer), retried or not.
    failed: u64,
    /// Percent of attempts that delivered; `null` without attempts.
    success_rate: Option<f64>,
    /// The receiver's response time (attempts that got an HTTP answer), median, in ms.
    p50_ms: Option<i64>,
    /// The receiver's response time, 95th percentile, in ms.
    p95_ms: Option<i64>,
}

impl From<Window> for WindowOut {
    fn from(w: Window) -> Self {
        Self {
            attempts: w.attempts,
            succeeded: w.succeeded,
            failed: w.failed,
            success_rate: w.success_rate,
            p50_ms: w.p50_ms,
            p95_ms: w.p95_ms,
        }
    }
}

/// The latest attempt that did not deliver.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LastErrorOut {
    at: String,
    delivery_id: i64,
    /// `HTTP 500`, or `timeout: …` for an attempt without an answer.
    outcome: String,
}

/// A webhook's health, over attempts (test sends excluded).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsOut {
    /// `healthy` (latest attempt delivered), `failing` (latest attempt failed), `paused` (the
    /// circuit breaker is open: deliveries wait, single probes test the endpoint), `disabled` or
    /// `no_traffic` (no attempt in 7 days).
    #[schema(value_type = choices::HealthState, inline)]
    state: &'static str,
    /// When a failing or paused webhook started failing: its first failed attempt after the
    /// last success.
    failing_since: Option<String>,
    /// When a paused webhook's next probe may go; `null` unless paused.
    next_probe_at: Option<String>,
    last_24h: WindowOut,
    last_7d: WindowOut,
    last_success_at: Option<String>,
    last_error: Option<LastErrorOut>,
    /// Deliveries that failed an attempt and wait for the next.
    retrying: u64,
}

impl From<Health> for StatsOut {
    fn from(h: Health) -> Self {
        Self {
            state: h.state.as_str(),
            failing_since: match h.state {
                State::Failing { since } | State::Paused { since, .. } => Some(rfc3339(since)),
                _ => None,
            },
            next_probe_at: match h.state {
                State::Paused { next_probe, .. } => Some(rfc3339(next_probe)),
                _ => None,
            },
            last_24h: h.day.into(),
            last_7d: h.week.into(),
            last_success_at: h.last_success_at.map(rfc3339),
            last_error: h.last_error.map(|e| LastErrorOut {
                at: rfc3339(e.at),
                delivery_id: e.delivery_id,
                outcome: e.outcome(),
            }),
            retrying: h.retrying,
        }
    }
}
