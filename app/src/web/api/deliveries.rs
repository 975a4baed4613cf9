//! Delivery history and the tenant's fixes over the API: the same domain functions as the
//! delivery log and the webhook and delivery pages of the dashboard. Delivery ids are integers;
//! every lookup is limited to the caller's account.

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};

use super::choices;
use super::delivery_json::{AttemptOut, DeliveryDetailOut, DeliveryFields, DeliveryOut, StatsOut};
use super::{Caller, ErrorBody, ListOut, ListQuery};
use crate::domain::deliveries::{self, Filter, RawFilter};
use crate::domain::stored_json;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::json::{ApiJson, parse_json};

/// Filters of the delivery lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilterQuery {
    /// `succeeded`, `failed`, `retrying`, `pending`, `in_flight`, `cancelled` or `collecting`.
    #[param(value_type = Option<choices::DeliveryStatus>, inline)]
    status: Option<String>,
    /// Event names starting with this, any case (`order` matches `Order Completed`).
    event: Option<String>,
    /// Deliveries of events with this user id.
    user_id: Option<String>,
    /// Deliveries of the event with this message id.
    message_id: Option<String>,
    /// Created at or after this time (RFC 3339).
    since: Option<String>,
    /// Created before this time (RFC 3339).
    until: Option<String>,
}

impl DeliveryFilterQuery {
    fn parse(&self, webhook: Option<&str>) -> Result<Filter, ApiError> {
        Ok(Filter::parse(RawFilter {
            status: self.status.as_deref(),
            webhook,
            event: self.event.as_deref(),
            user: self.user_id.as_deref(),
            message: self.message_id.as_deref(),
            since: self.since.as_deref(),
            until: self.until.as_deref(),
        })?)
    }
}

/// The webhook filter of `GET /deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookFilterQuery {
    /// Only this webhook's deliveries (its public id).
    webhook_id: Option<String>,
}

/// Body of `POST /webhooks/{id}/replay`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    /// Replay `failed` deliveries created at or after this time (RFC 3339).
    since: String,
    /// Also send deliveries waiting for a retry (`retrying`) now. Default: false.
    #[serde(default)]
    include_retrying: bool,
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

/// A webhook's deliveries, newest first.
#[utoipa::path(tag = "deliveries", params(("id" = String, Path), ListQuery, DeliveryFilterQuery), responses(
    (status = 200, body = ListOut<DeliveryOut>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/webhooks/{id}/deliveries")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<ListQuery>,
    f: web::Query<DeliveryFilterQuery>,
) -> Result<web::Json<ListOut<DeliveryOut>>, ApiError> {
    let filter = f.parse(None)?;
    let page = deliveries::list(&state.db, caller.account_id(), &id, &filter, q.page()?).await?;
    Ok(web::Json(ListOut::from_page(page, DeliveryOut::from_row)))
}

/// The account's deliveries across its webhooks, newest first (the dashboard's delivery log).
#[utoipa::path(tag = "deliveries", params(ListQuery, WebhookFilterQuery, DeliveryFilterQuery), responses(
    (status = 200, body = ListOut<DeliveryOut>), (status = 400, body = ErrorBody)))]
#[get("/deliveries")]
#[tracing::instrument(skip_all)]
pub async fn log(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
    w: web::Query<WebhookFilterQuery>,
    f: web::Query<DeliveryFilterQuery>,
) -> Result<web::Json<ListOut<DeliveryOut>>, ApiError> {
    let filter = f.parse(w.webhook_id.as_deref())?;
    let page = deliveries::log(&state.db, caller.account_id(), &filter, q.page()?).await?;
    Ok(web::Json(ListOut::from_page(page, DeliveryOut::from_row)))
}

/// One delivery with its body and attempts.
#[utoipa::path(tag = "deliveries", params(("id" = i64, Path)), responses(
    (status = 200, body = DeliveryDetailOut), (status = 404, body = ErrorBody)))]
#[get("/deliveries/{id}")]
#[tracing::instrument(skip_all, fields(delivery.id = *id))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<DeliveryDetailOut>, ApiError> {
    let d = deliveries::get(&state.db, caller.account_id(), *id).await?;
    let body = stored_json::parse_opt("deliveries.body", d.delivery.id, d.delivery.body.as_deref())?;
    Ok(web::Json(DeliveryDetailOut {
        delivery: DeliveryFields::new(d.delivery, d.webhook.model.public_id),
        body,
        attempts: d
            .attempts
            .into_iter()
            .map(AttemptOut::try_from)
            .collect::<Result<_, _>>()?,
    }))
}

/// Send a delivery again now (any status but `in_flight` and `collecting`); the attempt is
/// logged as `manual`.
#[utoipa::path(tag = "deliveries", params(("id" = i64, Path)), responses(
    (status = 200, body = DeliveryOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/deliveries/{id}/retry")]
#[tracing::instrument(skip_all, fields(delivery.id = *id))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<DeliveryOut>, ApiError> {
    let d = deliveries::retry(&state.db, &state.queue, &caller.actor, *id).await?;
    Ok(web::Json(DeliveryOut::new(d.delivery, d.webhook.model.public_id)))
}

/// Send again now every `failed` delivery of the webhook created since a time (and, if asked,
/// every one waiting for a retry).
#[utoipa::path(tag = "deliveries", params(("id" = String, Path)), request_body = ReplayIn, responses(
    (status = 200, body = ReplayOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/webhooks/{id}/replay")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn replay(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<ReplayIn>,
) -> Result<web::Json<ReplayOut>, ApiError> {
    let since = deliveries::parse_time("since", &body.0.since)?;
    let count = deliveries::replay(
        &state.db,
        &state.queue,
        &caller.actor,
        &id,
        since,
        body.0.include_retrying,
    )
    .await?;
    Ok(web::Json(ReplayOut { count }))
}

/// Send a sample event, marked as a test, and answer with its first attempt.
#[utoipa::path(tag = "deliveries", params(("id" = String, Path)), request_body(content = TestIn, description = "optional"), responses(
    (status = 200, body = TestOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/webhooks/{id}/test")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn test(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<web::Json<TestOut>, ApiError> {
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
        attempt: out.attempt.map(AttemptOut::try_from).transpose()?,
    }))
}

/// A webhook's health: its state, and its attempts over the last 24 hours and 7 days (test
/// sends excluded).
#[utoipa::path(tag = "deliveries", params(("id" = String, Path)), responses(
    (status = 200, body = StatsOut), (status = 404, body = ErrorBody)))]
#[get("/webhooks/{id}/stats")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn stats(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<StatsOut>, ApiError> {
    Ok(web::Json(
        deliveries::health(&state.db, caller.account_id(), &id).await?.into(),
    ))
}
