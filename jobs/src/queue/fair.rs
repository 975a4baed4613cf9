//! The fair claim: round-robin over the webhooks with work, each within its own limits.
//!
//! One claim is one transaction (SQLite: `BEGIN IMMEDIATE`, so claims of all processes are
//! serialised; PostgreSQL: each webhook is taken under a transaction-scoped advisory lock, and
//! its state is read after the lock; webhooks needing no bookkeeping go first, in one round
//! trip without a lock: [`super::fast`]). It:
//! 1. enumerates up to [`QueueConfig::fair_webhooks`] webhooks with pending rows from the
//!    process's cursor (SQLite up the ids, PostgreSQL down; wrapping around), so a backlog of
//!    one webhook costs one index probe, not a scan, and every webhook with work gets a turn;
//! 2. gives each one a share of the batch, bounded by
//!    - its **in-flight cap** (`webhooks.max_in_flight`), shared out as send slots
//!      (`delivery_slots`, [`super::slots`]): this process's grant is held by its send gate
//!      ([`super::gate`]), with at most [`PIPELINE`] × that buffered or being sent here, so a
//!      hanging endpoint holds its own slots, never the process's;
//!    - its **circuit breaker** (`delivery_flows.next_probe_at` set): nothing, except one probe
//!      when the probe is due and nothing is in flight; the next probe is pushed out at once;
//!    - its **rate limit** (GCRA over `delivery_flows.rate_tat`, a burst of at most
//!      [`RATE_WINDOW`](super::pacing::RATE_WINDOW)'s worth): the excess simply stays pending;
//!    - **ordering** (`webhooks.ordered`): one in flight, the head in ingest order (its
//!      waiting retry holds the rest);
//! 3. claims each share first from lane 0 (first attempts), then lane 1 (retries, due ones,
//!    within the process's retry budget).

use std::collections::HashMap;

use sqlx::{Postgres, Row, Sqlite, Transaction};

pub(crate) use super::ask::{Ask, Got};
use super::fair_sql::{
    PG_CLAIM, PG_GRANT, PG_LAPSED, PG_LOCK_CANDIDATES, PG_PROBED, PG_RATE, PG_RETRY_HEAD, PG_STATE, SQLITE_CANDIDATES,
    SQLITE_CLAIM, SQLITE_GRANT, SQLITE_LAPSED, SQLITE_PROBED, SQLITE_RATE, SQLITE_RETRY_HEAD,
};
use super::gate::{Gates, PIPELINE};
use super::pacing::{next_probe_at, rate_room};
use super::slots::{grant_outdated, slot_share};
use super::sql::{Pool, claimed};
use super::{ClaimedDelivery, QueueConfig, QueueError};

/// One webhook with pending rows and what limits it.
#[derive(Debug)]
struct Candidate {
    webhook_id: i64,
    max_in_flight: i64,
    rate_limit: Option<i32>,
    ordered: bool,
    next_probe_at: Option<i64>,
    probes: i32,
    rate_tat: i64,
    /// Anything of it in flight, in any process (asked only when ordered or probing).
    in_flight: bool,
    /// Send slots other processes hold unexpired.
    others: i64,
    /// Other processes holding an unexpired grant, of any size (zero: waiting for a share).
    rivals: i64,
    /// This process's grant: slots, and until when (unix ms).
    mine: Option<(i32, i64)>,
}

enum Txn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

fn candidate<R: Row>(row: &R) -> Result<Candidate, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database>,
    Option<i32>: for<'r> sqlx::Decode<'r, R::Database>,
{
    let mine_slots: Option<i32> = row.try_get(10)?;
    let mine_until: Option<i64> = row.try_get(11)?;
    Ok(Candidate {
        webhook_id: row.try_get(0)?,
        max_in_flight: i64::from(row.try_get::<i32, _>(1)?),
        rate_limit: row.try_get(2)?,
        ordered: row.try_get(3)?,
        next_probe_at: row.try_get(4)?,
        probes: row.try_get(5)?,
        rate_tat: row.try_get(6)?,
        in_flight: row.try_get::<i64, _>(7)? > 0,
        others: row.try_get(8)?,
        rivals: row.try_get(9)?,
        mine: mine_slots.zip(mine_until),
    })
}

