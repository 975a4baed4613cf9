//! The delivery handler: one attempt of one claimed delivery. It sends the frozen body (read by
//! the claim) with the webhook's method, headers and signature, has the attempt logged (the log
//! row is committed before the queue hears the outcome), and tells the queue what happened
//! through its result:
//! - `Ok` — delivered (2xx);
//! - `RetryAfterError(d)` — the receiver asked for time (429/503 `Retry-After`, capped at 1 h);
//! - a plain error — retry on the schedule (timeouts, connection errors, other statuses,
//!   redirects, which are never followed);
//! - `AbortError` — give up: the target is a blocked address, the webhook is gone or disabled,
//!   or the endpoint answered `410 Gone` (then the webhook is disabled, with an audit row).

use std::sync::Arc;

use apalis::prelude::{AbortError, BoxDynError, Data, RetryAfterError};
use sea_orm::{DatabaseConnection, EntityTrait};

use entity::webhook;
use herald_jobs::queue::ClaimedDelivery;
use herald_jobs::sealed::SecretBox;
use herald_jobs::send::{Attempt, OutboundRequest, Sender, Signing, Verdict};
use herald_jobs::spec::SignatureScheme;

use super::record::{AttemptLog, AttemptRecord};
use crate::db::now_ms;
use crate::domain::webhooks::Webhook;

/// What every delivery needs; shared by all workers of a process.
#[derive(Clone)]
pub struct WorkerState {
    pub db: DatabaseConnection,
    pub sender: Sender,
    pub secrets: Arc<SecretBox>,
    /// Writes the attempt log rows.
    pub log: AttemptLog,
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
    let Some(model) = webhook::Entity::find_by_id(task.webhook_id).one(&state.db).await? else {
        return Err(AbortError::new("the webhook was deleted").into());
    };
    if !model.enabled {
        return Err(AbortError::new("the webhook is disabled").into());
    }
    let hook = Webhook::from_model(model)?;
    let body = task.body.as_deref().unwrap_or_default();
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
    let msg_id = message_id(task.id);
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
    state.log.submit(record(&task, body, &attempt)).await?;
    tracing::info!(
        delivery.id = task.id,
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

/// The log row of `a`, the attempt `task.attempt` of `task`.
fn record(task: &ClaimedDelivery, body: &str, a: &Attempt) -> AttemptRecord {
    let headers = |h: &[(String, String)]| serde_json::to_string(h).unwrap_or_else(|_| "[]".into());
    AttemptRecord {
        account_id: task.account_id,
        delivery_id: task.id,
        attempt: task.attempt,
        trigger: task.trigger.clone(),
        started_at: a.started_at_ms,
        duration_ms: i32::try_from(a.duration_ms).unwrap_or(i32::MAX),
        request_headers: headers(&a.request_headers),
        request_body: body.to_owned(),
        response_status: a.status.map(i32::from),
        response_headers: headers(&a.response_headers),
        response_body: a.response_body.clone(),
        error_kind: a.error.as_ref().map(|e| e.kind.as_str().to_owned()),
        error_message: a.error.as_ref().map(|e| e.message.clone()),
        delivered: a.verdict == Verdict::Delivered,
    }
}

/// `410 Gone` means the receiver wants no more: disable the webhook and say why.
async fn disable_gone(db: &DatabaseConnection, hook: &Webhook) -> Result<(), BoxDynError> {
    let reason = "Disabled by Herald: the endpoint answered 410 Gone. Re-enable it once the URL works again.";
    let txn = crate::db::begin_write(db).await?;
    crate::domain::webhooks::disable_by_system(&txn, &hook.model, reason).await?;
    txn.commit().await?;
    Ok(())
}
