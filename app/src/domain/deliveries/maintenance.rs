//! Periodic upkeep of the delivery history: auto-disabling endpoints that only fail, and
//! purging old attempt logs and bodies.

use std::time::Duration;

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect};

use entity::delivery::DeliveryStatus;
use entity::tenant::AccountScoped;
use entity::{delivery, delivery_attempt, webhook};

use super::health::success;
use crate::db::begin_write;
use crate::domain::DomainResult;
use crate::domain::webhooks;
use crate::timestamps::now_ms;
use crate::timestamps::short;

/// Rows changed by one retention statement: small enough never to hold the write lock long.
const PURGE_BATCH: u64 = 1000;
/// Pause between retention statements, so deliveries get the database in between.
const PURGE_PAUSE: Duration = Duration::from_millis(50);

/// "5 days", "36 hours", "90 seconds": a window as people say it.
fn say(window: Duration) -> String {
    let s = window.as_secs();
    let (n, unit) = if s >= 86_400 && s.is_multiple_of(86_400) {
        (s / 86_400, "day")
    } else if s >= 3600 && s.is_multiple_of(3600) {
        (s / 3600, "hour")
    } else if s >= 60 && s.is_multiple_of(60) {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Disables every enabled webhook whose deliveries have all failed for `window`: it has a failed
/// attempt older than the window's start and no successful attempt since that failure (test
/// sends do not count either way). Failures from before the webhook's last change (a re-enable,
/// a new URL) are not counted, so re-enabling gives the endpoint a whole new window. An endpoint that has been down that long is almost surely
/// gone; stopping spares it the traffic and the tenant a backlog, and the banner tells them why.
/// Returns how many webhooks were disabled.
///
/// # Errors
/// Database failure.
pub async fn auto_disable(db: &DatabaseConnection, window: Duration) -> DomainResult<usize> {
    let now = now_ms();
    let start = now - i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2);
    // Candidates, in every account: enabled webhooks with at least one failed delivery (cheap
    // superset). Each candidate's attempts are then read in its own account.
    let candidates = webhook::Entity::find_across_accounts()
        .filter(webhook::Column::Enabled.eq(true))
        .filter(
            webhook::Column::Id.in_subquery(
                Query::select()
                    .distinct()
                    .column(delivery::Column::WebhookId)
                    .from(delivery::Entity)
                    .and_where(delivery::Column::Status.eq(DeliveryStatus::Failed))
                    .and_where(delivery::Column::Trigger.ne("test"))
                    .to_owned(),
            ),
        )
        .all(db)
        .await?;
    let mut disabled = 0;
    for hook in candidates {
        let of_hook = || {
            delivery_attempt::Entity::find_in(hook.account_id)
                .filter(
                    delivery_attempt::Column::DeliveryId.in_subquery(
                        Query::select()
                            .column(delivery::Column::Id)
                            .from(delivery::Entity)
                            .and_where(delivery::Column::WebhookId.eq(hook.id))
                            .to_owned(),
                    ),
                )
                .filter(delivery_attempt::Column::Trigger.ne("test"))
        };
        let last_success: Option<i64> = of_hook()
            .filter(success())
            .select_only()
            .column(delivery_attempt::Column::StartedAt)
            .order_by_desc(delivery_attempt::Column::StartedAt)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        let old_failure = of_hook()
            .filter(sea_orm::Condition::not(success()))
            .filter(delivery_attempt::Column::StartedAt.lt(start))
            .filter(delivery_attempt::Column::StartedAt.gt(last_success.unwrap_or(i64::MIN).max(hook.updated_at)))
            .one(db)
            .await?;
        if old_failure.is_none() {
            continue;
        }
        let txn = begin_write(db).await?;
        // Re-read under the write lock: a person may have just disabled or edited it.
        let Some(current) = webhook::Entity::find_by_id_in(hook.account_id, hook.id)
            .one(&txn)
            .await?
        else {
            continue;
        };
        if !current.enabled {
            continue;
        }
        let reason = format!(
            "Disabled by Herald on {}: every delivery failed for {}. Fix the endpoint, then enable the webhook again.",
            short(now),
            say(window)
        );
        webhooks::disable_by_system(&txn, &current, &reason).await?;
        txn.commit().await?;
        tracing::info!(webhook.id = %current.public_id, "webhook auto-disabled after failing for the whole window");
        disabled += 1;
    }
    Ok(disabled)
}

/// Retention: deletes attempt logs started more than `keep` ago, and drops the frozen body of
/// finished deliveries (succeeded, failed, cancelled) last changed more than `keep` ago. Works in
/// statements of at most 1000 rows with a short pause between them, oldest rows first, so the
/// delivery workers never wait long for the database; queued and in-flight rows are never
/// touched. Returns `(attempts deleted, bodies dropped)`.
///
/// # Errors
/// Database failure (what was purged before it stays purged).
pub async fn purge_old(db: &DatabaseConnection, keep: Duration) -> DomainResult<(u64, u64)> {
    let cutoff = now_ms() - i64::try_from(keep.as_millis()).unwrap_or(i64::MAX / 2);
    let mut attempts = 0;
    loop {
        // Retention is the same for every account.
        let ids: Vec<i64> = delivery_attempt::Entity::find_across_accounts()
            .filter(delivery_attempt::Column::StartedAt.lt(cutoff))
            .select_only()
            .column(delivery_attempt::Column::Id)
            .order_by_asc(delivery_attempt::Column::Id)
            .limit(PURGE_BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            break;
        }
        let n = delivery_attempt::Entity::delete_many_across_accounts()
            .filter(delivery_attempt::Column::Id.is_in(ids.clone()))
            .exec(db)
            .await?
            .rows_affected;
        attempts += n;
        if (ids.len() as u64) < PURGE_BATCH {
            break;
        }
        tokio::time::sleep(PURGE_PAUSE).await;
    }
    let mut bodies = 0;
    loop {
        let ids: Vec<i64> = delivery::Entity::find_across_accounts()
            .filter(delivery::Column::UpdatedAt.lt(cutoff))
            .filter(delivery::Column::Status.is_in(super::FINAL))
            .filter(delivery::Column::Body.is_not_null())
            .select_only()
            .column(delivery::Column::Id)
            .order_by_asc(delivery::Column::Id)
            .limit(PURGE_BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            break;
        }
        let n = delivery::Entity::update_many_across_accounts()
            .col_expr(delivery::Column::Body, Expr::value(Option::<String>::None))
            .filter(delivery::Column::Id.is_in(ids.clone()))
            .filter(delivery::Column::Status.is_in(super::FINAL))
            .exec(db)
            .await?
            .rows_affected;
        bodies += n;
        if (ids.len() as u64) < PURGE_BATCH {
            break;
        }
        tokio::time::sleep(PURGE_PAUSE).await;
    }
    Ok((attempts, bodies))
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_read_as_people_say_them() {
        use std::time::Duration;
        assert_eq!(super::say(Duration::from_secs(5 * 86_400)), "5 days");
        assert_eq!(super::say(Duration::from_secs(36 * 3600)), "36 hours");
        assert_eq!(super::say(Duration::from_secs(1)), "1 second");
    }
}
