//! The settle transaction for SQLite and PostgreSQL: per batch, one read of the accounts' HIPAA
//! flags, one fenced `UPDATE … RETURNING id` of the deliveries, the circuit breakers of their
//! webhooks ([`super::breaker`]) with the operational events their changes raise
//! ([`crate::queue::ops`]), one insert of the attempt rows of the deliveries that passed the fence, one
//! commit.
//!
//! Plans: the update is driven by its own rows and reaches `deliveries` by primary key (SQLite:
//! the unary `+` keeps the planner off the status index; PostgreSQL: the status fence is a join
//! qual and hash/merge joins are off inside the transaction — `DELIVERY-ENGINE.md` §3 and §7).

use std::collections::HashSet;

use sqlx::{Postgres, QueryBuilder, Sqlite};

use super::Settled;
use super::breaker;
use crate::queue::ops::Transition;
use entity::delivery::DeliveryStatus;

use crate::queue::{ClaimedDelivery, PG_BEGIN_PINNED, Pool, QueueConfig, QueueError};

const SQLITE_HIPAA: &str = "SELECT id FROM accounts WHERE hipaa_mode AND id IN (SELECT value FROM json_each(?1))";

/// `?1` = JSON `[[id, lease_until, status, next_attempt_at, sent, last_status, last_error,
/// clear_body], …]`, `?2` = now. `sent` (0/1) raises `attempts` with the attempt row.
pub(crate) const SQLITE_SETTLE: &str = r"UPDATE deliveries
SET status = j.st, lease_until = NULL, updated_at = ?2,
    attempts = deliveries.attempts + j.sent,
    lane = CASE WHEN j.st = 'pending' THEN 1 ELSE deliveries.lane END,
    next_attempt_at = CASE WHEN j.st = 'pending' THEN j.nx ELSE deliveries.next_attempt_at END,
    last_status = CASE WHEN j.sent = 1 THEN j.ls ELSE deliveries.last_status END,
    last_error = j.le,
    body = CASE WHEN j.clear = 1 THEN NULL ELSE deliveries.body END
FROM (SELECT value ->> 0 AS id, value ->> 1 AS lease, value ->> 2 AS st, value ->> 3 AS nx,
             value ->> 4 AS sent, value ->> 5 AS ls, value ->> 6 AS le, value ->> 7 AS clear
      FROM json_each(?1)) AS j
WHERE deliveries.id = j.id AND +deliveries.status = 'in_flight' AND +deliveries.lease_until = j.lease
RETURNING deliveries.id, EXISTS (SELECT 1 FROM delivery_flows f WHERE f.webhook_id = deliveries.webhook_id
                                 AND (f.failures > 0 OR f.next_probe_at IS NOT NULL))";

const PG_HIPAA: &str = "SELECT id FROM accounts WHERE hipaa_mode AND id = ANY($1)";

/// `$1..$8` as in [`SQLITE_SETTLE`], one array each, `$9` = `'in_flight'` per row, `$10` = now.
/// `lease_until + 0` keeps the planner off `deliveries_lease` (the rows of one claim share a
/// lease, so that index would be probed per row and filtered): the primary key drives it.
pub(crate) const PG_SETTLE: &str = r"UPDATE deliveries d
SET status = u.st, lease_until = NULL, updated_at = $10,
    attempts = d.attempts + u.sent,
    lane = CASE WHEN u.st = 'pending' THEN 1 ELSE d.lane END,
    next_attempt_at = CASE WHEN u.st = 'pending' THEN u.nx ELSE d.next_attempt_at END,
    last_status = CASE WHEN u.sent = 1 THEN u.ls ELSE d.last_status END,
    last_error = u.le,
    body = CASE WHEN u.clear THEN NULL ELSE d.body END
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::int[], $6::int[], $7::text[],
            $8::bool[], $9::text[]) AS u(id, lease, st, nx, sent, ls, le, clear, cur)
WHERE d.id = u.id AND d.lease_until + 0 = u.lease AND d.status = u.cur
RETURNING d.id, EXISTS (SELECT 1 FROM delivery_flows f WHERE f.webhook_id = d.webhook_id
                        AND (f.failures > 0 OR f.next_probe_at IS NOT NULL))";

/// `$1..$14`: one array per column of `delivery_attempts`, in [`ATTEMPT_COLUMNS`] order.
const PG_INSERT_ATTEMPTS: &str = r#"INSERT INTO delivery_attempts
(account_id, delivery_id, webhook_id, attempt, "trigger", started_at, duration_ms, request_headers, request_body,
 response_status, response_headers, response_body, error_kind, error_message)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::bigint[], $7::int[],
                     $8::text[], $9::text[], $10::int[], $11::text[], $12::text[], $13::text[], $14::text[])"#;

