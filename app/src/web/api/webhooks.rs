//! `/api/v1/webhooks`: the same domain functions as Settings → Webhooks.

use actix_web::{HttpResponse, delete, get, patch, post, web};

use super::webhook_json::{CreatedWebhookOut, RotateIn, SecretOut, WebhookIn, WebhookOut};
use super::{Caller, ErrorBody, ListOut, ListQuery};
use crate::domain::webhooks::{self, WebhookInput};
use crate::domain::{DomainError, FieldError};
use crate::timestamps::rfc3339;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::json::{ApiJson, parse_json};

fn required(field: &str, value: Option<&String>) -> Result<(), ApiError> {
    if value.is_some() {
        Ok(())
    } else {
        Err(DomainError::Invalid(vec![FieldError::new(field, format!("{field} is required."))]).into())
    }
}

/// The account's webhooks, newest first.
#[utoipa::path(tag = "webhooks", params(ListQuery), responses(
    (status = 200, body = ListOut<WebhookOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/webhooks")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> Result<web::Json<ListOut<WebhookOut>>, ApiError> {
    let page = webhooks::list(&state.db, caller.account_id(), q.page()?).await?;
    Ok(web::Json(ListOut::from_page(page, WebhookOut::from)))
}

/// Create a webhook (enabled). Unset fields take the form's defaults: POST, track events,
/// event format, 5 s timeout, Standard Webhooks signature with a generated secret.
#[utoipa::path(tag = "webhooks", request_body = WebhookIn, responses(
    (status = 201, body = CreatedWebhookOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[post("/webhooks")]
#[tracing::instrument(skip_all)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<WebhookIn>,
) -> Result<HttpResponse, ApiError> {
    required("name", body.0.name.as_ref())?;
    required("url", body.0.url.as_ref())?;
    let defaults = WebhookInput {
        event_types: vec!["track".into()],
        ..WebhookInput::default()
    };
    let input = body.0.apply(defaults)?;
    let created = webhooks::create(&state.db, &state.secrets, &caller.actor, &input).await?;
    Ok(HttpResponse::Created().json(CreatedWebhookOut {
        webhook: created.webhook.into(),
        secret: created.secret,
    }))
}

/// One webhook.
#[utoipa::path(tag = "webhooks", params(("id" = String, Path)), responses(
    (status = 200, body = WebhookOut), (status = 404, body = ErrorBody)))]
#[get("/webhooks/{id}")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<WebhookOut>, ApiError> {
    Ok(web::Json(
        webhooks::get(&state.db, caller.account_id(), &id).await?.into(),
    ))
}

/// Change some fields; the rest stay as they are. Validated exactly like a create.
#[utoipa::path(tag = "webhooks", params(("id" = String, Path)), request_body = WebhookIn, responses(
    (status = 200, body = WebhookOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[patch("/webhooks/{id}")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<WebhookIn>,
) -> Result<web::Json<WebhookOut>, ApiError> {
    if body.0.secret.is_some() {
        return Err(DomainError::invalid("secret", "Change the secret with POST /webhooks/{id}/rotate-secret.").into());
    }
    let current = webhooks::get(&state.db, caller.account_id(), &id).await?;
    let input = body.0.apply(current.spec.to_input())?;
    Ok(web::Json(
        webhooks::update(&state.db, &caller.actor, &id, &input).await?.into(),
    ))
}

/// Delete a webhook; its history stays in the audit log.
#[utoipa::path(tag = "webhooks", params(("id" = String, Path)), responses(
    (status = 204), (status = 404, body = ErrorBody)))]
#[delete("/webhooks/{id}")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    webhooks::delete(&state.db, &caller.actor, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Turn delivery on.
#[utoipa::path(tag = "webhooks", params(("id" = String, Path)), responses(
    (status = 200, body = WebhookOut), (status = 404, body = ErrorBody)))]
#[post("/webhooks/{id}/enable")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn enable(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<WebhookOut>, ApiError> {
    Ok(web::Json(
        webhooks::set_enabled(&state.db, &caller.actor, &id, true).await?.into(),
    ))
}

/// Turn delivery off.
#[utoipa::path(tag = "webhooks", params(("id" = String, Path)), responses(
    (status = 200, body = WebhookOut), (status = 404, body = ErrorBody)))]
#[post("/webhooks/{id}/disable")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn disable(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<WebhookOut>, ApiError> {
    Ok(web::Json(
        webhooks::set_enabled(&state.db, &caller.actor, &id, false)
            .await?
            .into(),
    ))
}

/// Replace the secret; the previous one keeps signing a second signature for 24 hours.
#[utoipa::path(tag = "webhooks", params(("id" = String, Path)), request_body(content = RotateIn, description = "optional"), responses(
    (status = 200, body = SecretOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/webhooks/{id}/rotate-secret")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<web::Json<SecretOut>, ApiError> {
    let input: RotateIn = if body.iter().all(u8::is_ascii_whitespace) {
        RotateIn::default()
    } else {
        parse_json(&body)?
    };
    webhooks::rotate_secret(&state.db, &state.secrets, &caller.actor, &id, input.secret.as_deref()).await?;
    secret_out(&state, &caller, &id).await
}

/// The webhook's secret in clear (needs the `write` scope, like changing it).
#[utoipa::path(tag = "webhooks", params(("id" = String, Path)), responses(
    (status = 200, body = SecretOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/webhooks/{id}/secret")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<SecretOut>, ApiError> {
    secret_out(&state, &caller, &id).await
}

async fn secret_out(state: &AppState, caller: &Caller, id: &str) -> Result<web::Json<SecretOut>, ApiError> {
    let s = webhooks::reveal_secret(&state.db, &state.secrets, caller.account_id(), id).await?;
    Ok(web::Json(SecretOut {
        secret: s.current,
        previous_secret_expires_at: s.previous.as_ref().map(|(_, until)| rfc3339(*until)),
        previous_secret: s.previous.map(|(p, _)| p),
    }))
}
