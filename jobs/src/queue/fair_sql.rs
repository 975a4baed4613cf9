//! The SQL of the fair claim ([`super::fair`]), for SQLite and PostgreSQL.
//!
//! Plans: every statement reads one of two partial indexes: `deliveries_flow (webhook_id, lane,
//! next_attempt_at, id) WHERE status = 'pending'` enumerates the webhooks with work (a skip
//! scan: one probe per webhook, however long its backlog) and serves each webhook's claim in
//! order; `deliveries_flight (webhook_id) WHERE status = 'in_flight'` says whether a webhook has
//! anything in flight. SQLite names them with `INDEXED BY` (a plan prepared on an empty table
//! would otherwise scan); PostgreSQL's claim runs with sorting off (see [`PG_LOCK_CANDIDATES`]).
//! The send slots of each process live in `delivery_slots` (a handful of rows per webhook).

/// Up to `?2` webhooks with pending rows, in id order from the first above `?1` and wrapping
/// around to the lowest (so a claim serves a full round even from the end of the list), each
/// with its limits, its breaker and rate state, whether anything of it is in flight (asked only
/// when ordered or probing), and the send slots of `delivery_slots`: those other processes than
/// `?3` hold unexpired at `?4` (unix ms), how many of them hold one, and this process's grant.
pub(super) const SQLITE_CANDIDATES: &str = r"WITH RECURSIVE hooks(id, n) AS (
  SELECT (SELECT min(webhook_id) FROM deliveries INDEXED BY deliveries_flow
          WHERE status = 'pending' AND webhook_id > ?1), 1
  UNION ALL
  SELECT (SELECT min(webhook_id) FROM deliveries INDEXED BY deliveries_flow
          WHERE status = 'pending' AND webhook_id > hooks.id), hooks.n + 1
  FROM hooks WHERE hooks.id IS NOT NULL AND hooks.n < ?2),
wrapped(id, n) AS (
  SELECT (SELECT min(webhook_id) FROM deliveries INDEXED BY deliveries_flow WHERE status = 'pending'),
         (SELECT count(id) FROM hooks) + 1
  WHERE ?1 > 0 AND (SELECT count(id) FROM hooks) < ?2
  UNION ALL
  SELECT (SELECT min(webhook_id) FROM deliveries INDEXED BY deliveries_flow
          WHERE status = 'pending' AND webhook_id > wrapped.id), wrapped.n + 1
  FROM wrapped WHERE wrapped.id < ?1 AND wrapped.n < ?2),
found(id, n) AS (SELECT id, n FROM hooks UNION ALL SELECT id, n FROM wrapped WHERE id <= ?1)
SELECT w.id, w.max_in_flight, w.rate_limit, w.ordered, f.next_probe_at, coalesce(f.probes, 0),
       coalesce(f.rate_tat, 0),
       CASE WHEN w.ordered OR f.next_probe_at IS NOT NULL THEN
         (SELECT count(*) FROM (SELECT 1 FROM deliveries x INDEXED BY deliveries_flight
                                WHERE x.status = 'in_flight' AND x.webhook_id = w.id LIMIT 1)) ELSE 0 END,
       coalesce((SELECT sum(s.slots) FROM delivery_slots s
                 WHERE s.webhook_id = w.id AND s.claimer <> ?3 AND s.lease_until > ?4), 0),
       (SELECT count(*) FROM delivery_slots s WHERE s.webhook_id = w.id AND s.claimer <> ?3 AND s.lease_until > ?4),
       m.slots, m.lease_until
FROM found JOIN webhooks w ON w.id = found.id LEFT JOIN delivery_flows f ON f.webhook_id = w.id
LEFT JOIN delivery_slots m ON m.webhook_id = w.id AND m.claimer = ?3
ORDER BY found.n";

