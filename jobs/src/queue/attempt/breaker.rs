//! The circuit breaker's bookkeeping, done inside the settle transaction: per webhook, failed
//! attempts in a row (`delivery_flows.failures`), since when, and whether the breaker is open
//! (`next_probe_at` set).
//!
//! - A success closes everything: the run of failures ends and an open breaker closes at once,
//!   so the rest of the queue flows again from the next claim on.
//! - A failure adds to the run; when it reaches [`QueueConfig::breaker_after`] the breaker
//!   opens and the first probe is due after [`QueueConfig::probe_first`]. The claim then hands
//!   out single probes (and pushes the next one out, doubling up to `probe_max`); the waiting
//!   deliveries spend no attempts.
//!
//! On PostgreSQL the flows rows are read `FOR UPDATE` in webhook order, so settles of several
//! processes count one run of failures, and open a breaker once.

use std::collections::{BTreeMap, HashMap};

use sqlx::{Postgres, Row, Sqlite, Transaction};

use super::Settled;
use crate::queue::ops::Transition;
use crate::queue::pacing::next_probe_at;
use crate::queue::{QueueConfig, QueueError};
use entity::delivery::DeliveryStatus;

const SQLITE_READ: &str = "SELECT webhook_id, failures, failing_since, next_probe_at FROM delivery_flows \
     WHERE webhook_id IN (SELECT value FROM json_each(?1))";
const PG_READ: &str = "SELECT webhook_id, failures, failing_since, next_probe_at FROM delivery_flows \
     WHERE webhook_id = ANY($1) ORDER BY webhook_id FOR UPDATE";
const SQLITE_WRITE: &str = "INSERT INTO delivery_flows (webhook_id, failures, failing_since, next_probe_at, probes) \
     VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT (webhook_id) DO UPDATE SET failures = excluded.failures, \
     failing_since = excluded.failing_since, next_probe_at = excluded.next_probe_at, \
     probes = CASE WHEN ?5 THEN 0 ELSE delivery_flows.probes END";
const PG_WRITE: &str = "INSERT INTO delivery_flows (webhook_id, failures, failing_since, next_probe_at, probes) \
     VALUES ($1, $2, $3, $4, 0) ON CONFLICT (webhook_id) DO UPDATE SET failures = excluded.failures, \
     failing_since = excluded.failing_since, next_probe_at = excluded.next_probe_at, \
     probes = CASE WHEN $5 THEN 0 ELSE delivery_flows.probes END";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Flow {
    failures: i32,
    failing_since: Option<i64>,
    next_probe_at: Option<i64>,
}

fn flow<R: Row>(row: &R) -> Result<(i64, Flow), sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database>,
{
    Ok((
        row.try_get(0)?,
        Flow {
            failures: row.try_get(1)?,
            failing_since: row.try_get(2)?,
            next_probe_at: row.try_get(3)?,
        },
    ))
}

/// The new state of every webhook whose flow changes, with what to write and report.
struct Change {
    webhook_id: i64,
    flow: Flow,
    reset_probes: bool,
    transition: Option<Transition>,
}

/// Folds the recorded attempts of a batch (in order) into the stored flows.
fn fold(rows: &[&Settled], stored: &HashMap<i64, Flow>, cfg: &QueueConfig, now: i64) -> Vec<Change> {
    let mut by_hook: BTreeMap<i64, (i64, Flow, Flow, bool)> = BTreeMap::new();
    for s in rows {
        let Some(row) = &s.row else { continue };
        let id = s.claim.webhook_id;
        let before = stored.get(&id).copied().unwrap_or_default();
        let entry = by_hook.entry(id).or_insert((s.claim.account_id, before, before, false));
        let f = &mut entry.2;
        if s.status == DeliveryStatus::Succeeded {
            *f = Flow::default();
            continue;
        }
        f.failures = f.failures.saturating_add(1);
        f.failing_since = f.failing_since.or(Some(row.started_at));
        let threshold = i32::try_from(cfg.breaker_after.max(1)).unwrap_or(i32::MAX);
        if f.next_probe_at.is_none() && f.failures >= threshold {
            f.next_probe_at = Some(next_probe_at(cfg, 0, now));
            entry.3 = true;
        }
    }
    by_hook
        .into_iter()
        .filter(|(_, (_, before, after, _))| before != after)
        .map(|(webhook_id, (account_id, before, after, opened))| {
            let transition = match (before.next_probe_at, after.next_probe_at) {
                (None, Some(next_probe_at)) if opened => Some(Transition::Opened {
                    account_id,
                    webhook_id,
                    failing_since: after.failing_since.unwrap_or(now),
                    next_probe_at,
                }),
                (Some(_), None) => Some(Transition::Recovered { account_id, webhook_id }),
                _ => None,
            };
            Change {
                webhook_id,
                flow: after,
                reset_probes: before.next_probe_at.is_some() != after.next_probe_at.is_some(),
                transition,
            }
        })
        .collect()
}

