//! Endpoint health, defined once and read by the webhook list, the webhook page, the overview and
//! the API. Everything is counted over **attempts** (not deliveries), so a webhook whose
//! deliveries are still being retried shows its failures at once; test sends (`trigger = test`)
//! never count. Latency is the receiver's response time: attempts that got an HTTP answer only
//! (a timeout measures our patience, not the receiver).
//!
//! Every query here reads `delivery_attempts_webhook_time` alone (webhook, time, and the columns
//! a verdict needs), so a week of a busy webhook is counted without touching the table.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use entity::delivery_attempt::ErrorKind;
use entity::tenant::AccountScoped;
use entity::{delivery, delivery_attempt, delivery_flow, webhook};

use super::stage::Stage;
use crate::domain::DomainResult;
use crate::domain::webhooks::{self, Webhook};
use crate::timestamps::now_ms;

/// One hour and one day, in ms.
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// SQL: 1 for an attempt that delivered (a 2xx answer and no error), else 0.
pub(super) const OK_SQL: &str =
    "CASE WHEN error_kind IS NULL AND response_status BETWEEN 200 AND 299 THEN 1 ELSE 0 END";

/// Figures for one time window, over attempts started in it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    pub attempts: u64,
    pub succeeded: u64,
    /// Attempts that did not deliver (error or non-2xx), retried or not.
    pub failed: u64,
    /// `succeeded / attempts` in percent; `None` without attempts.
    pub success_rate: Option<f64>,
    /// Median and 95th percentile of the receiver's response time, in ms (attempts that got an
    /// HTTP answer only).
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
}

/// How a webhook is doing, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Its latest attempt delivered.
    Healthy,
    /// Its latest attempt failed; `since` is the first failed attempt after the last success.
    Failing { since: i64 },
    /// Its circuit breaker is open: deliveries wait (spending no attempts) while single probes
    /// test the endpoint. `since` is the start of the run of failures that opened it,
    /// `next_probe` when the next probe may go (unix ms).
    Paused { since: i64, next_probe: i64 },
    /// Turned off (by hand, by auto-disable, or by a `410 Gone`).
    Disabled,
    /// No attempt in the last 7 days.
    NoTraffic,
}

impl State {
    /// `healthy`, `failing`, `paused`, `disabled` or `no_traffic` (the API's value).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Failing { .. } => "failing",
            Self::Paused { .. } => "paused",
            Self::Disabled => "disabled",
            Self::NoTraffic => "no_traffic",
        }
    }
}

/// The latest attempt that did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    pub at: i64,
    pub delivery_id: i64,
    pub response_status: Option<i32>,
    pub error_kind: Option<ErrorKind>,
    pub error_message: Option<String>,
}

impl LastError {
    /// `HTTP 500`, or `timeout: …` for an attempt without an answer.
    #[must_use]
    pub fn outcome(&self) -> String {
        match (self.response_status, self.error_kind) {
            (Some(s), _) => format!("HTTP {s}"),
            (None, Some(k)) => match &self.error_message {
                Some(m) => format!("{k}: {m}"),
                None => k.to_string(),
            },
            (None, None) => "no response".to_owned(),
        }
    }
}

/// A webhook's health: state, both windows, last success, last error, and what waits for a retry.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub state: State,
    pub day: Window,
    pub week: Window,
    /// Start of the latest 2xx attempt (unix ms), at any time.
    pub last_success_at: Option<i64>,
    pub last_error: Option<LastError>,
    /// Deliveries that failed an attempt and wait for their next one.
    pub retrying: u64,
}

/// What the list and the overview show per webhook: the state and the 24-hour window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub state: State,
    pub day: Window,
}

/// Non-test attempts of one webhook. Scoped by the webhook, which is only ever read within its
/// account: an `account_id` filter as well would send every count from the covering index
/// to the table.
fn attempts_of(hook: &webhook::Model) -> sea_orm::Select<delivery_attempt::Entity> {
    delivery_attempt::Entity::find_across_accounts()
        .filter(delivery_attempt::Column::WebhookId.eq(hook.id))
        .filter(delivery_attempt::Column::Trigger.ne("test"))
}

/// Whether an attempt row is a success: a 2xx answer and no error.
pub(super) fn success() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(delivery_attempt::Column::ErrorKind.is_null())
        .add(delivery_attempt::Column::ResponseStatus.between(200, 299))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The value at quantile `p` of a histogram sorted by value.