const ATTEMPT_COLUMNS: &str = r#"INSERT INTO delivery_attempts
(account_id, delivery_id, webhook_id, attempt, "trigger", started_at, duration_ms, request_headers, request_body,
 response_status, response_headers, response_body, error_kind, error_message) "#;

/// One row of the settle update.
type SettleJson<'a> = (i64, i64, &'a str, i64, i32, Option<i32>, Option<&'a str>, i32);

impl Pool {
    /// Commits a batch of outcomes in one transaction, with the circuit breakers they move and
    /// the operational events of the breakers that opened or closed; returns how many passed the
    /// fence (the others were late: their lease had run out and the row was claimed again) and
    /// the breakers' transitions.
    pub(crate) async fn settle(
        &self,
        batch: &[&Settled],
        now: i64,
        cfg: &QueueConfig,
    ) -> Result<(usize, Vec<Transition>), QueueError> {
        let accounts: Vec<i64> = {
            let mut seen = HashSet::new();
            batch
                .iter()
                .filter(|s| s.row.is_some())
                .map(|s| s.claim.account_id)
                .filter(|a| seen.insert(*a))
                .collect()
        };
        match self {
            Self::Sqlite(pool) => {
                let mut txn = pool.begin_with("BEGIN IMMEDIATE").await?;
                let hipaa: HashSet<i64> = if accounts.is_empty() {
                    HashSet::new()
                } else {
                    sqlx::query_scalar(SQLITE_HIPAA)
                        .bind(serde_json::to_string(&accounts)?)
                        .fetch_all(&mut *txn)
                        .await?
                        .into_iter()
                        .collect()
                };
                let json: Vec<SettleJson<'_>> = batch
                    .iter()
                    .map(|s| {
                        (
                            s.claim.id,
                            s.claim.lease_until,
                            s.status.as_str(),
                            s.next_attempt_at,
                            i32::from(s.row.is_some()),
                            s.row.as_ref().and_then(|r| r.response_status),
                            s.last_error.as_deref(),
                            i32::from(clears_body(s, &hipaa)),
                        )
                    })
                    .collect();
                let (passed, flows) = fenced(
                    sqlx::query_as::<_, (i64, bool)>(SQLITE_SETTLE)
                        .bind(serde_json::to_string(&json)?)
                        .bind(now)
                        .fetch_all(&mut *txn)
                        .await?,
                );
                let rows: Vec<&Settled> = recorded(batch, &passed);
                let transitions = breaker::sqlite(&mut txn, &rows, flows, cfg, now).await?;
                crate::queue::ops::sqlite(&mut txn, &transitions, now).await?;
                // At most 14 × 512 parameters, within SQLite's limit of 32,766.
                if !rows.is_empty() {
                    let mut insert = QueryBuilder::<Sqlite>::new(ATTEMPT_COLUMNS);
                    insert.push_values(rows, |mut b, s| {
                        let (c, r, keep) = parts(s, &hipaa);
                        b.push_bind(c.account_id)
                            .push_bind(c.id)
                            .push_bind(c.webhook_id)
                            .push_bind(c.attempt)
                            .push_bind(c.trigger.as_str())
                            .push_bind(r.started_at)
                            .push_bind(r.duration_ms)
                            .push_bind(r.request_headers.as_str())
                            .push_bind(c.body.as_deref().filter(|_| keep))
                            .push_bind(r.response_status)
                            .push_bind(r.response_headers.as_str())
                            .push_bind(keep.then_some(r.response_body.as_str()))
                            .push_bind(r.error_kind)
                            .push_bind(r.error_message.as_deref());
                    });
                    insert.build().execute(&mut *txn).await?;
                }
                txn.commit().await?;
                Ok((passed.len(), transitions))
            }
            Self::Postgres(pool) => {
                let mut txn = pool.begin_with(PG_BEGIN_PINNED).await?;
                let hipaa: HashSet<i64> = if accounts.is_empty() {
                    HashSet::new()
                } else {
                    sqlx::query_scalar(PG_HIPAA)
                        .bind(&accounts)
                        .fetch_all(&mut *txn)
                        .await?
                        .into_iter()
                        .collect()
                };
                let (passed, flows) = fenced(pg_update(batch, &hipaa, now).fetch_all(&mut *txn).await?);
                let rows = recorded(batch, &passed);
                let transitions = breaker::postgres(&mut txn, &rows, flows, cfg, now).await?;
                crate::queue::ops::postgres(&mut txn, &transitions, now).await?;
                if !rows.is_empty() {
                    pg_insert(&rows, &hipaa).execute(&mut *txn).await?;
                }
                txn.commit().await?;
                Ok((passed.len(), transitions))
            }
            Self::Unsupported(b) => Err(QueueError::UnsupportedBackend(*b)),
        }
    }
}

