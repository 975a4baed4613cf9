//! Delivery history and the tenant's fixes: list and read deliveries with their attempts, retry
//! one, replay every failure since a time, and send a test. Every read filters by account, so
//! another account's delivery is simply not found.
//!
//! Retry and replay make the row due again (`pending`, lane 0, due now) and mark it `manual`,
//! so the attempts that follow are logged with `trigger = manual`. `attempts` keeps counting
//! from where it was (it equals the attempt rows), and since the retry schedule is indexed by
//! it, a hand-made retry of an exhausted delivery is a single attempt (it is retried again by
//! hand, not on the schedule).

mod chart;
mod filter;
mod health;
mod log;
mod maintenance;
mod overview;
mod sample;
mod stage;

pub use chart::{Bucket, Range, Scope, series};
pub use filter::{Filter, RawFilter, parse_time};
pub use health::{Health, LastError, State, Summary, Window, health, summaries};
pub use log::{Row, list as log};
pub use maintenance::{auto_disable, purge_old};
pub use overview::{Overview, overview};
pub use sample::{TestOutcome, send_test, test_outcome};
pub use stage::{Stage, next_attempt};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;

use entity::delivery::DeliveryStatus;
use entity::tenant::AccountScoped;
use entity::{audit_log, delivery, delivery_attempt};
use herald_jobs::queue::DeliveryQueue;

use super::audit::{self, Actor, Entry};
use super::page::{Page, PageRequest};
use super::webhooks::{self, Webhook};
use super::{DomainError, DomainResult};
use crate::db::begin_write;
use crate::timestamps::now_ms;
use crate::timestamps::rfc3339;

/// The statuses nothing happens to on its own: what replay and retention work on.
const FINAL: [DeliveryStatus; 3] = [
    DeliveryStatus::Succeeded,
    DeliveryStatus::Failed,
    DeliveryStatus::Cancelled,
];

/// One page of a webhook's deliveries, newest first (the log, limited to that webhook).
///
/// # Errors
/// `NotFound` for another account's webhook.
pub async fn list(
    conn: &impl ConnectionTrait,
    account_id: i64,
    webhook_public_id: &str,
    filter: &Filter,
    req: PageRequest,
) -> DomainResult<Page<log::Row>> {
    webhooks::get(conn, account_id, webhook_public_id).await?;
    let filter = Filter {
        webhook: Some(webhook_public_id.to_owned()),
        ..filter.clone()
    };
    log::list(conn, account_id, &filter, req).await
}

/// A delivery with its webhook and every attempt, oldest attempt first.
#[derive(Debug, Clone)]
pub struct Detail {
    pub delivery: delivery::Model,
    pub webhook: Webhook,
    pub attempts: Vec<delivery_attempt::Model>,
}

async fn find(conn: &impl ConnectionTrait, account_id: i64, id: i64) -> DomainResult<delivery::Model> {
    delivery::Entity::find_by_id_in(account_id, id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)
}

async fn webhook_of(conn: &impl ConnectionTrait, d: &delivery::Model) -> DomainResult<Webhook> {
    let model = entity::webhook::Entity::find_by_id_in(d.account_id, d.webhook_id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)?;
    Webhook::from_model(model)
}

/// One delivery of the account with its attempts.
///
/// # Errors
/// `NotFound` when it belongs to another account or does not exist.
pub async fn get(conn: &impl ConnectionTrait, account_id: i64, id: i64) -> DomainResult<Detail> {
    let d = find(conn, account_id, id).await?;
    let webhook = webhook_of(conn, &d).await?;
    let attempts = delivery_attempt::Entity::find_in(account_id)
        .filter(delivery_attempt::Column::DeliveryId.eq(d.id))
        .order_by_asc(delivery_attempt::Column::Id)
        .all(conn)
        .await?;
    Ok(Detail {
        delivery: d,
        webhook,
        attempts,
    })
}

fn refuse_unless_sendable(hook: &Webhook) -> DomainResult<()> {
    if hook.model.enabled {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "webhook",
            "This webhook is disabled. Enable it first, then send again.",
        ))
    }
}

/// Makes the account's rows due now as manual sends: the shared update of retry and replay.
fn requeue(account_id: i64, now: i64) -> sea_orm::UpdateMany<delivery::Entity> {
    delivery::Entity::update_many_in(account_id)
        .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Pending))
        .col_expr(delivery::Column::Lane, Expr::value(0))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(delivery::Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .col_expr(delivery::Column::Trigger, Expr::value("manual"))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
}

async fn notify(conn: &impl ConnectionTrait) -> DomainResult<()> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_unprepared(herald_jobs::queue::notify_sql()).await?;
    }
    Ok(())
}

