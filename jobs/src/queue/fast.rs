//! PostgreSQL's common claim in one round trip: `herald_claim_fast` (migration
//! `m20261203_000003`) claims first attempts of every webhook with work whose limits need no
//! bookkeeping (no rate limit, not ordered, breaker closed) and for which this process holds a
//! fresh grant of send slots that is still its fair share; no lock is needed, since the grant,
//! held by the process's send gate, already bounds what it sends. The other webhooks with work
//! come back unclaimed for the locked claim ([`super::fair`]), which writes grants.
//!
//! Before it, a claim was five round trips (begin, candidates under advisory locks, their
//! state, the rows, commit) where the claim of `d72cb51` was one; this restores one in the
//! steady state.

use std::collections::HashMap;

use sqlx::{PgPool, Row};

use super::ask::{Ask, Got};
use super::gate::{Gates, PIPELINE};
use super::sql::claimed;
use super::{QueueConfig, QueueError};

const PG_FAST: &str = "SELECT * FROM herald_claim_fast($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// What the fast claim brought back.
pub(super) struct Fast {
    pub got: Got,
    /// Webhooks with work were left for the locked claim.
    pub rest: bool,
}

/// Claims what it can of the next round of webhooks (see the module doc).
pub(super) async fn claim(pool: &PgPool, ask: &Ask, cfg: &QueueConfig, gates: &Gates) -> Result<Fast, QueueError> {
    let busy: HashMap<i64, usize> = gates.busy();
    let (ids, counts): (Vec<i64>, Vec<i64>) = busy
        .iter()
        .map(|(id, n)| (*id, i64::try_from(*n).unwrap_or(i64::MAX)))
        .unzip();
    let hooks = i64::try_from(cfg.fair_webhooks.max(1)).unwrap_or(i64::MAX);
    let rows = sqlx::query(PG_FAST)
        .bind(ask.cursor)
        .bind(hooks)
        .bind(ask.claimer)
        .bind(ask.now)
        .bind(ask.lease_until)
        .bind(i64::try_from(ask.limit).unwrap_or(i64::MAX))
        .bind(ids)
        .bind(counts)
        .bind(i64::try_from(PIPELINE).unwrap_or(i64::MAX))
        .bind(ask.renew_before())
        .fetch_all(pool)
        .await?;
    let mut got = Got::default();
    let mut rest = false;
    let mut seen: Vec<Seen> = Vec::new();
    for row in &rows {
        let webhook: i64 = row.try_get(3)?;
        if seen.last().is_none_or(|s| s.webhook != webhook) {
            seen.push(Seen {
                webhook,
                room: usize::MAX,
                took: 0,
                pipelined: false,
            });
        }
        if !row.try_get::<bool, _>(8)? {
            rest = true;
            continue;
        }
        let slots = usize::try_from(row.try_get::<Option<i32>, _>(9)?.unwrap_or(0)).unwrap_or(0);
        got.caps.insert(webhook, slots);
        let entry = seen.last_mut().expect("pushed above");
        entry.room = (slots * PIPELINE).saturating_sub(busy.get(&webhook).copied().unwrap_or(0));
        entry.pipelined = row.try_get::<bool, _>(10)?;
        if row.try_get::<Option<i64>, _>(0)?.is_some() {
            got.rows.push(claimed(row, ask.lease_until)?);
            entry.took += 1;
        }
    }
    let round = seen.len() >= cfg.fair_webhooks.max(1);
    let share = ask.limit.div_ceil(seen.len().max(1));
    // Taking all it was allowed means more may be due; fewer, that the webhook ran out.
    got.held = seen.iter().any(|s| s.pipelined && s.took >= s.room);
    got.more = round || seen.iter().any(|s| s.took >= s.room.min(share));
    // A full round goes on after its last webhook; a shorter one reached the end of the ids,
    // so the next starts over.
    got.cursor = if round { seen.last().map_or(0, |s| s.webhook) } else { 0 };
    Ok(Fast { got, rest })
}

/// A webhook of the round as the fast claim found it.
struct Seen {
    webhook: i64,
    /// Rows its pipeline here had room for (`usize::MAX` when left for the locked claim).
    room: usize,
    took: usize,
    /// Its room was below its share of the claim.
    pipelined: bool,
}
