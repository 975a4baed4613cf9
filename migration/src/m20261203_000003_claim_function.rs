//! `herald_claim_fast`: PostgreSQL's common claim in one round trip (the delivery queue's
//! `fair` module calls it; SQLite has no stored functions and needs none: its claim runs in
//! process). The common case is a webhook whose limits need no bookkeeping: no rate limit, not
//! ordered, breaker closed, and this process holding a grant of send slots that is fresh and
//! still its fair share. Such a webhook's rows are claimed without a lock: the grant, enforced
//! by the process's send gate, already bounds what it sends. Every other webhook with work is
//! returned unclaimed (`fast` false) for the locked claim, which also writes grants.
//!
//! Why a function: its `SET` clauses pin the plans of its statement whatever the statistics
//! (sorting off keeps the row pick on `deliveries_flow`'s order; hash and merge joins off keep
//! the update on the primary key — a plan made while the table was young otherwise scans it
//! whole on every claim; JIT off, as the disabled sort's cost would otherwise trigger a
//! compilation of 150 ms; generic plans, cached per session),
//! which a single statement cannot do for itself, and a transaction around it would cost two
//! more round trips per claim.
//!
//! The round-robin goes down the webhook ids from below the cursor, as the locked claim does on
//! PostgreSQL (without wrapping around: a round cut short by the lowest id leaves the cursor at
//! 0, so the next claim starts from the top): a webhook's newest index entries are its pending rows,
//! while its oldest are those just claimed, which stay in the index, dead, until a vacuum —
//! finding the next webhook from the top of its range costs one probe, from the bottom a walk
//! over every row claimed since (a second walk per claim besides the one that picks the rows).
//!
//! Arguments: cursor and number of webhooks of the round-robin, the claiming process, now and
//! the lease end (unix ms), the claim's size, the process's busy rows per webhook (two arrays),
//! the pipeline factor, and how long a grant must still hold to be used (unix ms).

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREATE: &str = r#"CREATE FUNCTION herald_claim_fast(
    p_cursor bigint, p_hooks bigint, p_claimer bigint, p_now bigint, p_lease_until bigint, p_limit bigint,
    p_busy_ids bigint[], p_busy_n bigint[], p_pipeline bigint, p_fresh_until bigint)
RETURNS TABLE (id bigint, attempt integer, account_id bigint, webhook_id bigint, "trigger" varchar,
               lane integer, body text, version bigint, fast boolean, slots integer, held boolean)
LANGUAGE plpgsql
SET enable_sort = off SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH RECURSIVE hooks(hid, n) AS (
  SELECT (SELECT max(x.webhook_id) FROM deliveries x
          WHERE x.status = 'pending' AND x.webhook_id < coalesce(nullif(p_cursor, 0), 9223372036854775807)), 1::bigint
  UNION ALL
  SELECT (SELECT max(x.webhook_id) FROM deliveries x WHERE x.status = 'pending' AND x.webhook_id < hooks.hid),
         hooks.n + 1
  FROM hooks WHERE hooks.hid IS NOT NULL AND hooks.n < p_hooks),
found(hid, n) AS (SELECT h.hid, h.n FROM hooks h WHERE h.hid IS NOT NULL),
state AS (
  SELECT w.id AS hid, found.n, m.slots AS mine,
         coalesce(w.rate_limit IS NULL AND NOT w.ordered AND f.next_probe_at IS NULL
                  AND m.lease_until >= p_fresh_until
                  AND m.slots = greatest(least((w.max_in_flight + r.rivals) / (r.rivals + 1),
                                               w.max_in_flight - r.others), 0), false) AS fast,
         greatest(coalesce(m.slots, 0) * p_pipeline - coalesce(b.busy, 0), 0) AS room,
         (p_limit + (SELECT count(*) FROM found) - 1) / (SELECT count(*) FROM found) AS share
  FROM found JOIN webhooks w ON w.id = found.hid
  LEFT JOIN delivery_flows f ON f.webhook_id = w.id
  LEFT JOIN delivery_slots m ON m.webhook_id = w.id AND m.claimer = p_claimer
  CROSS JOIN LATERAL (SELECT coalesce(sum(s.slots), 0) AS others, count(*) AS rivals FROM delivery_slots s
                      WHERE s.webhook_id = w.id AND s.claimer <> p_claimer AND s.lease_until > p_now) r
  LEFT JOIN unnest(p_busy_ids, p_busy_n) AS b(bid, busy) ON b.bid = w.id),
picked AS (
  SELECT p.pid FROM state CROSS JOIN LATERAL (
    SELECT x.id AS pid FROM deliveries x
    WHERE x.status = 'pending' AND x.webhook_id = state.hid AND x.lane = 0 AND x.next_attempt_at <= p_now
    ORDER BY x.next_attempt_at, x.id LIMIT least(state.room, state.share) FOR UPDATE SKIP LOCKED) p
  WHERE state.fast AND state.room > 0),
claimed AS (
  UPDATE deliveries d SET status = 'in_flight', lease_until = p_lease_until, updated_at = p_now
  FROM picked WHERE d.id = picked.pid
  RETURNING d.id AS cid, d.attempts + 1 AS cattempt, d.account_id AS caccount, d.webhook_id AS chook,
            d."trigger" AS ctrigger, d.lane AS clane, d.body AS cbody)
SELECT c.cid, c.cattempt, c.caccount, state.hid, c.ctrigger, c.clane, c.cbody,
       (SELECT v.version FROM webhooks v WHERE v.id = state.hid), state.fast, state.mine,
       state.fast AND state.room < state.share
FROM state LEFT JOIN claimed c ON c.chook = state.hid
ORDER BY state.n, c.cid;
END
$fn$"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection().execute_unprepared(CREATE).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP FUNCTION herald_claim_fast")
                .await?;
        }
        Ok(())
    }
}