/// A delivered body is dropped on a HIPAA account.
fn clears_body(s: &Settled, hipaa: &HashSet<i64>) -> bool {
    s.status == DeliveryStatus::Succeeded && hipaa.contains(&s.claim.account_id)
}

/// What the settle update returned: the rows that passed the fence, and whether a webhook of
/// theirs has a breaker state to mind (a run of failures, or an open breaker).
fn fenced(returned: Vec<(i64, bool)>) -> (HashSet<i64>, bool) {
    let flows = returned.iter().any(|(_, f)| *f);
    (returned.into_iter().map(|(id, _)| id).collect(), flows)
}

/// The outcomes that passed the fence and carry an attempt row.
fn recorded<'a>(batch: &[&'a Settled], passed: &HashSet<i64>) -> Vec<&'a Settled> {
    batch
        .iter()
        .copied()
        .filter(|s| s.row.is_some() && passed.contains(&s.claim.id))
        .collect()
}

/// The claim, its attempt row, and whether bodies may be kept.
fn parts<'a>(s: &'a Settled, hipaa: &HashSet<i64>) -> (&'a ClaimedDelivery, &'a super::AttemptRow, bool) {
    let row = s.row.as_ref().expect("only recorded outcomes are inserted");
    (&s.claim, row, !hipaa.contains(&s.claim.account_id))
}

fn pg_update<'a>(
    batch: &'a [&'a Settled],
    hipaa: &HashSet<i64>,
    now: i64,
) -> sqlx::query::QueryAs<'a, Postgres, (i64, bool), sqlx::postgres::PgArguments> {
    let n = batch.len();
    let mut cols = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for s in batch {
        cols.0.push(s.claim.id);
        cols.1.push(s.claim.lease_until);
        cols.2.push(s.status.as_str());
        cols.3.push(s.next_attempt_at);
        cols.4.push(i32::from(s.row.is_some()));
        cols.5.push(s.row.as_ref().and_then(|r| r.response_status));
        cols.6.push(s.last_error.as_deref());
        cols.7.push(clears_body(s, hipaa));
    }
    sqlx::query_as(PG_SETTLE)
        .bind(cols.0)
        .bind(cols.1)
        .bind(cols.2)
        .bind(cols.3)
        .bind(cols.4)
        .bind(cols.5)
        .bind(cols.6)
        .bind(cols.7)
        .bind(vec![DeliveryStatus::InFlight.as_str(); n])
        .bind(now)
}

fn pg_insert<'a>(
    rows: &[&'a Settled],
    hipaa: &HashSet<i64>,
) -> sqlx::query::Query<'a, Postgres, sqlx::postgres::PgArguments> {
    let n = rows.len();
    let mut account = Vec::with_capacity(n);
    let mut delivery = Vec::with_capacity(n);
    let mut webhook = Vec::with_capacity(n);
    let mut attempt = Vec::with_capacity(n);
    let mut trigger = Vec::with_capacity(n);
    let mut started = Vec::with_capacity(n);
    let mut duration = Vec::with_capacity(n);
    let mut req_headers = Vec::with_capacity(n);
    let mut req_body = Vec::with_capacity(n);
    let mut status = Vec::with_capacity(n);
    let mut res_headers = Vec::with_capacity(n);
    let mut res_body = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut message = Vec::with_capacity(n);
    for s in rows {
        let (c, r, keep) = parts(s, hipaa);
        account.push(c.account_id);
        delivery.push(c.id);
        webhook.push(c.webhook_id);
        attempt.push(c.attempt);
        trigger.push(c.trigger.as_str());
        started.push(r.started_at);
        duration.push(r.duration_ms);
        req_headers.push(r.request_headers.as_str());
        req_body.push(c.body.as_deref().filter(|_| keep));
        status.push(r.response_status);
        res_headers.push(r.response_headers.as_str());
        res_body.push(keep.then_some(r.response_body.as_str()));
        kind.push(r.error_kind);
        message.push(r.error_message.as_deref());
    }
    sqlx::query(PG_INSERT_ATTEMPTS)
        .bind(account)
        .bind(delivery)
        .bind(webhook)
        .bind(attempt)
        .bind(trigger)
        .bind(started)
        .bind(duration)
        .bind(req_headers)
        .bind(req_body)
        .bind(status)
        .bind(res_headers)
        .bind(res_body)
        .bind(kind)
        .bind(message)
}
