//! `/api/v1/event-types`.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};

use entity::event_type;

use super::choices;
use super::{Caller, ErrorBody, ListOut, ListQuery};
use crate::domain::event_types;
use crate::timestamps::rfc3339;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::json::ApiJson;

/// A catalog entry as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventTypeOut {
    id: i64,
    name: String,
    description: String,
    archived: bool,
    /// `dashboard`, `api`, `traffic` (discovered from ingested events) or `builtin`.
    #[schema(value_type = choices::EventTypeSource, inline)]
    source: String,
    created_at: String,
}

impl From<event_type::Model> for EventTypeOut {
    fn from(e: event_type::Model) -> Self {
        Self {
            id: e.id,
            name: e.name,
            description: e.description,
            archived: e.archived,
            source: e.source,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// Body of `POST /event-types`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTypeIn {
    name: String,
    #[serde(default)]
    description: String,
}

/// The catalog, newest first.
#[utoipa::path(tag = "event-types", params(ListQuery), responses(
    (status = 200, body = ListOut<EventTypeOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/event-types")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> Result<web::Json<ListOut<EventTypeOut>>, ApiError> {
    let page = event_types::list(&state.db, caller.account_id(), q.page()?).await?;
    Ok(web::Json(ListOut::from_page(page, EventTypeOut::from)))
}

/// One catalog entry.
#[utoipa::path(tag = "event-types", params(("id" = i64, Path)), responses(
    (status = 200, body = EventTypeOut), (status = 404, body = ErrorBody)))]
#[get("/event-types/{id}")]
#[tracing::instrument(skip_all, fields(event_type.id = *id))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<EventTypeOut>, ApiError> {
    Ok(web::Json(
        event_types::get(&state.db, caller.account_id(), *id).await?.into(),
    ))
}

/// Register an event type; names are unique per account.
#[utoipa::path(tag = "event-types", request_body = EventTypeIn, responses(
    (status = 201, body = EventTypeOut), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/event-types")]
#[tracing::instrument(skip_all)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<EventTypeIn>,
) -> Result<HttpResponse, ApiError> {
    let created = event_types::create(&state.db, &caller.actor, &body.0.name, &body.0.description, "api").await?;
    Ok(HttpResponse::Created().json(EventTypeOut::from(created)))
}

/// Archive an event type: hidden from pickers, webhooks that use it keep working.
#[utoipa::path(tag = "event-types", params(("id" = i64, Path)), responses(
    (status = 200, body = EventTypeOut), (status = 404, body = ErrorBody)))]
#[post("/event-types/{id}/archive")]
#[tracing::instrument(skip_all, fields(event_type.id = *id))]
pub async fn archive(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<EventTypeOut>, ApiError> {
    Ok(web::Json(
        event_types::set_archived(&state.db, &caller.actor, *id, true)
            .await?
            .into(),
    ))
}

/// Restore an archived event type.
#[utoipa::path(tag = "event-types", params(("id" = i64, Path)), responses(
    (status = 200, body = EventTypeOut), (status = 404, body = ErrorBody)))]
#[post("/event-types/{id}/restore")]
#[tracing::instrument(skip_all, fields(event_type.id = *id))]
pub async fn restore(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<EventTypeOut>, ApiError> {
    Ok(web::Json(
        event_types::set_archived(&state.db, &caller.actor, *id, false)
            .await?
            .into(),
    ))
}
