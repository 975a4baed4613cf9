//! The settle hook: a tower layer that apalis places outside the user's layers, so it sees every
//! delivery's final result; it turns the result into the row's next state and attempt row and
//! hands them to the worker's settle loop, which commits whatever arrived together in one
//! transaction, before the task counts as finished.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apalis_core::error::BoxDynError;
use apalis_core::layers::{Layer, Service};
use apalis_core::task::Task;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::{Outcome, Settled};
use crate::can_fail::CanFail;
use crate::metric_names::{ATTEMPT_DURATION, DELIVERIES, GROUP_COMMIT_SECONDS, GROUP_COMMIT_SIZE};
use crate::queue::budget::{Local, Slot};
use crate::queue::gate::Sending;
use crate::queue::{ClaimedDelivery, DeliveryQueue, now_ms};
use entity::delivery::DeliveryStatus;

/// Most outcomes committed by one transaction.
const SETTLE_BATCH: usize = 512;
/// How long a settle under load waits for more outcomes to join its commit. Each commit costs
/// the same whatever its size (on PostgreSQL: a transaction of five statements), and outcomes
/// arrive a few per millisecond under load, so a short wait halves the commits. A quiet worker
/// (the previous batch had fewer than [`GATHER_FROM`] outcomes) does not wait: an ordered
/// webhook, one delivery at a time, would pay this wait on each.
const SETTLE_GATHER: Duration = Duration::from_millis(4);
/// The batch size from which the next settle waits [`SETTLE_GATHER`] for more.
const GATHER_FROM: usize = 4;
/// Tries of one batch before it is left to the lease (the rows then come back through the
/// reaper and are sent again: at-least-once).
const SETTLE_TRIES: u32 = 5;

/// A finished attempt on its way to the database.
#[derive(Debug)]
pub(crate) struct SettleMsg {
    settled: Settled,
    _slot: Slot,
    done: oneshot::Sender<()>,
}

/// The backend's [`Layer`]: wraps the worker's service stack in a [`SettleService`].
#[derive(Debug, Clone)]
pub struct SettleLayer {
    queue: DeliveryQueue,
    local: Arc<Local>,
    tx: mpsc::UnboundedSender<SettleMsg>,
}

impl SettleLayer {
    pub(crate) fn new(queue: DeliveryQueue, local: Arc<Local>, tx: mpsc::UnboundedSender<SettleMsg>) -> Self {
        Self { queue, local, tx }
    }
}

impl<S> Layer<S> for SettleLayer {
    type Service = SettleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SettleService {
            inner,
            queue: self.queue.clone(),
            local: Arc::clone(&self.local),
            tx: self.tx.clone(),
        }
    }
}

/// Runs a delivery through the inner stack, then settles its outcome (see
/// [`crate::queue::attempt`]) and resolves only once that is committed, so a graceful shutdown, which
/// waits for running tasks, never loses an attempt. The handler's own result is passed on.
#[derive(Debug, Clone)]
pub struct SettleService<S> {
    inner: S,
    queue: DeliveryQueue,
    local: Arc<Local>,
    tx: mpsc::UnboundedSender<SettleMsg>,
}

impl<S> Service<Task<ClaimedDelivery>> for SettleService<S>
where
    S: Service<Task<ClaimedDelivery>, Response = Outcome>,
    S::Future: Send + 'static,
    S::Error: Into<BoxDynError>,
{
    type Response = Outcome;
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<Outcome, BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, task: Task<ClaimedDelivery>) -> Self::Future {
        let claim = task.args.clone();
        let slot = Slot::adopt(&self.local, task.args.lane != 0);
        let sending = Sending::adopt(self.queue.gates(), task.args.webhook_id);
        let fut = self.inner.call(task);
        let queue = self.queue.clone();
        let tx = self.tx.clone();
        Box::pin(async move {
            let result = fut.await.map_err(Into::into);
            let id = claim.id;
            let cfg = queue.config();
            let settled = Settled::new(claim, result.as_ref(), &cfg.retry_schedule);
            if settled.row.is_some() {
                let ok = settled.status == DeliveryStatus::Succeeded;
                queue
                    .gates()
                    .observe(settled.claim.webhook_id, ok, cfg.breaker_after, cfg.lease);
            }
            // The response is in: the webhook's send slot is free before the settle commits
            // (after the breaker's run was counted, so the slot never goes to a row held back).
            drop(sending);
            let (done, committed) = oneshot::channel();
            if tx
                .send(SettleMsg {
                    settled,
                    _slot: slot,
                    done,
                })
                .is_ok()
            {
                committed
                    .await
                    .can_fail("the settle loop drops a batch it cannot commit, and logs why itself");
            } else {
                tracing::warn!(delivery.id = id, "the settle loop is gone; the lease will expire");
            }
            result
        })
    }
}

