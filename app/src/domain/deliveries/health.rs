//! Endpoint health over the last 24 hours and 7 days. Test sends (`trigger = test`) never count:
//! a tenant poking at an endpoint must not move its success rate.

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use entity::delivery::DeliveryStatus;
use entity::{delivery, delivery_attempt};

use crate::db::now_ms;
use crate::domain::DomainResult;
use crate::domain::webhooks;

const DAY_MS: i64 = 24 * 3_600_000;

/// Figures for one time window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    /// Deliveries created in the window that succeeded.
    pub succeeded: u64,
    /// Deliveries created in the window that failed (all attempts used or given up).
    pub failed: u64,
    /// `succeeded / (succeeded + failed)` in percent; `None` when nothing finished.
    pub success_rate: Option<f64>,
    /// Median and 95th percentile of attempt durations started in the window, in ms.
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
}

/// A webhook's health: the last 24 hours, the last 7 days and its last successful attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Health {
    pub day: Window,
    pub week: Window,
    /// Start of the latest 2xx attempt (unix ms), at any time.
    pub last_success_at: Option<i64>,
}

/// Attempts of one webhook's deliveries, tests excluded (attempts carry their delivery's trigger).
fn attempts_of(webhook_id: i64) -> sea_orm::Select<delivery_attempt::Entity> {
    delivery_attempt::Entity::find()
        .filter(
            delivery_attempt::Column::DeliveryId.in_subquery(
                Query::select()
                    .column(delivery::Column::Id)
                    .from(delivery::Entity)
                    .and_where(delivery::Column::WebhookId.eq(webhook_id))
                    .to_owned(),
            ),
        )
        .filter(delivery_attempt::Column::Trigger.ne("test"))
}

/// Whether an attempt row is a success: a 2xx answer and no error.
pub(super) fn success() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(delivery_attempt::Column::ErrorKind.is_null())
        .add(delivery_attempt::Column::ResponseStatus.between(200, 299))
}

async fn percentile(
    conn: &impl ConnectionTrait,
    webhook_id: i64,
    since: i64,
    n: u64,
    p: f64,
) -> DomainResult<Option<i64>> {
    if n == 0 {
        return Ok(None);
    }
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank within a count of rows"
    )]
    let rank = ((p * n as f64).ceil() as u64).clamp(1, n) - 1;
    let v: Option<i32> = attempts_of(webhook_id)
        .filter(delivery_attempt::Column::StartedAt.gte(since))
        .select_only()
        .column(delivery_attempt::Column::DurationMs)
        .order_by_asc(delivery_attempt::Column::DurationMs)
        .offset(rank)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(v.map(i64::from))
}

async fn window(conn: &impl ConnectionTrait, account_id: i64, webhook_id: i64, since: i64) -> DomainResult<Window> {
    let count_status = |status: DeliveryStatus| {
        delivery::Entity::find()
            .filter(delivery::Column::AccountId.eq(account_id))
            .filter(delivery::Column::WebhookId.eq(webhook_id))
            .filter(delivery::Column::Trigger.ne("test"))
            .filter(delivery::Column::CreatedAt.gte(since))
            .filter(delivery::Column::Status.eq(status))
            .count(conn)
    };
    let succeeded = count_status(DeliveryStatus::Succeeded).await?;
    let failed = count_status(DeliveryStatus::Failed).await?;
    #[expect(clippy::cast_precision_loss, reason = "a percentage")]
    let success_rate = (succeeded + failed > 0).then(|| 100.0 * succeeded as f64 / (succeeded + failed) as f64);
    let n = attempts_of(webhook_id)
        .filter(delivery_attempt::Column::StartedAt.gte(since))
        .count(conn)
        .await?;
    Ok(Window {
        succeeded,
        failed,
        success_rate,
        p50_ms: percentile(conn, webhook_id, since, n, 0.50).await?,
        p95_ms: percentile(conn, webhook_id, since, n, 0.95).await?,
    })
}

/// The health of a webhook of the account.
///
/// # Errors
/// `NotFound` for another account's webhook.
pub async fn health(conn: &impl ConnectionTrait, account_id: i64, webhook_public_id: &str) -> DomainResult<Health> {
    let hook = webhooks::get(conn, account_id, webhook_public_id).await?;
    let now = now_ms();
    let id = hook.model.id;
    let last_success_at: Option<i64> = attempts_of(id)
        .filter(success())
        .select_only()
        .column(delivery_attempt::Column::StartedAt)
        .order_by_desc(delivery_attempt::Column::StartedAt)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(Health {
        day: window(conn, account_id, id, now - DAY_MS).await?,
        week: window(conn, account_id, id, now - 7 * DAY_MS).await?,
        last_success_at,
    })
}
