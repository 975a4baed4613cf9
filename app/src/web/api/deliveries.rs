//! Delivery history and the tenant's fixes over the API: the same domain functions as the
//! webhook and delivery pages of the dashboard. Delivery ids are integers; every lookup is
//! limited to the caller's account.

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use entity::delivery::DeliveryStatus;
use entity::{delivery, delivery_attempt};

use super::{ApiJson, Caller, ErrorBody, ListOut, ListQuery, parse_json};
use crate::domain::deliveries::{self, Filter, Health, Window};
use crate::domain::roles::Scope;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::format::rfc3339;

/// Filters of `GET /webhooks/{id}/deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilterQuery {
    /// `succeeded`, `failed`, `pending`, `in_flight`, `cancelled` or `collecting`.
    status: Option<String>,
    /// Exact event name.
    event: Option<String>,
    /// Created at or after this time (RFC 3339).
    since: Option<String>,
    /// Created before this time (RFC 3339).
    until: Option<String>,
}

/// A delivery: one request (one event or a batch) to one webhook, with its latest outcome.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryOut {
    id: i64,
    /// The webhook's public id.
    webhook_id: String,
    event_id: Option<i64>,
    event_name: Option<String>,
    /// `pending`, `in_flight`, `succeeded`, `failed`, `cancelled` or `collecting`.
    status: String,
    /// `scheduled`, `manual` (retried or replayed) or `test`.
    trigger: String,
    attempts: i32,
    event_count: i32,
    next_attempt_at: Option<String>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: String,
    updated_at: String,
}

impl DeliveryOut {
    fn new(d: delivery::Model, webhook_id: String) -> Self {
        let due = matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Collecting);
        Self {
            id: d.id,
            webhook_id,
            event_id: d.event_id,
            event_name: d.event_name,
            status: d.status.as_str().to_owned(),
            trigger: d.trigger,
            attempts: d.attempts,
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

fn headers(text: Option<&str>) -> Vec<HeaderOut> {
    text.and_then(|t| serde_json::from_str::<Vec<(String, String)>>(t).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| HeaderOut { name, value })
        .collect()
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptOut {
    id: i64,
    /// 1-based attempt number.
    attempt: i32,
    /// `scheduled`, `manual` or `test`.
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
    /// `timeout`, `connect`, `dns`, `tls`, `blocked` or `http_status`.
    error_kind: Option<String>,
    error_message: Option<String>,
}

impl From<delivery_attempt::Model> for AttemptOut {
    fn from(a: delivery_attempt::Model) -> Self {
        Self {
            id: a.id,
            attempt: a.attempt,
            trigger: a.trigger,
            started_at: rfc3339(a.started_at),
            duration_ms: a.duration_ms,
            request_headers: headers(Some(&a.request_headers)),
            request_body: a.request_body,
            response_status: a.response_status,
            response_headers: headers(a.response_headers.as_deref()),
            response_body: a.response_body,
            error_kind: a.error_kind.map(|k| k.as_str().to_owned()),
            error_message: a.error_message,
        }
    }
}

/// A delivery with its body and every attempt, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDetailOut {
    #[serde(flatten)]
    delivery: DeliveryOut,
    /// The frozen request body (JSON); `null` once purged by retention or HIPAA mode.
    #[schema(value_type = Option<Object>)]
    body: Option<Value>,
    attempts: Vec<AttemptOut>,
}

/// Body of `POST /webhooks/{id}/replay`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    /// Replay `failed` deliveries created at or after this time (RFC 3339).
    since: String,
}

/// How many deliveries a replay sent again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplayOut {
    count: u64,
}

/// Body of `POST /webhooks/{id}/test`; may be empty.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestIn {
    /// `identify`, `page`, `screen`, `group`, or a track event name. Default: the webhook's
    /// first event type (for track, a name its first pattern takes).
    event_name: Option<String>,
}

/// The result of a test send: its delivery and first attempt (`null` if it had not finished
/// within the webhook's timeout plus 2 s).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestOut {
    delivery: DeliveryOut,
    attempt: Option<AttemptOut>,
}

/// Figures for one window.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WindowOut {
    succeeded: u64,
    failed: u64,
    /// Percent of finished deliveries that succeeded; `null` when none finished.
    success_rate: Option<f64>,
    p50_ms: Option<i64>,
    p95_ms: Option<i64>,
}

impl From<Window> for WindowOut {
    fn from(w: Window) -> Self {
        Self {
            succeeded: w.succeeded,
            failed: w.failed,
            success_rate: w.success_rate,
            p50_ms: w.p50_ms,
            p95_ms: w.p95_ms,
        }
    }
}

