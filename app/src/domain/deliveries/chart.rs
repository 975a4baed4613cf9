//! Attempts per hour, delivered vs failed, for one webhook or a whole account: the series behind
//! the charts of the webhook page and the overview. Test sends never count (as in health).

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect};

use entity::tenant::AccountScoped;
use entity::{delivery_attempt, webhook};

use super::health::{HOUR_MS, OK_SQL};
use crate::domain::{DomainError, DomainResult};
use crate::timestamps::now_ms;

/// How far back a chart reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    /// 24 hourly bars.
    #[default]
    Day,
    /// 168 hourly bars.
    Week,
}

impl Range {
    /// Parses `24h` or `7d` (blank: 24 h).
    ///
    /// # Errors
    /// `Invalid` on `range` for anything else.
    pub fn parse(raw: Option<&str>) -> DomainResult<Self> {
        match raw.map(str::trim).unwrap_or_default() {
            "" | "24h" => Ok(Self::Day),
            "7d" => Ok(Self::Week),
            other => Err(DomainError::invalid(
                "range",
                format!("“{other}” is not a chart range; use 24h or 7d."),
            )),
        }
    }

    /// `24h` or `7d`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }

    /// How many hourly bars.
    #[must_use]
    pub fn hours(self) -> i64 {
        match self {
            Self::Day => 24,
            Self::Week => 7 * 24,
        }
    }
}

/// Whose attempts a chart counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One webhook (its row id, already known to be in the account).
    Webhook(i64),
    Account(i64),
}

/// One hour of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Start of the hour (unix ms, on a UTC hour boundary).
    pub start: i64,
    pub succeeded: u64,
    pub failed: u64,
}

/// The series for `range`, oldest hour first, ending with the current hour; hours without
/// attempts are present with zeros, so the series always has `range.hours()` buckets.
///
/// # Errors
/// Database failure.
pub async fn series(conn: &impl ConnectionTrait, scope: Scope, range: Range) -> DomainResult<Vec<Bucket>> {
    let current = now_ms().div_euclid(HOUR_MS);
    let first = current - range.hours() + 1;
    // Scoped by the webhook or the account's webhooks below, not by `account_id`, so the
    // covering index answers alone.
    let q = delivery_attempt::Entity::find_across_accounts()
        .filter(delivery_attempt::Column::Trigger.ne("test"))
        .filter(delivery_attempt::Column::StartedAt.gte(first * HOUR_MS));
    let q = match scope {
        Scope::Webhook(id) => q.filter(delivery_attempt::Column::WebhookId.eq(id)),
        // By the account's webhooks: each is one range of `delivery_attempts_webhook_time`.
        Scope::Account(id) => q.filter(
            delivery_attempt::Column::WebhookId.in_subquery(
                Query::select()
                    .column(webhook::Column::Id)
                    .from(webhook::Entity)
                    .and_where(webhook::Entity::in_account(id))
                    .to_owned(),
            ),
        ),
    };
    let rows: Vec<(i64, i64, Option<i64>)> = q
        .select_only()
        .column_as(Expr::cust(format!("started_at / {HOUR_MS}")), "hour")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust(format!("SUM({OK_SQL})")), "ok")
        .group_by(Expr::cust(format!("started_at / {HOUR_MS}")))
        .into_tuple()
        .all(conn)
        .await?;
    let mut buckets: Vec<Bucket> = (first..=current)
        .map(|h| Bucket {
            start: h * HOUR_MS,
            succeeded: 0,
            failed: 0,
        })
        .collect();
    for (hour, n, ok) in rows {
        if let Some(b) = usize::try_from(hour - first).ok().and_then(|i| buckets.get_mut(i)) {
            let ok = u64::try_from(ok.unwrap_or(0)).unwrap_or(0);
            b.succeeded = ok;
            b.failed = u64::try_from(n).unwrap_or(0).saturating_sub(ok);
        }
    }
    Ok(buckets)
}
