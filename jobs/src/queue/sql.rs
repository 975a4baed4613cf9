//! The queue's SQL for SQLite and PostgreSQL: reap, release, give back send slots (settling an
//! outcome is [`crate::queue::attempt`]'s).
//!
//! Every statement is one write (SQLite: one autocommit statement; PostgreSQL: one statement,
//! or one short transaction for the release). The plans were checked with realistic data
//! (`DELIVERY-ENGINE.md` §3 and §7), and the tests re-check them:
//! - the claim is [`super::fair`]'s, over the per-webhook indexes;
//! - the release is driven by its own rows and reaches `deliveries` by primary key (SQLite: the
//!   unary `+` keeps the planner off the status index; PostgreSQL: the status fence is a join
//!   qual and hash/merge joins are off inside the transaction).
//!
//! A claim does not count the attempt (`attempts` is raised with the attempt row); it returns
//! `attempts + 1` as the attempt's number, and the lease it set, which fences the outcome: a
//! row's lease only grows from one claim to the next (a reaped row is claimed again after its
//! old lease ended), so a late outcome of an earlier claim never matches.

use std::sync::Arc;

use sea_orm::DbBackend;
use sqlx::{PgPool, Row, SqlitePool};

use entity::delivery::DeliveryStatus;

use super::{ClaimedDelivery, QueueError};

/// Makes expired leases due now (lane kept). `?1` = now (unix ms).
pub(crate) const SQLITE_REAP: &str = r"UPDATE deliveries
SET status = 'pending', next_attempt_at = ?1, lease_until = NULL, updated_at = ?1
WHERE status = 'in_flight' AND lease_until < ?1";

/// Gives back claimed but unstarted rows. `?1` = JSON `[[id, lease_until], ...]`, `?2` = now.
pub(crate) const SQLITE_RELEASE: &str = r"UPDATE deliveries
SET status = 'pending', lease_until = NULL, updated_at = ?2
FROM (SELECT value ->> 0 AS id, value ->> 1 AS lease FROM json_each(?1)) AS j
WHERE deliveries.id = j.id AND +deliveries.status = 'in_flight' AND +deliveries.lease_until = j.lease";

/// Begins a transaction whose plans are pinned (one round trip: a simple query may hold two
/// statements): a batch update (settle, release) runs as `Nested Loop(unnest → Index Scan
/// deliveries_pkey)` (generic plans otherwise drift to scans; §7 pitfall 1), and every
/// statement on its cached generic plan (the settle's `= ANY($1)` look-ups — HIPAA accounts,
/// breaker rows — were otherwise planned anew on every settle, which cost more than running
/// them). `SET LOCAL`: it ends with the transaction.
pub(crate) const PG_BEGIN_PINNED: &str = "BEGIN; SELECT set_config('enable_hashjoin', 'off', true), \
     set_config('enable_mergejoin', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)";

/// Same as [`SQLITE_REAP`]; reads the partial index `deliveries_lease`.
pub(crate) const PG_REAP: &str = r"UPDATE deliveries
SET status = 'pending', next_attempt_at = $1, lease_until = NULL, updated_at = $1
WHERE lease_until IS NOT NULL AND lease_until < $1 AND status = 'in_flight'";

/// Same as [`SQLITE_RELEASE`]. `$1` = ids, `$2` = leases, `$3` = `'in_flight'` per row, `$4` = now
/// (`lease_until + 0`: the primary key drives it, as in the settle statement).
pub(crate) const PG_RELEASE: &str = r"UPDATE deliveries d
SET status = 'pending', lease_until = NULL, updated_at = $4
FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, lease, cur)
WHERE d.id = u.id AND d.lease_until + 0 = u.lease AND d.status = u.cur";

/// Gives back the send slots of process `?1` (`delivery_slots`) except those of the webhooks
/// in `?2` (JSON array), which it still has requests open to.
pub(crate) const SQLITE_GIVE_BACK: &str =
    "DELETE FROM delivery_slots WHERE claimer = ?1 AND webhook_id NOT IN (SELECT value FROM json_each(?2))";

/// Same as [`SQLITE_GIVE_BACK`], `$2` an array.
pub(crate) const PG_GIVE_BACK: &str = "DELETE FROM delivery_slots WHERE claimer = $1 AND NOT (webhook_id = ANY($2))";

/// The sqlx pool behind the sea-orm connection, by backend.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    Unsupported(DbBackend),
}

impl Pool {
    /// Returns rows whose lease expired before `now` to `pending`, due at once.
    pub(crate) async fn reap(&self, now: i64) -> Result<u64, QueueError> {
        let done = match self {
            Self::Sqlite(pool) => sqlx::query(SQLITE_REAP).bind(now).execute(pool).await?.rows_affected(),
            Self::Postgres(pool) => sqlx::query(PG_REAP).bind(now).execute(pool).await?.rows_affected(),
            Self::Unsupported(b) => return Err(QueueError::UnsupportedBackend(*b)),
        };
        Ok(done)
    }

    /// Hands claimed but unstarted `(id, lease_until)` rows back to `pending`: a graceful stop
    /// costs no attempt.
    pub(crate) async fn release(&self, rows: &[(i64, i64)], now: i64) -> Result<u64, QueueError> {
        let done = match self {
            Self::Sqlite(pool) => sqlx::query(SQLITE_RELEASE)
                .bind(serde_json::to_string(rows)?)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected(),
            Self::Postgres(pool) => {
                let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
                let leases: Vec<i64> = rows.iter().map(|r| r.1).collect();
                let current = vec![DeliveryStatus::InFlight.as_str(); rows.len()];
                let mut txn = pool.begin_with(PG_BEGIN_PINNED).await?;
                let done = sqlx::query(PG_RELEASE)
                    .bind(&ids)
                    .bind(&leases)
                    .bind(&current)
                    .bind(now)
                    .execute(&mut *txn)
                    .await?;
                txn.commit().await?;
                done.rows_affected()
            }
            Self::Unsupported(b) => return Err(QueueError::UnsupportedBackend(*b)),
        };
        Ok(done)
    }

    /// A stopping process gives back its send slots of every webhook but those in `open`
    /// (requests still running; those grants lapse with their lease), so the processes left
    /// need not wait a lease for the whole cap.
    pub(crate) async fn give_back_slots(&self, claimer: i64, open: &[i64]) -> Result<u64, QueueError> {
        let done = match self {
            Self::Sqlite(pool) => sqlx::query(SQLITE_GIVE_BACK)
                .bind(claimer)
                .bind(serde_json::to_string(open)?)
                .execute(pool)
                .await?
                .rows_affected(),
            Self::Postgres(pool) => sqlx::query(PG_GIVE_BACK)
                .bind(claimer)
                .bind(open)
                .execute(pool)
                .await?
                .rows_affected(),
            Self::Unsupported(b) => return Err(QueueError::UnsupportedBackend(*b)),
        };
        Ok(done)
    }
}

pub(super) fn claimed<R: Row>(row: &R, lease_until: i64) -> Result<ClaimedDelivery, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database>,
{
    Ok(ClaimedDelivery {
        id: row.try_get(0)?,
        attempt: row.try_get(1)?,
        lease_until,
        account_id: row.try_get(2)?,
        webhook_id: row.try_get(3)?,
        trigger: row.try_get(4)?,
        lane: row.try_get(5)?,
        body: row.try_get::<Option<String>, _>(6)?.map(Arc::from),
        webhook_version: row.try_get(7)?,
    })
}
