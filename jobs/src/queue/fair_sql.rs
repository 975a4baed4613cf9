//! The SQL of the fair claim ([`super::fair`]), for SQLite and PostgreSQL.
//!
//! Plans: every statement reads one of the two partial indexes of migration
//! `m20261201_000001`: `deliveries_flow (webhook_id, lane, next_attempt_at, id) WHERE status =
//! 'pending'` enumerates the webhooks with work (a skip scan: one probe per webhook, however
//! long its backlog) and serves each webhook's claim in order; `deliveries_flight (webhook_id,
//! claimed_by) WHERE status = 'in_flight'` counts what a webhook has in flight, and where. SQLite names them with
//! `INDEXED BY` (a plan prepared on an empty table would otherwise scan).

/// Up to `?2` webhooks with pending rows whose id is above `?1`, in id order, each with its
/// limits, its breaker and rate state, its rows in flight, and those of them claimed by another
/// process than `?3`.
pub(super) const SQLITE_CANDIDATES: &str = r"WITH RECURSIVE hooks(id, n) AS (
  SELECT (SELECT min(webhook_id) FROM deliveries INDEXED BY deliveries_flow
          WHERE status = 'pending' AND webhook_id > ?1), 1
  UNION ALL
  SELECT (SELECT min(webhook_id) FROM deliveries INDEXED BY deliveries_flow
          WHERE status = 'pending' AND webhook_id > hooks.id), hooks.n + 1
  FROM hooks WHERE hooks.id IS NOT NULL AND hooks.n < ?2)
SELECT w.id, w.max_in_flight, w.rate_limit, w.ordered, f.next_probe_at, coalesce(f.probes, 0),
       coalesce(f.rate_tat, 0),
       (SELECT count(*) FROM deliveries x INDEXED BY deliveries_flight
        WHERE x.status = 'in_flight' AND x.webhook_id = w.id),
       (SELECT count(*) FROM deliveries x INDEXED BY deliveries_flight
        WHERE x.status = 'in_flight' AND x.webhook_id = w.id AND x.claimed_by IS NOT ?3)
FROM hooks JOIN webhooks w ON w.id = hooks.id LEFT JOIN delivery_flows f ON f.webhook_id = w.id
ORDER BY hooks.n";

/// The webhooks [`SQLITE_CANDIDATES`] enumerates, each locked for this transaction with a
/// transaction-scoped advisory lock (skipped when another process holds it), so two processes
/// never count and claim the same webhook's share at once.
pub(super) const PG_LOCK_CANDIDATES: &str = r"WITH RECURSIVE hooks(id, n) AS (
  SELECT (SELECT min(webhook_id) FROM deliveries WHERE status = 'pending' AND webhook_id > $1), 1
  UNION ALL
  SELECT (SELECT min(webhook_id) FROM deliveries WHERE status = 'pending' AND webhook_id > hooks.id),
         hooks.n + 1
  FROM hooks WHERE hooks.id IS NOT NULL AND hooks.n < $2)
SELECT id FROM hooks WHERE id IS NOT NULL AND pg_try_advisory_xact_lock(id # 5981232743620714043)
ORDER BY n";

/// The state of the locked webhooks `$1`, read after the locks were taken (a new snapshot, so
/// it sees every claim committed before); `$2` = the claiming process.
pub(super) const PG_STATE: &str = r"SELECT w.id, w.max_in_flight, w.rate_limit, w.ordered, f.next_probe_at,
       coalesce(f.probes, 0), coalesce(f.rate_tat, 0),
       (SELECT count(*) FROM deliveries x WHERE x.status = 'in_flight' AND x.webhook_id = w.id),
       (SELECT count(*) FROM deliveries x WHERE x.status = 'in_flight' AND x.webhook_id = w.id
        AND x.claimed_by IS DISTINCT FROM $2)
FROM webhooks w LEFT JOIN delivery_flows f ON f.webhook_id = w.id
WHERE w.id = ANY($1)";

/// Claims up to `?5` due rows of webhook `?3` in lane `?4`, oldest first, for process `?6`.
/// `?1` = lease end, `?2` = now.
pub(super) const SQLITE_CLAIM: &str = r#"UPDATE deliveries
SET status = 'in_flight', lease_until = ?1, updated_at = ?2, claimed_by = ?6
WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_flow
             WHERE status = 'pending' AND webhook_id = ?3 AND lane = ?4 AND next_attempt_at <= ?2
             ORDER BY next_attempt_at, id LIMIT ?5)
RETURNING id, attempts + 1, account_id, webhook_id, "trigger", lane, body,
          (SELECT version FROM webhooks WHERE webhooks.id = deliveries.webhook_id)"#;

/// Same as [`SQLITE_CLAIM`].
pub(super) const PG_CLAIM: &str = r#"UPDATE deliveries d
SET status = 'in_flight', lease_until = $1, updated_at = $2, claimed_by = $6
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