/// A webhook's health; test sends are not counted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsOut {
    last_24h: WindowOut,
    last_7d: WindowOut,
    last_success_at: Option<String>,
}

impl From<Health> for StatsOut {
    fn from(h: Health) -> Self {
        Self {
            last_24h: h.day.into(),
            last_7d: h.week.into(),
            last_success_at: h.last_success_at.map(rfc3339),
        }
    }
}

/// A webhook's deliveries, newest first.
#[utoipa::path(tag = "deliveries", params(("id" = String, Path), ListQuery, DeliveryFilterQuery), responses(
    (status = 200, body = ListOut<DeliveryOut>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/webhooks/{id}/deliveries")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<ListQuery>,
    f: web::Query<DeliveryFilterQuery>,
) -> Result<web::Json<ListOut<DeliveryOut>>, ApiError> {
    caller.require(Scope::Read)?;
    let filter = Filter::parse(
        f.status.as_deref(),
        f.event.as_deref(),
        f.since.as_deref(),
        f.until.as_deref(),
    )?;
    let page = deliveries::list(&state.db, caller.account_id(), &id, &filter, q.page()?).await?;
    Ok(web::Json(ListOut::from_page(page, |d| DeliveryOut::new(d, id.clone()))))
}

/// One delivery with its body and attempts.
#[utoipa::path(tag = "deliveries", params(("id" = i64, Path)), responses(
    (status = 200, body = DeliveryDetailOut), (status = 404, body = ErrorBody)))]
#[get("/deliveries/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<DeliveryDetailOut>, ApiError> {
    caller.require(Scope::Read)?;
    let d = deliveries::get(&state.db, caller.account_id(), *id).await?;
    let body = d.delivery.body.as_deref().and_then(|b| serde_json::from_str(b).ok());
    Ok(web::Json(DeliveryDetailOut {
        delivery: DeliveryOut::new(d.delivery, d.webhook.model.public_id),
        body,
        attempts: d.attempts.into_iter().map(AttemptOut::from).collect(),
    }))
}

/// Send a delivery again now (any status but `in_flight` and `collecting`); the attempt is
/// logged as `manual`.
#[utoipa::path(tag = "deliveries", params(("id" = i64, Path)), responses(
    (status = 200, body = DeliveryOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/deliveries/{id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<DeliveryOut>, ApiError> {
    caller.require(Scope::Write)?;
    let d = deliveries::retry(&state.db, &state.queue, &caller.actor, *id).await?;
    Ok(web::Json(DeliveryOut::new(d.delivery, d.webhook.model.public_id)))
}

/// Send again every `failed` delivery of the webhook created since a time.
#[utoipa::path(tag = "deliveries", params(("id" = String, Path)), request_body = ReplayIn, responses(
    (status = 200, body = ReplayOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/webhooks/{id}/replay")]
pub async fn replay(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<ReplayIn>,
) -> Result<web::Json<ReplayOut>, ApiError> {
    caller.require(Scope::Write)?;
    let since = deliveries::parse_time("since", &body.0.since)?;
    let count = deliveries::replay(&state.db, &state.queue, &caller.actor, &id, since).await?;
    Ok(web::Json(ReplayOut { count }))
}

/// Send a sample event, marked as a test, and answer with its first attempt.
#[utoipa::path(tag = "deliveries", params(("id" = String, Path)), request_body(content = TestIn, description = "optional"), responses(
    (status = 200, body = TestOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/webhooks/{id}/test")]
pub async fn test(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<web::Json<TestOut>, ApiError> {
    caller.require(Scope::Write)?;
    let input: TestIn = if body.iter().all(u8::is_ascii_whitespace) {
        TestIn::default()
    } else {
        parse_json(&body)?
    };
    let out = deliveries::send_test(
        &state.db,
        &state.queue,
        caller.account_id(),
        &id,
        input.event_name.as_deref(),
    )
    .await?;
    Ok(web::Json(TestOut {
        delivery: DeliveryOut::new(out.delivery, id.into_inner()),
        attempt: out.attempt.map(AttemptOut::from),
    }))
}

/// A webhook's health over the last 24 hours and 7 days (test sends excluded).
#[utoipa::path(tag = "deliveries", params(("id" = String, Path)), responses(
    (status = 200, body = StatsOut), (status = 404, body = ErrorBody)))]
#[get("/webhooks/{id}/stats")]
pub async fn stats(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<StatsOut>, ApiError> {
    caller.require(Scope::Read)?;
    Ok(web::Json(
        deliveries::health(&state.db, caller.account_id(), &id).await?.into(),
    ))
}