/// Sends one delivery again now (returning it as it now is), whatever its status, except while it is being sent
/// (`in_flight`) or is a batch still collecting. The next attempt is logged as `manual`.
///
/// # Errors
/// `NotFound`; `Invalid` when it is in flight or collecting, its body was purged, or the
/// webhook is disabled.
pub async fn retry(db: &DatabaseConnection, queue: &DeliveryQueue, actor: &Actor, id: i64) -> DomainResult<Detail> {
    let txn = begin_write(db).await?;
    let d = find(&txn, actor.account_id, id).await?;
    if matches!(d.status, DeliveryStatus::InFlight | DeliveryStatus::Collecting) {
        return Err(DomainError::invalid(
            "delivery",
            "This delivery is being sent right now; retry it once this attempt has finished.",
        ));
    }
    if d.body.is_none() {
        return Err(DomainError::invalid(
            "delivery",
            "This delivery's body is no longer kept (retention or HIPAA mode), so it cannot be sent again.",
        ));
    }
    let hook = webhook_of(&txn, &d).await?;
    refuse_unless_sendable(&hook)?;
    let now = now_ms();
    requeue(actor.account_id, now)
        .filter(delivery::Column::Id.eq(d.id))
        .filter(delivery::Column::Status.is_not_in([DeliveryStatus::InFlight, DeliveryStatus::Collecting]))
        .exec(&txn)
        .await?;
    let entry = Entry {
        action: "delivery.retried",
        target_type: "delivery",
        target_id: Some(d.id.to_string()),
        target_label: d.event_name.clone().unwrap_or_else(|| format!("delivery {}", d.id)),
        // Only what changed: a retrying delivery becomes due now (`retrying` → `pending`); one
        // already pending only has its next attempt moved to now.
        diff: audit::diff(
            &json!({ "status": Stage::of(&d).as_str(), "next_attempt_at": rfc3339(d.next_attempt_at) }),
            &json!({ "status": Stage::Pending.as_str(), "next_attempt_at": rfc3339(now) }),
            &[],
        ),
    };
    audit::record(&txn, actor, entry).await?;
    notify(&txn).await?;
    let updated = get(&txn, actor.account_id, id).await?;
    txn.commit().await?;
    queue.wake();
    Ok(updated)
}

/// What a replay sends again (within the webhook's account): the webhook's deliveries created at or after `since` that failed,
/// and with `include_retrying` those waiting for a retry too (sent now instead of later).
fn replayable(hook: &Webhook, since: i64, include_retrying: bool) -> sea_orm::Condition {
    let mut stages = sea_orm::Condition::any().add(Stage::Failed.condition());
    if include_retrying {
        stages = stages.add(Stage::Retrying.condition());
    }
    sea_orm::Condition::all()
        .add(delivery::Column::WebhookId.eq(hook.model.id))
        .add(stages)
        .add(delivery::Column::CreatedAt.gte(since))
        .add(delivery::Column::Body.is_not_null())
}

/// How many deliveries a replay since `since` would send again (what the confirmation page
/// shows): see [`replay`].
///
/// # Errors
/// `NotFound` for another account's webhook.
pub async fn replay_count(
    conn: &impl ConnectionTrait,
    account_id: i64,
    webhook_public_id: &str,
    since: i64,
    include_retrying: bool,
) -> DomainResult<u64> {
    let hook = webhooks::get(conn, account_id, webhook_public_id).await?;
    Ok(delivery::Entity::find_in(account_id)
        .filter(replayable(&hook, since, include_retrying))
        .count(conn)
        .await?)
}

/// Sends again now, in one transaction, every `failed` delivery of the webhook created at or
/// after `since` (and, with `include_retrying`, every one waiting for a retry); returns how many. The audit row `webhook.replayed` records the count and is what
/// [`replay_progress`] measures against.
///
/// # Errors
/// `NotFound`; `Invalid` when the webhook is disabled.
pub async fn replay(
    db: &DatabaseConnection,
    queue: &DeliveryQueue,
    actor: &Actor,
    webhook_public_id: &str,
    since: i64,
    include_retrying: bool,
) -> DomainResult<u64> {
    let txn = begin_write(db).await?;
    let hook = webhooks::get(&txn, actor.account_id, webhook_public_id).await?;
    refuse_unless_sendable(&hook)?;
    let count = requeue(actor.account_id, now_ms())
        .filter(replayable(&hook, since, include_retrying))
        .exec(&txn)
        .await?
        .rows_affected;
    let entry = Entry {
        action: "webhook.replayed",
        target_type: "webhook",
        target_id: Some(hook.model.public_id.clone()),
        target_label: hook.model.name.clone(),
        diff: json!({
            "since": { "before": null, "after": rfc3339(since) },
            "count": { "before": null, "after": count },
            "include_retrying": { "before": null, "after": include_retrying },
        }),
    };
    audit::record(&txn, actor, entry).await?;
    if count > 0 {
        notify(&txn).await?;
    }
    txn.commit().await?;
    queue.wake();
    Ok(count)
}

/// How far the latest replay of a webhook has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// When it started (unix ms).
    pub started_at: i64,
    /// Deliveries it sent again.
    pub total: u64,
    /// Of those, how many have finished (succeeded, failed again or cancelled).
    pub done: u64,
}

/// The latest replay's progress: manual deliveries of the webhook touched since the replay and
/// no longer queued or in flight, capped at the replay's count (a single retry during a replay
/// may be counted among them: the figure is a progress bar, not a ledger).
///
/// # Errors
/// `NotFound` for another account's webhook.
pub async fn replay_progress(
    conn: &impl ConnectionTrait,
    account_id: i64,
    webhook_public_id: &str,
) -> DomainResult<Option<Progress>> {
    let hook = webhooks::get(conn, account_id, webhook_public_id).await?;
    let Some(row) = audit_log::Entity::find_in(account_id)
        .filter(audit_log::Column::TargetType.eq("webhook"))
        .filter(audit_log::Column::TargetId.eq(hook.model.public_id.as_str()))
        .filter(audit_log::Column::Action.eq("webhook.replayed"))
        .order_by_desc(audit_log::Column::Id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let diff: serde_json::Value = super::stored_json::parse("audit_log.diff", row.id, &row.diff)?;
    let total = diff["count"]["after"].as_u64().unwrap_or(0);
    let done = delivery::Entity::find_in(account_id)
        .filter(delivery::Column::WebhookId.eq(hook.model.id))
        .filter(delivery::Column::Trigger.eq("manual"))
        .filter(delivery::Column::UpdatedAt.gte(row.created_at))
        .filter(delivery::Column::Status.is_in(FINAL))
        .count(conn)
        .await?;
    Ok(Some(Progress {
        started_at: row.created_at,
        total,
        done: done.min(total),
    }))
}