/// Up to `$2` webhooks with pending rows as [`SQLITE_CANDIDATES`], but going down the ids
/// (below `$1`, wrapping to the top; 0 = from the top), each locked for this transaction with
/// a transaction-scoped advisory lock (skipped when another process holds it), so two processes
/// never grant and claim the same webhook's share at once. Downwards because a webhook's
/// oldest entries in `deliveries_flow` are the rows just claimed, dead until a vacuum: a probe
/// from the top of its range finds a pending row at once, one from the bottom walks them all.
///
/// It also pins the plans of the statements after it in the transaction (`pin`; not its own,
/// which is planned before it runs — with sorting off this one costs 200 ms): sorting off
/// keeps the claim ([`PG_CLAIM`]) on the order of `deliveries_flow` (with the statistics of a
/// young table the planner otherwise reads a webhook's whole backlog through `deliveries_due`
/// and sorts it: 0.8 ms per claim at a backlog of 900 rows, growing with it); generic plans
/// spare the planning of [`PG_STATE`] on every claim (an `= ANY($1)` statement is otherwise
/// planned anew each time: 0.4 ms of planning for 0.05 ms of work).
pub(super) const PG_LOCK_CANDIDATES: &str = r"WITH RECURSIVE hooks(id, n) AS (
  SELECT (SELECT max(webhook_id) FROM deliveries
          WHERE status = 'pending' AND webhook_id < coalesce(nullif($1, 0), 9223372036854775807)), 1
  UNION ALL
  SELECT (SELECT max(webhook_id) FROM deliveries WHERE status = 'pending' AND webhook_id < hooks.id),
         hooks.n + 1
  FROM hooks WHERE hooks.id IS NOT NULL AND hooks.n < $2),
wrapped(id, n) AS (
  SELECT (SELECT max(webhook_id) FROM deliveries WHERE status = 'pending'), (SELECT count(id) FROM hooks) + 1
  WHERE $1 > 0 AND (SELECT count(id) FROM hooks) < $2
  UNION ALL
  SELECT (SELECT max(webhook_id) FROM deliveries WHERE status = 'pending' AND webhook_id < wrapped.id),
         wrapped.n + 1
  FROM wrapped WHERE wrapped.id > $1 AND wrapped.n < $2),
found(id, n) AS (SELECT id, n FROM hooks UNION ALL SELECT id, n FROM wrapped WHERE id >= $1)
SELECT id FROM found,
  (SELECT set_config('enable_sort', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)) AS pin
WHERE id IS NOT NULL AND pg_try_advisory_xact_lock(id # 5981232743620714043)
ORDER BY n";

/// The state of the locked webhooks `$1` as in [`SQLITE_CANDIDATES`], read after the locks
/// were taken (a new snapshot, so it sees every grant committed before); `$2` = the claiming
/// process, `$3` = now.
pub(super) const PG_STATE: &str = r"SELECT w.id, w.max_in_flight, w.rate_limit, w.ordered, f.next_probe_at,
       coalesce(f.probes, 0), coalesce(f.rate_tat, 0),
       CASE WHEN w.ordered OR f.next_probe_at IS NOT NULL THEN
         (SELECT count(*) FROM (SELECT 1 FROM deliveries x
                                WHERE x.status = 'in_flight' AND x.webhook_id = w.id LIMIT 1) y) ELSE 0 END,
       coalesce((SELECT sum(s.slots) FROM delivery_slots s
                 WHERE s.webhook_id = w.id AND s.claimer <> $2 AND s.lease_until > $3), 0),
       (SELECT count(*) FROM delivery_slots s WHERE s.webhook_id = w.id AND s.claimer <> $2 AND s.lease_until > $3),
       m.slots, m.lease_until
FROM webhooks w LEFT JOIN delivery_flows f ON f.webhook_id = w.id
LEFT JOIN delivery_slots m ON m.webhook_id = w.id AND m.claimer = $2
WHERE w.id = ANY($1)";

/// Claims up to `?5` due rows of webhook `?3` in lane `?4`, oldest first.
/// `?1` = lease end, `?2` = now.
pub(super) const SQLITE_CLAIM: &str = r#"UPDATE deliveries
SET status = 'in_flight', lease_until = ?1, updated_at = ?2
WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_flow
             WHERE status = 'pending' AND webhook_id = ?3 AND lane = ?4 AND next_attempt_at <= ?2
             ORDER BY next_attempt_at, id LIMIT ?5)
