//! The Segment-compatible endpoints (`/v1/track`, `/v1/identify`, `/v1/page`, `/v1/screen`,
//! `/v1/group`, `/v1/alias`, `/v1/batch`), authenticated by an app's write key, so the official
//! Segment SDKs work unchanged; and the request handling `/api/v1/events` shares ([`body`],
//! [`batch_items`], [`accept`]). Nothing here depends on the REST API: both use [`super::json`].

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::{Value, json};

use entity::app;

use super::AppState;
use super::error::ApiError;
use crate::domain::ingest::{self, Outcome};
use crate::domain::message::{self, Kind};
use crate::domain::{DomainError, FieldError};
use crate::timestamps::now_ms;

/// Largest request body: 500 KB (Segment's batch limit), after gzip decoding.
pub const MAX_BODY: usize = 500 * 1024;
/// Most messages in one batch.
pub const MAX_BATCH: usize = 1000;

/// Reads a body extracted with the route's size limit, turning extractor failures into JSON.
///
/// # Errors
/// 413 over [`MAX_BODY`]; 408 for a body that came too slowly; 400 for an undecodable (e.g.
/// bad gzip) body.
pub fn body(result: Result<web::Bytes, actix_web::Error>) -> Result<web::Bytes, ApiError> {
    result.map_err(|e| {
        if super::client_limits::is_timeout(&e) {
            ApiError::TooSlow(e.to_string())
        } else if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!("The request body is larger than {} KB.", MAX_BODY / 1024))
        } else {
            ApiError::BadBody {
                code: "invalid_body",
                message: format!("The request body could not be read: {e}"),
                field: None,
            }
        }
    })
}

/// Validates every message of a request, then stores them all in one transaction, counts the
/// stored events (`herald_events_ingested_total`) and wakes the workers. Any invalid message
/// refuses the whole request, naming it (`batch[3].event`).
///
/// # Errors
/// 400 naming the first bad field; 429 with `Retry-After` over the account's quota; 500 on a
/// database failure (nothing stored in any of these cases).
pub async fn accept(
    state: &AppState,
    app: &app::Model,
    raw: Vec<(String, Value)>,
    kind: Option<Kind>,
) -> Result<Outcome, ApiError> {
    if raw.len() > MAX_BATCH {
        return Err(DomainError::Invalid(vec![FieldError::new(
            "batch",
            format!("A batch holds at most {MAX_BATCH} messages."),
        )])
        .into());
    }
    let received = now_ms();
    let messages = raw
        .into_iter()
        .map(|(prefix, m)| message::parse(m, kind, &prefix, received))
        .collect::<Result<Vec<_>, FieldError>>()
        .map_err(|e| DomainError::Invalid(vec![e]))?;
    state
        .quota
        .take(app.account_id, messages.len())
        .map_err(|wait| ApiError::OverQuota { retry_after: wait })?;
    let outcome = state
        .ingestor
        .submit(ingest::Job {
            app: app.clone(),
            messages,
        })
        .await?;
    metrics::counter!(crate::metrics::EVENTS_INGESTED).increment(outcome.accepted as u64);
    if outcome.deliveries > 0 {
        state.queue.wake();
    }
    Ok(outcome)
}

/// The write key from HTTP Basic auth (user = key, password empty) or the body's `writeKey`.
fn write_key(req: &HttpRequest, body: &Value) -> Option<String> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .map(|userpass| userpass.split(':').next().unwrap_or_default().to_owned())
        .filter(|k| !k.is_empty());
    basic.or_else(|| body.get("writeKey").and_then(Value::as_str).map(str::to_owned))
}

async fn segment(
    req: HttpRequest,
    state: web::Data<AppState>,
    bytes: Result<web::Bytes, actix_web::Error>,
    kind: Option<Kind>,
) -> Result<HttpResponse, ApiError> {
    let bytes = body(bytes)?;
    let value: Value = super::json::parse_json(&bytes)?;
    let key = write_key(&req, &value).ok_or_else(|| {
        DomainError::Unauthorized(
            "Send the app's write key as the HTTP Basic username, or as writeKey in the body.".into(),
        )
    })?;
    let app = ingest::app_by_write_key(&state.db, &state.credentials, &key)
        .await?
        .ok_or_else(|| DomainError::Unauthorized("Unknown write key.".into()))?;
    let raw = match kind {
        Some(_) => vec![(String::new(), value)],
        None => batch_items(value)?,
    };
    accept(&state, &app, raw, kind).await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true })))
}

/// The messages of a `{"batch": [...]}` body, each named `batch[i]` for errors. Top-level
/// `context` is merged under each message's own, as Segment does.
///
/// # Errors
/// 400 when `batch` is missing or not an array.
pub fn batch_items(value: Value) -> Result<Vec<(String, Value)>, ApiError> {
    let Value::Object(mut obj) = value else {
        return Err(DomainError::invalid("batch", "The body must be a JSON object with a batch array.").into());
    };
    let shared_context = obj.remove("context");
    let Some(Value::Array(items)) = obj.remove("batch") else {
        return Err(DomainError::invalid("batch", "batch must be an array of messages.").into());
    };
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            if let (Some(Value::Object(shared)), Value::Object(msg)) = (&shared_context, &mut m) {
                let ctx = msg
                    .entry("context")
                    .or_insert_with(|| Value::Object(serde_json::Map::new()));
                if let Value::Object(ctx) = ctx {
                    for (k, v) in shared {
                        ctx.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            (format!("batch[{i}]"), m)
        })
        .collect())
}

#[tracing::instrument(skip_all)]
pub async fn track(
    req: HttpRequest,
    state: web::Data<AppState>,
    b: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    segment(req, state, b, Some(Kind::Track)).await
}
#[tracing::instrument(skip_all)]
pub async fn identify(
    req: HttpRequest,
    state: web::Data<AppState>,
    b: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    segment(req, state, b, Some(Kind::Identify)).await
}
#[tracing::instrument(skip_all)]
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    b: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    segment(req, state, b, Some(Kind::Page)).await
}
#[tracing::instrument(skip_all)]
pub async fn screen(
    req: HttpRequest,
    state: web::Data<AppState>,
    b: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    segment(req, state, b, Some(Kind::Screen)).await
}
#[tracing::instrument(skip_all)]
pub async fn group(
    req: HttpRequest,
    state: web::Data<AppState>,
    b: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    segment(req, state, b, Some(Kind::Group)).await
}
#[tracing::instrument(skip_all)]
pub async fn alias(
    req: HttpRequest,
    state: web::Data<AppState>,
    b: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    segment(req, state, b, Some(Kind::Alias)).await
}
#[tracing::instrument(skip_all)]
pub async fn batch(
    req: HttpRequest,
    state: web::Data<AppState>,
    b: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    segment(req, state, b, None).await
}