fn quantile(histogram: &[(i32, i64)], total: u64, p: f64) -> Option<i64> {
    if total == 0 {
        return None;
    }
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank within a count of rows"
    )]
    let rank = ((p * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    histogram.iter().find_map(|(v, n)| {
        seen += count(*n);
        (seen >= rank).then_some(i64::from(*v))
    })
}

async fn window(conn: &impl ConnectionTrait, hook: &webhook::Model, since: i64) -> DomainResult<Window> {
    let in_window = || attempts_of(hook).filter(delivery_attempt::Column::StartedAt.gte(since));
    let (attempts, succeeded): (i64, Option<i64>) = in_window()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(Expr::cust(format!("SUM({OK_SQL})")), "ok")
        .into_tuple()
        .one(conn)
        .await?
        .unwrap_or((0, None));
    let (attempts, succeeded) = (count(attempts), count(succeeded.unwrap_or(0)));
    let histogram: Vec<(i32, i64)> = in_window()
        .filter(delivery_attempt::Column::ResponseStatus.is_not_null())
        .select_only()
        .column(delivery_attempt::Column::DurationMs)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(delivery_attempt::Column::DurationMs)
        .order_by_asc(delivery_attempt::Column::DurationMs)
        .into_tuple()
        .all(conn)
        .await?;
    let answered = histogram.iter().map(|(_, n)| count(*n)).sum();
    #[expect(clippy::cast_precision_loss, reason = "a percentage")]
    let success_rate = (attempts > 0).then(|| 100.0 * succeeded as f64 / attempts as f64);
    Ok(Window {
        attempts,
        succeeded,
        failed: attempts - succeeded,
        success_rate,
        p50_ms: quantile(&histogram, answered, 0.50),
        p95_ms: quantile(&histogram, answered, 0.95),
    })
}

/// The latest non-test attempt: when it started and whether it delivered.
async fn latest(conn: &impl ConnectionTrait, hook: &webhook::Model) -> DomainResult<Option<(i64, bool)>> {
    let row: Option<(i64, i32)> = attempts_of(hook)
        .select_only()
        .column(delivery_attempt::Column::StartedAt)
        .column_as(Expr::cust(OK_SQL), "ok")
        .order_by_desc(delivery_attempt::Column::StartedAt)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(row.map(|(at, ok)| (at, ok == 1)))
}

async fn last_success(conn: &impl ConnectionTrait, hook: &webhook::Model) -> DomainResult<Option<i64>> {
    Ok(attempts_of(hook)
        .filter(success())
        .select_only()
        .column(delivery_attempt::Column::StartedAt)
        .order_by_desc(delivery_attempt::Column::StartedAt)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?)
}

/// The state, given the webhook and its latest attempt: the first failure after the last
/// success is where "failing" starts. An open breaker (the queue's `delivery_flows` row has a
/// `next_probe_at`) reads as paused, so its waiting deliveries are not taken for failures.
async fn state(conn: &impl ConnectionTrait, hook: &Webhook, last_success_at: Option<i64>) -> DomainResult<State> {
    if !hook.model.enabled {
        return Ok(State::Disabled);
    }
    let flow = delivery_flow::Entity::find_by_id(hook.model.id).one(conn).await?;
    if let Some((failing_since, Some(next_probe))) = flow.map(|f| (f.failing_since, f.next_probe_at)) {
        return Ok(State::Paused {
            since: failing_since.unwrap_or(next_probe),
            next_probe,
        });
    }
    match latest(conn, &hook.model).await? {
        None => Ok(State::NoTraffic),
        Some((at, _)) if at < now_ms() - 7 * DAY_MS => Ok(State::NoTraffic),
        Some((_, true)) => Ok(State::Healthy),
        Some((at, false)) => {
            let mut q = attempts_of(&hook.model);
            if let Some(s) = last_success_at {
                q = q.filter(delivery_attempt::Column::StartedAt.gt(s));
            }
            let since: Option<i64> = q
                .select_only()
                .column(delivery_attempt::Column::StartedAt)
                .order_by_asc(delivery_attempt::Column::StartedAt)
                .limit(1)
                .into_tuple()
                .one(conn)
                .await?;
            Ok(State::Failing {
                since: since.unwrap_or(at),
            })
        }
    }
}

async fn last_error(conn: &impl ConnectionTrait, hook: &webhook::Model) -> DomainResult<Option<LastError>> {
    let row = attempts_of(hook)
        .filter(Expr::cust(format!("({OK_SQL}) = 0")))
        .order_by_desc(delivery_attempt::Column::StartedAt)
        .one(conn)
        .await?;
    Ok(row.map(|a| LastError {
        at: a.started_at,
        delivery_id: a.delivery_id,
        response_status: a.response_status,
        error_kind: a.error_kind,
        error_message: a.error_message,
    }))
}

/// The health of a webhook of the account.
///
/// # Errors
/// `NotFound` for another account's webhook.
pub async fn health(conn: &impl ConnectionTrait, account_id: i64, webhook_public_id: &str) -> DomainResult<Health> {
    let hook = webhooks::get(conn, account_id, webhook_public_id).await?;
    let now = now_ms();
    let last_success_at = last_success(conn, &hook.model).await?;
    let retrying = retrying(conn, account_id, Some(hook.model.id)).await?;
    Ok(Health {
        state: state(conn, &hook, last_success_at).await?,
        day: window(conn, &hook.model, now - DAY_MS).await?,
        week: window(conn, &hook.model, now - 7 * DAY_MS).await?,
        last_success_at,
        last_error: last_error(conn, &hook.model).await?,
        retrying,
    })
}

/// How many deliveries of the account (or of one of its webhooks, by row id) wait for a retry.
///
/// # Errors
/// Database failure.
pub async fn retrying(conn: &impl ConnectionTrait, account_id: i64, webhook_id: Option<i64>) -> DomainResult<u64> {
    let mut q = delivery::Entity::find_in(account_id).filter(Stage::Retrying.condition());
    if let Some(id) = webhook_id {
        q = q.filter(delivery::Column::WebhookId.eq(id));
    }
    Ok(q.count(conn).await?)
}

/// State and 24-hour window of webhooks already read from the account (the list, the overview).
///
/// # Errors
/// Database failure.
pub async fn summaries(conn: &impl ConnectionTrait, hooks: &[Webhook]) -> DomainResult<Vec<Summary>> {
    let since = now_ms() - DAY_MS;
    let mut out = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let last_success_at = last_success(conn, &hook.model).await?;
        out.push(Summary {
            state: state(conn, hook, last_success_at).await?,
            day: window(conn, &hook.model, since).await?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_read_a_histogram() {
        let h = [(3, 50), (10, 45), (900, 5)];
        assert_eq!(quantile(&h, 100, 0.5), Some(3));
        assert_eq!(quantile(&h, 100, 0.95), Some(10));
        assert_eq!(quantile(&h, 100, 0.96), Some(900));
        assert_eq!(quantile(&[], 0, 0.5), None);
    }
}