impl Txn {
    async fn candidates(&mut self, cursor: i64, max: usize, ask: &Ask) -> Result<Vec<Candidate>, QueueError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        Ok(match self {
            Self::Sqlite(t) => sqlx::query(SQLITE_CANDIDATES)
                .bind(cursor)
                .bind(max)
                .bind(ask.claimer)
                .bind(ask.now)
                .fetch_all(&mut **t)
                .await?
                .iter()
                .map(candidate)
                .collect::<Result<_, _>>()?,
            Self::Postgres(t) => {
                let ids: Vec<i64> = sqlx::query_scalar(PG_LOCK_CANDIDATES)
                    .bind(cursor)
                    .bind(max)
                    .fetch_all(&mut **t)
                    .await?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut found: Vec<Candidate> = sqlx::query(PG_STATE)
                    .bind(&ids)
                    .bind(ask.claimer)
                    .bind(ask.now)
                    .fetch_all(&mut **t)
                    .await?
                    .iter()
                    .map(candidate)
                    .collect::<Result<_, _>>()?;
                found.sort_by_key(|c| ids.iter().position(|id| *id == c.webhook_id));
                found
            }
        })
    }

    async fn claim(
        &mut self,
        webhook_id: i64,
        lane: i32,
        limit: usize,
        ask: &Ask,
    ) -> Result<Vec<ClaimedDelivery>, QueueError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let lease = ask.lease_until;
        Ok(match self {
            Self::Sqlite(t) => sqlx::query(SQLITE_CLAIM)
                .bind(lease)
                .bind(ask.now)
                .bind(webhook_id)
                .bind(lane)
                .bind(limit)
                .fetch_all(&mut **t)
                .await?
                .iter()
                .map(|r| claimed(r, lease))
                .collect::<Result<_, _>>()?,
            Self::Postgres(t) => sqlx::query(PG_CLAIM)
                .bind(lease)
                .bind(ask.now)
                .bind(webhook_id)
                .bind(lane)
                .bind(limit)
                .fetch_all(&mut **t)
                .await?
                .iter()
                .map(|r| claimed(r, lease))
                .collect::<Result<_, _>>()?,
        })
    }

    async fn retry_head(&mut self, webhook_id: i64) -> Result<Option<i64>, QueueError> {
        Ok(match self {
            Self::Sqlite(t) => {
                sqlx::query_scalar(SQLITE_RETRY_HEAD)
                    .bind(webhook_id)
                    .fetch_optional(&mut **t)
                    .await?
            }
            Self::Postgres(t) => {
                sqlx::query_scalar(PG_RETRY_HEAD)
                    .bind(webhook_id)
                    .fetch_optional(&mut **t)
                    .await?
            }
        })
    }

    async fn write(&mut self, change: &FlowChange, ask: &Ask) -> Result<(), QueueError> {
        match *change {
            FlowChange::Probed { webhook_id, next } => self.exec(SQLITE_PROBED, PG_PROBED, &[webhook_id, next]).await,
            FlowChange::Rate { webhook_id, tat } => self.exec(SQLITE_RATE, PG_RATE, &[webhook_id, tat]).await,
            FlowChange::Grant { webhook_id, slots } => {
                self.exec(SQLITE_LAPSED, PG_LAPSED, &[webhook_id, ask.now]).await?;
                let grant = [webhook_id, ask.claimer, slots, ask.lease_until];
                self.exec(SQLITE_GRANT, PG_GRANT, &grant).await
            }
        }
    }

    /// Runs the SQLite or PostgreSQL variant of a statement with these parameters.
    async fn exec(&mut self, sqlite: &'static str, pg: &'static str, params: &[i64]) -> Result<(), QueueError> {
        match self {
            Self::Sqlite(t) => {
                let mut q = sqlx::query(sqlite);
                for p in params {
                    q = q.bind(*p);
                }
                q.execute(&mut **t).await?;
            }
            Self::Postgres(t) => {
                let mut q = sqlx::query(pg);
                for p in params {
                    q = q.bind(*p);
                }
                q.execute(&mut **t).await?;
            }
        }
        Ok(())
    }

    async fn commit(self) -> Result<(), QueueError> {
        match self {
            Self::Sqlite(t) => t.commit().await?,
            Self::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// A change of `delivery_flows` or `delivery_slots` made by a claim, written at its end in
/// webhook order (so two transactions touching the same rows lock them in the same order).
#[derive(Debug)]
enum FlowChange {
    Probed {
        webhook_id: i64,
        next: i64,
    },
    Rate {
        webhook_id: i64,
        tat: i64,
    },
    /// This process's send slots of the webhook, held until the claim's lease end.
    Grant {
        webhook_id: i64,
        slots: i64,
    },
}

impl FlowChange {
    fn webhook_id(&self) -> i64 {
        match self {
            Self::Probed { webhook_id, .. } | Self::Rate { webhook_id, .. } | Self::Grant { webhook_id, .. } => {
                *webhook_id
            }
        }
    }
}

impl Pool {
    /// Claims up to `ask.limit` rows fairly across webhooks (see the module doc) for the
    /// process whose send gates are `gates`. A webhook's gate is narrowed to its new share
    /// before the grant is written; the caller widens the gates to [`Got::caps`] once the claim
    /// has committed (so a gate never allows more than the grant stored).
    pub(crate) async fn claim_fair(&self, ask: Ask, cfg: &QueueConfig, gates: &Gates) -> Result<Got, QueueError> {
        let (Self::Postgres(pool), 0) = (self, ask.retries) else {
            return self.claim_locked(ask, cfg, gates, &HashMap::new()).await;
        };
        let mut fast = super::fast::claim(pool, &ask, cfg, gates).await?;
        let room = ask.limit.saturating_sub(fast.got.rows.len());
        if !fast.rest || room == 0 {
            fast.got.more |= room == 0;
            return Ok(fast.got);
        }
        let mut taken: HashMap<i64, usize> = HashMap::new();
        for row in &fast.got.rows {
            *taken.entry(row.webhook_id).or_default() += 1;
        }
        let got = self
            .claim_locked(Ask { limit: room, ..ask }, cfg, gates, &taken)
            .await?;
        Ok(fast.got.then(got))
    }

    /// The claim under the webhooks' locks (all of it on SQLite: `BEGIN IMMEDIATE` serialises
    /// claims); `taken` = rows per webhook this claim already took without them.
    async fn claim_locked(
        &self,
        ask: Ask,
        cfg: &QueueConfig,
        gates: &Gates,
        taken: &HashMap<i64, usize>,
    ) -> Result<Got, QueueError> {
        let mut txn = match self {
            Self::Sqlite(pool) => Txn::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Txn::Postgres(pool.begin().await?),
            Self::Unsupported(b) => return Err(QueueError::UnsupportedBackend(*b)),
        };
        let max = cfg.fair_webhooks.max(1);
        let found = txn.candidates(ask.cursor, max, &ask).await?;
        // A full round goes on after its last webhook; a shorter one served every webhook with
        // work, so the next starts over.
        let cursor = if found.len() < max {
            0
        } else {
            found.last().map_or(0, |c| c.webhook_id)
        };
        let mut got = Got {
            cursor,
            more: found.len() >= max,
            ..Got::default()
        };
        let mut changes = Vec::new();
        let now_us = ask.now.saturating_mul(1000);
        let share = ask.limit.div_ceil(found.len().max(1)).max(1);
        for c in &found {
            let room = ask.limit.saturating_sub(got.rows.len());
            if room == 0 {
                got.more = true;
                break;
            }
            let cap = slot_share(c.max_in_flight, c.others, c.rivals);
            let (sending, busy) = gates.narrow(c.webhook_id, cap);
            let busy = busy + taken.get(&c.webhook_id).copied().unwrap_or(0);
            let grant = cap.max(sending);
            if grant_outdated(c.mine, grant, &ask) {
                changes.push(FlowChange::Grant {
                    webhook_id: c.webhook_id,
                    slots: i64::try_from(grant).unwrap_or(i64::MAX),
                });
            }
            got.caps.insert(c.webhook_id, cap);
            let pipeline = (cap * PIPELINE).saturating_sub(busy);
            let mut take = pipeline.min(share).min(room);
            if c.ordered {
                take = take.min(usize::from(!c.in_flight));
            }
            let pipelined = take < share.min(room);
            let probing = c.next_probe_at.is_some();
            if probing {
                got.paused.push((c.webhook_id, c.probes == 0));
                take = usize::from(c.next_probe_at.is_some_and(|at| at <= ask.now) && !c.in_flight).min(take);
            }
            let rate = c.rate_limit.map(|r| (r, rate_room(r, c.rate_tat, now_us)));
            if let Some((_, (allowed, _))) = rate {
                take = take.min(allowed);
            }
            if take == 0 {
                got.more = true;
                got.held |= pipelined;
                continue;
            }
            let rows = claim_webhook(&mut txn, c, take, &ask, ask.retries - got.retries).await?;
            // Taking all it was allowed means more may be due; fewer, that the webhook ran out.
            got.more |= rows.len() >= take;
            got.held |= pipelined && rows.len() >= take;
            if rows.is_empty() {
                continue;
            }
            let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            if probing {
                let next = next_probe_at(cfg, c.probes, ask.now);
                changes.push(FlowChange::Probed {
                    webhook_id: c.webhook_id,
                    next,
                });
            }
            if let Some((r, (_, start))) = rate {
                let tat = start + n * (1_000_000 / i64::from(r.max(1)));
                changes.push(FlowChange::Rate {
                    webhook_id: c.webhook_id,
                    tat,
                });
            }
            got.retries += rows.iter().filter(|r| r.lane != 0).count();
            got.rows.extend(rows);
        }
        changes.sort_by_key(FlowChange::webhook_id);
        for change in &changes {
            txn.write(change, &ask).await?;
        }
        txn.commit().await?;
        Ok(got)
    }
}

/// Claims up to `take` rows of one webhook: the head only when it is ordered, otherwise first
/// attempts, then due retries within `retries`.
async fn claim_webhook(
    txn: &mut Txn,
    c: &Candidate,
    take: usize,
    ask: &Ask,
    retries: usize,
) -> Result<Vec<ClaimedDelivery>, QueueError> {
    if c.ordered {
        return match txn.retry_head(c.webhook_id).await? {
            Some(due) if due <= ask.now && retries > 0 => txn.claim(c.webhook_id, 1, 1, ask).await,
            Some(_) => Ok(Vec::new()),
            None => txn.claim(c.webhook_id, 0, 1, ask).await,
        };
    }
    let mut rows = txn.claim(c.webhook_id, 0, take, ask).await?;
    let rest = (take - rows.len()).min(retries);
    if rest > 0 {
        rows.extend(txn.claim(c.webhook_id, 1, rest, ask).await?);
    }
    Ok(rows)
}
