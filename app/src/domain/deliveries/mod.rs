//! Delivery history and the tenant's fixes: list and read deliveries with their attempts, retry
//! one, replay every failure since a time, and send a test. Every read filters by account, so
//! another account's delivery is simply not found.
//!
//! Retry and replay make the row due again (`pending`, lane 0, due now) and mark it `manual`,
//! so the attempts that follow are logged with `trigger = manual`. `attempts` keeps counting
//! from where it was (it equals the attempt rows), and since the retry schedule is indexed by
//! it, a hand-made retry of an exhausted delivery is a single attempt (it is retried again by
//! hand, not on the schedule).

mod health;
mod maintenance;
mod sample;

pub use health::{Health, Window, health};
pub use maintenance::{auto_disable, purge_old};
pub use sample::{TestOutcome, send_test, test_outcome};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use entity::delivery::DeliveryStatus;
use entity::{audit_log, delivery, delivery_attempt};
use herald_jobs::queue::DeliveryQueue;

use super::audit::{self, Actor, Entry};
use super::page::{Page, PageRequest};
use super::webhooks::{self, Webhook};
use super::{DomainError, DomainResult};
use crate::db::{begin_write, now_ms};
use crate::web::format::rfc3339;

/// The statuses nothing happens to on its own: what replay and retention work on.
const FINAL: [DeliveryStatus; 3] = [
    DeliveryStatus::Succeeded,
    DeliveryStatus::Failed,
    DeliveryStatus::Cancelled,
];

/// Which deliveries a list shows. Build it with [`Filter::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<DeliveryStatus>,
    /// Exact event name.
    pub event: Option<String>,
    /// Created at or after (unix ms).
    pub since: Option<i64>,
    /// Created before (unix ms).
    pub until: Option<i64>,
}

impl Filter {
    /// Parses filter parameters as sent by the API (`since`/`until` in RFC 3339) or the
    /// dashboard (a `datetime-local` value, read as UTC). Blank values mean "no filter".
    ///
    /// # Errors
    /// `Invalid` naming `status`, `since` or `until`.
    pub fn parse(
        status: Option<&str>,
        event: Option<&str>,
        since: Option<&str>,
        until: Option<&str>,
    ) -> DomainResult<Self> {
        let status = match blank(status) {
            None => None,
            Some(s) => match DeliveryStatus::parse(s) {
                Some(status) => Some(status),
                None => {
                    let all: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
                    return Err(DomainError::invalid(
                        "status",
                        format!("“{s}” is not a delivery status; use one of {}.", all.join(", ")),
                    ));
                }
            },
        };
        Ok(Self {
            status,
            event: blank(event).map(str::to_owned),
            since: blank(since).map(|v| parse_time("since", v)).transpose()?,
            until: blank(until).map(|v| parse_time("until", v)).transpose()?,
        })
    }
}

