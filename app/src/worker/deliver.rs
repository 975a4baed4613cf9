//! The delivery handler: one attempt of one claimed delivery. It sends the frozen body with the
//! webhook's method, headers and signature, records the attempt, and tells the queue what
//! happened through its result:
//! - `Ok` — delivered (2xx);
//! - `RetryAfterError(d)` — the receiver asked for time (429/503 `Retry-After`, capped at 1 h);
//! - a plain error — retry on the schedule (timeouts, connection errors, other statuses,
//!   redirects, which are never followed);
//! - `AbortError` — give up: the target is a blocked address, the webhook is gone or disabled,
//!   or the endpoint answered `410 Gone` (then the webhook is disabled, with an audit row).

use std::sync::Arc;

use apalis::prelude::{AbortError, BoxDynError, Data, RetryAfterError};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use entity::{account, delivery, delivery_attempt, webhook};
use herald_jobs::queue::ClaimedDelivery;
use herald_jobs::sealed::SecretBox;
use herald_jobs::send::{Attempt, OutboundRequest, Sender, Signing, Verdict};
use herald_jobs::spec::SignatureScheme;

use crate::db::now_ms;
use crate::domain::webhooks::Webhook;

/// What every delivery needs; shared by all workers of a process.
#[derive(Clone)]
pub struct WorkerState {
    pub db: DatabaseConnection,
    pub sender: Sender,
    pub secrets: Arc<SecretBox>,
}

/// The `webhook-id` of a delivery: the same on every attempt, so receivers can deduplicate.
#[must_use]
pub fn message_id(delivery_id: i64) -> String {
    format!("msg_{delivery_id}")
}

/// Handles one claimed delivery (see the module documentation for the outcomes).
///
/// # Errors
/// As described above; database failures are plain errors, so the delivery is retried.
pub async fn deliver(task: ClaimedDelivery, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let Some(d) = delivery::Entity::find_by_id(task.id).one(&state.db).await? else {
        return Err(AbortError::new("the delivery no longer exists").into());
    };
    let Some(model) = webhook::Entity::find_by_id(d.webhook_id).one(&state.db).await? else {
        return Err(AbortError::new("the webhook was deleted").into());
    };
    if !model.enabled {
        return Err(AbortError::new("the webhook is disabled").into());
    }
    let hook = Webhook::from_model(model)?;
    let body = d.body.clone().unwrap_or_default();
    let current = hook
        .model
        .secret_sealed
        .as_deref()
        .map(|s| state.secrets.open(s))
        .transpose()?;
    let previous = match (
        hook.model.previous_secret_sealed.as_deref(),
        hook.model.previous_secret_expires_at,
    ) {
        (Some(s), Some(until)) if until > now_ms() => Some(state.secrets.open(s)?),
        _ => None,
    };
    let msg_id = message_id(d.id);
    let signing = match (hook.spec.signature_scheme, current.as_deref()) {
        (SignatureScheme::StandardWebhooks, Some(secret)) => Signing::Standard {
            msg_id: &msg_id,
            timestamp: now_ms() / 1000,
            secret,
            previous: previous.as_deref(),
        },
        (SignatureScheme::HmacSha1, Some(secret)) => Signing::HmacSha1 { secret },
        _ => Signing::None,
    };
    let request = OutboundRequest {
        url: hook.spec.url.as_str(),
        method: hook.spec.method,
        headers: &hook.spec.headers,
        body: body.as_bytes(),
        timeout: hook.spec.timeout.as_duration(),
        signing,
    };
    let attempt = state.sender.send(&request).await;
    let hipaa = account::Entity::find_by_id(d.account_id)
        .one(&state.db)
        .await?
        .is_some_and(|a| a.hipaa_mode);
    record(&state.db, &d, task.attempt, &body, &attempt, hipaa).await?;
    tracing::info!(
        delivery.id = d.id,
        delivery.attempt = task.attempt,
        webhook.id = %hook.model.public_id,
        status = ?attempt.status,
        duration_ms = attempt.duration_ms,
        "delivery attempt"
    );
    match attempt.verdict {
        Verdict::Delivered => Ok(()),
        Verdict::RetryAfter(wait) => Err(RetryAfterError::new(describe(&attempt), wait).into()),
        Verdict::Retry => Err(describe(&attempt).into()),
        Verdict::Blocked => Err(AbortError::new(describe(&attempt)).into()),
        Verdict::Gone => {
            disable_gone(&state.db, &hook).await?;
            Err(AbortError::new("the endpoint answered 410 Gone").into())
        }
    }
}

fn describe(a: &Attempt) -> String {
    match (&a.error, a.status) {
        (Some(e), _) => format!("{}: {}", e.kind.as_str(), e.message),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => "no response".to_owned(),
    }
}

/// Writes the attempt log row and the delivery's last outcome. HIPAA accounts keep no bodies.
async fn record(
    db: &DatabaseConnection,
    d: &delivery::Model,
    attempt: i32,
    body: &str,
    a: &Attempt,
    hipaa: bool,
) -> Result<(), BoxDynError> {
    let headers = |h: &[(String, String)]| serde_json::to_string(h).unwrap_or_else(|_| "[]".into());
    // One write transaction for both rows: on SQLite every commit takes the single write lock.
    let txn = crate::db::begin_write(db).await?;
    let row = delivery_attempt::ActiveModel {
        account_id: Set(d.account_id),
        delivery_id: Set(d.id),
        attempt: Set(attempt),
        trigger: Set(d.trigger.clone()),
        started_at: Set(a.started_at_ms),
        duration_ms: Set(i32::try_from(a.duration_ms).unwrap_or(i32::MAX)),
        request_headers: Set(headers(&a.request_headers)),
        request_body: Set((!hipaa).then(|| body.to_owned())),
        response_status: Set(a.status.map(i32::from)),
        response_headers: Set(Some(headers(&a.response_headers))),
        response_body: Set((!hipaa).then(|| a.response_body.clone())),
        error_kind: Set(a.error.as_ref().map(|e| e.kind.as_str().to_owned())),
        error_message: Set(a.error.as_ref().map(|e| e.message.clone())),
        ..Default::default()
    };
    delivery_attempt::Entity::insert(row)
        .exec_without_returning(&txn)
        .await?;
    let mut update = delivery::Entity::update_many()
        .col_expr(delivery::Column::LastStatus, Expr::value(a.status.map(i32::from)))
        .col_expr(
            delivery::Column::LastError,
            Expr::value(a.error.as_ref().map(|e| e.kind.as_str().to_owned())),
        )
        .filter(delivery::Column::Id.eq(d.id));
    if hipaa && a.verdict == Verdict::Delivered {
        update = update.col_expr(delivery::Column::Body, Expr::value(Option::<String>::None));
    }
    update.exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// `410 Gone` means the receiver wants no more: disable the webhook and say why.
async fn disable_gone(db: &DatabaseConnection, hook: &Webhook) -> Result<(), BoxDynError> {
    let reason = "Disabled by Herald: the endpoint answered 410 Gone. Re-enable it once the URL works again.";
    let txn = crate::db::begin_write(db).await?;
    crate::domain::webhooks::disable_by_system(&txn, &hook.model, reason).await?;
    txn.commit().await?;
    Ok(())
}