/// Commits outcomes in batches (group commit): whatever arrived while the previous batch was
/// being written goes into the next transaction. Ends when every sender (the worker's service
/// stack) is gone.
pub(crate) async fn settle_loop(queue: DeliveryQueue, mut rx: mpsc::UnboundedReceiver<SettleMsg>) {
    let mut batch = Vec::with_capacity(SETTLE_BATCH);
    let size = metrics::histogram!(GROUP_COMMIT_SIZE, "writer" => "settle");
    let seconds = metrics::histogram!(GROUP_COMMIT_SECONDS, "writer" => "settle");
    let mut busy = false;
    while rx.recv_many(&mut batch, SETTLE_BATCH).await > 0 {
        if busy {
            let until = tokio::time::Instant::now() + SETTLE_GATHER;
            while batch.len() < SETTLE_BATCH {
                let room = SETTLE_BATCH - batch.len();
                match tokio::time::timeout_at(until, rx.recv_many(&mut batch, room)).await {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
        busy = batch.len() >= GATHER_FROM;
        let rows: Vec<&Settled> = batch.iter().map(|m| &m.settled).collect();
        let mut tries = 0;
        loop {
            tries += 1;
            let started = Instant::now();
            match queue.pool().settle(&rows, now_ms(), queue.config()).await {
                Ok((changed, transitions)) => {
                    queue.gates().follow(&transitions, queue.config().lease);
                    size.record(rows.len() as f64);
                    seconds.record(started.elapsed().as_secs_f64());
                    count(&rows);
                    if changed < rows.len() {
                        tracing::info!(
                            deliveries = rows.len() - changed,
                            "late outcomes ignored: their lease had expired and the rows were claimed again"
                        );
                    }
                    break;
                }
                Err(e) if tries < SETTLE_TRIES => {
                    tracing::warn!(error = %e, deliveries = rows.len(), "settling delivery outcomes failed; retrying");
                    tokio::time::sleep(queue.config().poll * tries).await;
                }
                Err(e) => {
                    tracing::error!(
                        error = %e,
                        deliveries = rows.len(),
                        "settling delivery outcomes failed for good; the rows are sent again when their lease expires"
                    );
                    break;
                }
            }
        }
        for msg in batch.drain(..) {
            msg.done
                .send(())
                .map_err(|()| "the attempt stopped waiting")
                .can_fail("an attempt's task may end (its worker stopping) before its outcome commits");
        }
    }
}

/// Outcome counters and the receivers' response times of a committed batch. The `outcome`
/// label is the delivery's new status, except `retry` for one left pending for another attempt.
fn count(rows: &[&Settled]) {
    let durations = metrics::histogram!(ATTEMPT_DURATION);
    let mut by_outcome = [0u64; 4];
    for s in rows {
        let i = match s.status {
            DeliveryStatus::Succeeded => 0,
            DeliveryStatus::Pending => 1,
            DeliveryStatus::Cancelled => 3,
            _ => 2,
        };
        by_outcome[i] += 1;
        if let Some(row) = &s.row {
            durations.record(f64::from(row.duration_ms) / 1000.0);
        }
    }
    let outcomes = [
        DeliveryStatus::Succeeded.as_str(),
        "retry",
        DeliveryStatus::Failed.as_str(),
        DeliveryStatus::Cancelled.as_str(),
    ];
    for (outcome, n) in outcomes.into_iter().zip(by_outcome) {
        if n > 0 {
            metrics::counter!(DELIVERIES, "outcome" => outcome).increment(n);
        }
    }
}
