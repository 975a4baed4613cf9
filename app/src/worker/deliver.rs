//! The delivery handler: one attempt of one claimed delivery. It sends the frozen body (read by
//! the claim) to the webhook's current version (from the process's [`WebhookCache`]), signed,
//! and reports what happened as an [`Outcome`]; the queue's settle layer records the attempt
//! and the delivery's next state in one commit (see `herald_jobs::queue::attempt` for the policy).
//! A `410 Gone` also disables the webhook here, with an audit row.

use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use sea_orm::{DatabaseConnection, QuerySelect};

use entity::tenant::AccountScoped;
use entity::webhook;
use herald_jobs::queue::ClaimedDelivery;
use herald_jobs::queue::attempt::Outcome;
use herald_jobs::send::{OutboundRequest, Sender, Verdict};

use super::webhooks::WebhookCache;
use crate::timestamps::now_ms;

/// What every delivery needs; shared by all workers of a process.
#[derive(Clone)]
pub struct WorkerState {
    /// The shared pool (webhook reads, the `410 Gone` disable).
    pub db: DatabaseConnection,
    pub sender: Sender,
    pub webhooks: Arc<WebhookCache>,
}

/// The `webhook-id` of a delivery: the same on every attempt, so receivers can deduplicate.
#[must_use]
pub fn message_id(delivery_id: i64) -> String {
    format!("msg_{delivery_id}")
}

/// Makes one attempt of `task`.
///
/// # Errors
/// The webhook could not be read or decoded: nothing was sent; the attempt is recorded as
/// `internal` and retried on the schedule.
pub async fn deliver(task: ClaimedDelivery, state: Data<WorkerState>) -> Result<Outcome, BoxDynError> {
    const DELETED: &str = "the webhook was deleted";
    let Some(version) = task.webhook_version else {
        return Ok(Outcome::Cancelled(DELETED));
    };
    let Some(target) = state.webhooks.get(task.webhook_id, version).await? else {
        return Ok(Outcome::Cancelled(DELETED));
    };
    if !target.model.enabled {
        return Ok(Outcome::Cancelled("the webhook is disabled"));
    }
    let msg_id = message_id(task.id);
    let request = OutboundRequest {
        url: &target.url,
        method: target.method,
        headers: &target.headers,
        body: task.body.as_deref().unwrap_or_default().as_bytes(),
        timeout: target.timeout,
        signing: target.signing(&msg_id, now_ms()),
    };
    let attempt = state.sender.send(&request).await;
    tracing::debug!(
        delivery.id = task.id,
        delivery.attempt = task.attempt,
        webhook.id = %target.model.public_id,
        status = ?attempt.status,
        duration_ms = attempt.duration_ms,
        "delivery attempt"
    );
    if attempt.verdict == Verdict::Gone
        && let Err(e) = disable_gone(&state.db, &target.model).await
    {
        // The attempt is still recorded; the next 410 disables it.
        tracing::warn!(error = %e, webhook.id = %target.model.public_id, "disabling a webhook after 410 Gone failed");
    }
    Ok(Outcome::Sent(Box::new(attempt)))
}

/// `410 Gone` means the receiver wants no more: disable the webhook and say why. Re-read under
/// the write lock (the row locked on PostgreSQL), so the several 410s of the deliveries in
/// flight disable it (and tell its subscribers) once.
async fn disable_gone(db: &DatabaseConnection, hook: &webhook::Model) -> Result<(), BoxDynError> {
    let reason = "Disabled by Herald: the endpoint answered 410 Gone. Re-enable it once the URL works again.";
    let txn = crate::db::begin_write(db).await?;
    let current = webhook::Entity::find_by_id_in(hook.account_id, hook.id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    if let Some(current) = current.filter(|w| w.enabled) {
        crate::domain::webhooks::disable_by_system(&txn, &current, reason).await?;
    }
    txn.commit().await?;
    Ok(())
}
