//! One claim of a worker's backend: reap when due, reserve the retry budget, claim fairly
//! ([`super::fair`]) within the process's send gates, and record the claim's metrics.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::budget::Reservation;
use super::fair::Ask;
use super::{ClaimedDelivery, DeliveryQueue, QueueError, now_ms};
use crate::metric_names::{QUEUE_CLAIM_ROWS, QUEUE_CLAIM_SECONDS};

/// What one claim brought back.
pub(super) struct Claimed {
    pub(super) rows: Vec<ClaimedDelivery>,
    /// A budget (outstanding or retries) or a webhook's rows in flight stopped the claim while
    /// more rows may be due.
    pub(super) limited: bool,
    /// Lane 1 was claimed and filled its share: more retries may be due at once.
    pub(super) retries_full: bool,
    /// A webhook took all its rows in flight allowed, below its share ([`super::ask::Got::held`]).
    pub(super) held: bool,
    /// Due rows may be left ([`super::ask::Got::more`]).
    pub(super) more: bool,
    /// The lane-1 share reserved for this claim; the part not used is returned on drop.
    pub(super) reserved: Reservation,
    /// This process's send slots of each webhook the claim looked at.
    pub(super) caps: std::collections::HashMap<i64, usize>,
}

/// Reaps (when due), then claims fairly across webhooks (see [`super::fair`]): first attempts,
/// and (when `retries`) retries within the queue's retry budget.
pub(super) async fn claim(
    queue: DeliveryQueue,
    cursor: Arc<std::sync::atomic::AtomicI64>,
    limit: usize,
    capped: bool,
    reap: bool,
    retries: bool,
) -> Result<Claimed, QueueError> {
    let inner = &queue.inner;
    let now = now_ms();
    if reap {
        match inner.pool.reap(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deliveries = n, "expired delivery leases returned to the queue"),
            Err(e) => tracing::warn!(error = %e, "reaping expired delivery leases failed"),
        }
    }
    let lease_ms = i64::try_from(inner.cfg.lease.as_millis()).unwrap_or(i64::MAX);
    let want = if retries { limit } else { 0 };
    let reserved = Reservation::take(&inner.retries, inner.cfg.max_retry_in_flight.max(1), want);
    let started = Instant::now();
    let ask = Ask {
        limit,
        retries: reserved.count,
        now,
        lease_until: now.saturating_add(lease_ms),
        cursor: cursor.load(Ordering::Acquire),
        claimer: queue.claimer(),
    };
    let got = inner.pool.claim_fair(ask, &inner.cfg, queue.gates()).await?;
    queue.gates().widen(&got.caps);
    cursor.store(got.cursor, Ordering::Release);
    for &(webhook, opened) in &got.paused {
        queue.gates().pause(webhook, now, opened, inner.cfg.lease);
    }
    let retries_full = reserved.count > 0 && got.retries == reserved.count;
    let limited = got.held || (capped && got.rows.len() == limit) || retries_full || (want > 0 && reserved.count == 0);
    metrics::histogram!(QUEUE_CLAIM_SECONDS).record(started.elapsed().as_secs_f64());
    metrics::histogram!(QUEUE_CLAIM_ROWS).record(got.rows.len() as f64);
    Ok(Claimed {
        rows: got.rows,
        limited,
        retries_full,
        held: got.held,
        more: got.more,
        reserved,
        caps: got.caps,
    })
}