fn blank(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Parses an RFC 3339 time, or a `YYYY-MM-DDTHH:MM[:SS]` one without offset (taken as UTC, as
/// browsers send `datetime-local` fields), into unix ms.
///
/// # Errors
/// `Invalid` on `field`.
pub fn parse_time(field: &str, raw: &str) -> DomainResult<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let raw = raw.trim();
    let parsed = time::OffsetDateTime::parse(raw, &Rfc3339).ok().or_else(|| {
        time::PrimitiveDateTime::parse(
            raw,
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
        .or_else(|_| time::PrimitiveDateTime::parse(raw, format_description!("[year]-[month]-[day]T[hour]:[minute]")))
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
    });
    parsed
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        .ok_or_else(|| {
            DomainError::invalid(
                field,
                format!("{field} must be a time such as 2026-11-26T08:00:00Z (RFC 3339)."),
            )
        })
}

/// One page of a webhook's deliveries, newest first.
///
/// # Errors
/// `NotFound` for another account's webhook.
pub async fn list(
    conn: &impl ConnectionTrait,
    account_id: i64,
    webhook_public_id: &str,
    filter: &Filter,
    req: PageRequest,
) -> DomainResult<Page<delivery::Model>> {
    let hook = webhooks::get(conn, account_id, webhook_public_id).await?;
    let mut q = delivery::Entity::find()
        .filter(delivery::Column::AccountId.eq(account_id))
        .filter(delivery::Column::WebhookId.eq(hook.model.id));
    if let Some(s) = filter.status {
        q = q.filter(delivery::Column::Status.eq(s));
    }
    if let Some(e) = &filter.event {
        q = q.filter(delivery::Column::EventName.eq(e.as_str()));
    }
    if let Some(t) = filter.since {
        q = q.filter(delivery::Column::CreatedAt.gte(t));
    }
    if let Some(t) = filter.until {
        q = q.filter(delivery::Column::CreatedAt.lt(t));
    }
    Ok(crate::domain::page::fetch(conn, q, delivery::Column::Id, req, |d| d.id).await?)
}

/// A delivery with its webhook and every attempt, oldest attempt first.
#[derive(Debug, Clone)]
pub struct Detail {
    pub delivery: delivery::Model,
    pub webhook: Webhook,
    pub attempts: Vec<delivery_attempt::Model>,
}

async fn find(conn: &impl ConnectionTrait, account_id: i64, id: i64) -> DomainResult<delivery::Model> {
    delivery::Entity::find_by_id(id)
        .filter(delivery::Column::AccountId.eq(account_id))
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)
}

async fn webhook_of(conn: &impl ConnectionTrait, d: &delivery::Model) -> DomainResult<Webhook> {
    let model = entity::webhook::Entity::find_by_id(d.webhook_id)
        .filter(entity::webhook::Column::AccountId.eq(d.account_id))
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
    let attempts = delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::AccountId.eq(account_id))
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

/// Makes rows due now as manual sends: the shared update of retry and replay.
fn requeue(now: i64) -> sea_orm::UpdateMany<delivery::Entity> {
    delivery::Entity::update_many()
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
    requeue(now)
        .filter(delivery::Column::Id.eq(d.id))
        .filter(delivery::Column::Status.is_not_in([DeliveryStatus::InFlight, DeliveryStatus::Collecting]))
        .exec(&txn)
        .await?;
    let entry = Entry {
        action: "delivery.retried",
        target_type: "delivery",
        target_id: Some(d.id.to_string()),
        target_label: d.event_name.clone().unwrap_or_else(|| format!("delivery {}", d.id)),
        // Only what changed: retrying a delivery that is waiting for its next attempt moves
        // that attempt to now and leaves its status as it was.
        diff: audit::diff(
            &json!({ "status": d.status, "next_attempt_at": rfc3339(d.next_attempt_at) }),
            &json!({ "status": DeliveryStatus::Pending, "next_attempt_at": rfc3339(now) }),
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

fn failed_since(hook: &Webhook, since: i64) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(delivery::Column::AccountId.eq(hook.model.account_id))
        .add(delivery::Column::WebhookId.eq(hook.model.id))
        .add(delivery::Column::Status.eq(DeliveryStatus::Failed))
        .add(delivery::Column::CreatedAt.gte(since))
        .add(delivery::Column::Body.is_not_null())
}

/// How many deliveries a replay since `since` would send again: the webhook's `failed`
/// deliveries created at or after `since` (what the confirmation page shows).
///
/// # Errors
/// `NotFound` for another account's webhook.
pub async fn replay_count(
    conn: &impl ConnectionTrait,
    account_id: i64,
    webhook_public_id: &str,
    since: i64,
) -> DomainResult<u64> {
    let hook = webhooks::get(conn, account_id, webhook_public_id).await?;
    Ok(delivery::Entity::find()
        .filter(failed_since(&hook, since))
        .count(conn)
        .await?)
}

/// Sends again, in one transaction, every `failed` delivery of the webhook created at or after
/// `since`; returns how many. The audit row `webhook.replayed` records the count and is what
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
) -> DomainResult<u64> {
    let txn = begin_write(db).await?;
    let hook = webhooks::get(&txn, actor.account_id, webhook_public_id).await?;
    refuse_unless_sendable(&hook)?;
    let count = requeue(now_ms())
        .filter(failed_since(&hook, since))
        .exec(&txn)
        .await?
        .rows_affected;
    let entry = Entry {
        action: "webhook.replayed",
        target_type: "webhook",
        target_id: Some(hook.model.public_id.clone()),
        target_label: hook.model.name.clone(),
        diff: json!({
            "since": { "before": null, "after": crate::web::format::rfc3339(since) },
            "count": { "before": null, "after": count },
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
    let Some(row) = audit_log::Entity::find()
        .filter(audit_log::Column::AccountId.eq(account_id))
        .filter(audit_log::Column::TargetType.eq("webhook"))
        .filter(audit_log::Column::TargetId.eq(hook.model.public_id.as_str()))
        .filter(audit_log::Column::Action.eq("webhook.replayed"))
        .order_by_desc(audit_log::Column::Id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let diff: serde_json::Value = serde_json::from_str(&row.diff).unwrap_or_default();
    let total = diff["count"]["after"].as_u64().unwrap_or(0);
    let done = delivery::Entity::find()
        .filter(delivery::Column::AccountId.eq(account_id))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_rfc3339_and_browser_times() {
        let f = Filter::parse(
            Some("failed"),
            Some(" "),
            Some("2025-11-26T08:12:03Z"),
            Some("2025-11-26T09:00"),
        )
        .unwrap();
        assert_eq!(f.status, Some(DeliveryStatus::Failed));
        assert_eq!(f.event, None);
        assert_eq!(f.since, Some(1_764_144_723_000));
        assert_eq!(f.until, Some(1_764_147_600_000));
        assert!(Filter::parse(Some("done"), None, None, None).is_err());
        assert!(Filter::parse(None, None, Some("yesterday"), None).is_err());
    }
}