RETURNING id, attempts + 1, account_id, webhook_id, "trigger", lane, body,
          (SELECT version FROM webhooks WHERE webhooks.id = deliveries.webhook_id)"#;

/// Same as [`SQLITE_CLAIM`].
pub(super) const PG_CLAIM: &str = r#"UPDATE deliveries d
SET status = 'in_flight', lease_until = $1, updated_at = $2
WHERE d.id IN (SELECT id FROM deliveries
               WHERE status = 'pending' AND webhook_id = $3 AND lane = $4 AND next_attempt_at <= $2
               ORDER BY next_attempt_at, id LIMIT $5 FOR UPDATE SKIP LOCKED)
RETURNING d.id, d.attempts + 1, d.account_id, d.webhook_id, d."trigger", d.lane, d.body,
          (SELECT w.version FROM webhooks w WHERE w.id = d.webhook_id)"#;

/// When the oldest retry (lane 1) of webhook `?1` is due; an ordered webhook's head when it
/// has one.
pub(super) const SQLITE_RETRY_HEAD: &str = r"SELECT next_attempt_at FROM deliveries INDEXED BY deliveries_flow
WHERE status = 'pending' AND webhook_id = ?1 AND lane = 1 ORDER BY next_attempt_at, id LIMIT 1";

/// Same as [`SQLITE_RETRY_HEAD`].
pub(super) const PG_RETRY_HEAD: &str = r"SELECT next_attempt_at FROM deliveries
WHERE status = 'pending' AND webhook_id = $1 AND lane = 1 ORDER BY next_attempt_at, id LIMIT 1";

/// A probe was claimed: the next one waits `?2` (unix ms).
pub(super) const SQLITE_PROBED: &str =
    "UPDATE delivery_flows SET next_probe_at = ?2, probes = probes + 1 WHERE webhook_id = ?1";

/// Same as [`SQLITE_PROBED`].
pub(super) const PG_PROBED: &str =
    "UPDATE delivery_flows SET next_probe_at = $2, probes = probes + 1 WHERE webhook_id = $1";

/// The rate limiter's clock of webhook `?1` moved to `?2` (unix µs).
pub(super) const SQLITE_RATE: &str = "INSERT INTO delivery_flows (webhook_id, rate_tat) VALUES (?1, ?2) \
     ON CONFLICT (webhook_id) DO UPDATE SET rate_tat = excluded.rate_tat";

/// Same as [`SQLITE_RATE`].
pub(super) const PG_RATE: &str = "INSERT INTO delivery_flows (webhook_id, rate_tat) VALUES ($1, $2) \
     ON CONFLICT (webhook_id) DO UPDATE SET rate_tat = excluded.rate_tat";

/// This process's (`?2`) grant of `?3` send slots of webhook `?1`, held until `?4` (unix ms).
pub(super) const SQLITE_GRANT: &str = "INSERT INTO delivery_slots (webhook_id, claimer, slots, lease_until) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (webhook_id, claimer) DO UPDATE \
     SET slots = excluded.slots, lease_until = excluded.lease_until";

/// Same as [`SQLITE_GRANT`].
pub(super) const PG_GRANT: &str = "INSERT INTO delivery_slots (webhook_id, claimer, slots, lease_until) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (webhook_id, claimer) DO UPDATE \
     SET slots = excluded.slots, lease_until = excluded.lease_until";

/// Forgets the lapsed grants of webhook `?1` (of processes gone) before a grant is written.
pub(super) const SQLITE_LAPSED: &str = "DELETE FROM delivery_slots WHERE webhook_id = ?1 AND lease_until <= ?2";

/// Same as [`SQLITE_LAPSED`].
pub(super) const PG_LAPSED: &str = "DELETE FROM delivery_slots WHERE webhook_id = $1 AND lease_until <= $2";
