//! `POST /api/v1/events`: ingest with an `ingest` token.

use actix_web::{HttpResponse, post, web};
use serde::Serialize;
use serde_json::Value;

use super::{Caller, ErrorBody};
use crate::domain::ingest::app_for_token;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::ingest::{accept, batch_items, body};
use crate::web::json::parse_json;

/// What was stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestOut {
    /// Messages stored now.
    accepted: usize,
    /// Messages whose `messageId` was already received from this app: acknowledged, not stored again.
    duplicates: usize,
}

/// Send one Segment-spec event, or `{"batch": [...]}` of up to 1000 (500 KB per request,
/// 32 KB per event). The whole request is stored in one transaction before the answer; any
/// invalid event refuses the whole request, naming it (`batch[3].event`).
#[utoipa::path(tag = "events", request_body(content = Object, description = "A Segment-spec event or {\"batch\": [...]}"), responses(
    (status = 202, body = IngestOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
    (status = 429, description = "Over the account's events-per-second quota; retry after `Retry-After` seconds", body = ErrorBody)))]
#[post("/events")]
#[tracing::instrument(skip_all)]
pub async fn ingest(
    state: web::Data<AppState>,
    caller: Caller,
    bytes: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let bytes = body(bytes)?;
    let value: Value = parse_json(&bytes)?;
    let app = app_for_token(&state.db, &state.credentials, &caller.token).await?;
    let raw = if value.get("batch").is_some() {
        batch_items(value)?
    } else {
        vec![(String::new(), value)]
    };
    let outcome = accept(&state, &app, raw, None).await?;
    Ok(HttpResponse::Accepted().json(IngestOut {
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
    }))
}