fn hooks(rows: &[&Settled]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.iter().map(|s| s.claim.webhook_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Whether the batch can leave the breakers alone: every attempt succeeded and no webhook of
/// theirs had a failure run or an open breaker (`flows`, as the settle update read it), which
/// is the steady state of a healthy endpoint and spares the settle a locking read. A run or an
/// opening committed by another process after that read is ordered after these successes.
fn untouched(rows: &[&Settled], flows: bool) -> bool {
    rows.is_empty() || (!flows && rows.iter().all(|s| s.status == DeliveryStatus::Succeeded))
}

/// SQLite: updates the flows of the webhooks of `rows` (recorded attempts only); `flows`: a
/// webhook of theirs had a breaker state to mind.
pub(super) async fn sqlite(
    txn: &mut Transaction<'static, Sqlite>,
    rows: &[&Settled],
    flows: bool,
    cfg: &QueueConfig,
    now: i64,
) -> Result<Vec<Transition>, QueueError> {
    if untouched(rows, flows) {
        return Ok(Vec::new());
    }
    let read = sqlx::query::<Sqlite>(SQLITE_READ).bind(serde_json::to_string(&hooks(rows))?);
    apply::<Sqlite>(&mut **txn, read, SQLITE_WRITE, rows, cfg, now).await
}

/// PostgreSQL: as [`sqlite`], with the flows rows locked in webhook order.
pub(super) async fn postgres(
    txn: &mut Transaction<'static, Postgres>,
    rows: &[&Settled],
    flows: bool,
    cfg: &QueueConfig,
    now: i64,
) -> Result<Vec<Transition>, QueueError> {
    if untouched(rows, flows) {
        return Ok(Vec::new());
    }
    let read = sqlx::query::<Postgres>(PG_READ).bind(hooks(rows));
    apply::<Postgres>(&mut **txn, read, PG_WRITE, rows, cfg, now).await
}

/// Reads the stored flows (`read`), folds the batch into them and writes each change with
/// `write`: the same steps on either database, only the SQL differs.
async fn apply<DB>(
    conn: &mut DB::Connection,
    read: sqlx::query::Query<'_, DB, DB::Arguments>,
    write: &'static str,
    rows: &[&Settled],
    cfg: &QueueConfig,
    now: i64,
) -> Result<Vec<Transition>, QueueError>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
    for<'v> i64: sqlx::Decode<'v, DB> + sqlx::Encode<'v, DB> + sqlx::Type<DB>,
    for<'v> i32: sqlx::Decode<'v, DB> + sqlx::Encode<'v, DB> + sqlx::Type<DB>,
    for<'v> Option<i64>: sqlx::Decode<'v, DB> + sqlx::Encode<'v, DB>,
    for<'v> bool: sqlx::Encode<'v, DB> + sqlx::Type<DB>,
{
    let stored: HashMap<i64, Flow> = read
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(flow)
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for c in fold(rows, &stored, cfg, now) {
        sqlx::query::<DB>(write)
            .bind(c.webhook_id)
            .bind(c.flow.failures)
            .bind(c.flow.failing_since)
            .bind(c.flow.next_probe_at)
            .bind(c.reset_probes)
            .execute(&mut *conn)
            .await?;
        out.extend(c.transition);
    }
    Ok(out)
}
