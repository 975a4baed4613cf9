//! `DeliveryBackend`: apalis' `Backend` over the `deliveries` table.
//!
//! One claim statement at a time per worker, buffered, refilled ahead of need (prefetch at half
//! a batch, at the pace of [`super::cadence`]), bounded by `max_outstanding`; lane 0 (first
//! attempts) is always claimed and served before lane 1 (retries), and lane 1 only within
//! `max_retry_in_flight` and at most once per poll interval unless its last claim came back
//! full (a retry is due seconds after its failure, so a fraction of a second does not matter,
//! while a lane-1 claim on every wake-up cost a statement per event at low rates). A buffered
//! row is handed to the worker only when its webhook's send gate has a free slot
//! ([`super::gate`]); rows of a webhook at its cap wait in the buffer while others go. When
//! nothing is due the backend sleeps on the queue's `Notify`, the poll interval, and (when a
//! budget or a cap held it back) the settling of its own rows and the end of its requests.
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use apalis_core::backend::finalize::Ephemeral;
use apalis_core::backend::{Backend, BackendConfig};
use apalis_core::task::builder::TaskBuilder;
use apalis_core::task::{Task, task_id::TaskId};
use apalis_core::worker::context::WorkerContext;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::{Notify, mpsc};

use super::budget::{Local, Slot};
use super::cadence::{self, Cadence, Idle};
use super::claim::{Claimed, claim};
use super::{ClaimedDelivery, DeliveryQueue, QueueConfig, QueueError, now_ms};
use crate::queue::attempt::{SettleLayer, SettleMsg, settle_loop};

/// The apalis backend of one worker; see [`DeliveryQueue::backend`]. Its
/// [`BackendConfig::Layer`] ([`SettleLayer`]) writes each outcome; `poll_close` hands claimed
/// but unstarted rows back so a graceful stop costs no attempt, and gives back the process's
/// send slots (one worker, one backend per process).
pub struct DeliveryBackend {
    queue: DeliveryQueue,
    local: Arc<Local>,
    /// Claimed, not yet started; index = lane (0 first attempts, 1 retries).
    buffer: [VecDeque<Task<ClaimedDelivery>>; 2],
    fetch: Option<BoxFuture<'static, Result<Claimed, QueueError>>>,
    wait: Option<BoxFuture<'static, ()>>,
    /// Waits for a request to end while every buffered row's webhook is at its cap.
    gated: Option<BoxFuture<'static, ()>>,
    last_reap: Option<Instant>,
    /// When lane 1 was last claimed, and whether that claim came back full.
    last_retry_claim: Option<Instant>,
    retries_full: bool,
    /// Where the fair claim's round-robin goes on (shared with the claim in flight).
    cursor: Arc<std::sync::atomic::AtomicI64>,
    settle_rx: Option<mpsc::UnboundedReceiver<SettleMsg>>,
    close: Option<BoxFuture<'static, ()>>,
    /// `poll_close` has handed everything back.
    closed: bool,
    /// The send gates' pause count when the buffer was last checked for held-back rows.
    seen_pauses: u64,
    /// When the next claim goes out.
    cadence: Cadence,
}

impl std::fmt::Debug for DeliveryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryBackend")
            .field("buffered", &self.buffered())
            .field("outstanding", &self.local.outstanding.load(Ordering::Acquire))
            .field("claiming", &self.fetch.is_some())
            .finish_non_exhaustive()
    }
}

impl DeliveryBackend {
    pub(crate) fn new(queue: DeliveryQueue) -> Self {
        let local = Arc::new(Local {
            outstanding: AtomicUsize::new(0),
            settled: Notify::new(),
            retries: Arc::clone(&queue.inner.retries),
        });
        Self {
            queue,
            local,
            buffer: [VecDeque::new(), VecDeque::new()],
            fetch: None,
            wait: None,
            gated: None,
            last_reap: None,
            last_retry_claim: None,
            retries_full: false,
            cursor: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            settle_rx: None,
            close: None,
            closed: false,
            seen_pauses: 0,
            cadence: Cadence::new(),
        }
    }

    fn cfg(&self) -> &QueueConfig {
        &self.queue.inner.cfg
    }

    fn buffered(&self) -> usize {
        self.buffer[0].len() + self.buffer[1].len()
    }

    /// Polls the claim in flight, if any, and buffers what it returned.
    fn drive_fetch(&mut self, cx: &mut Context<'_>) {
        let Some(fetch) = self.fetch.as_mut() else { return };
        let Poll::Ready(result) = fetch.poll_unpin(cx) else {
            return;
        };
        self.fetch = None;
        match result {
            Ok(mut claimed) => {
                self.retries_full = claimed.retries_full;
                let empty = claimed.rows.is_empty();
                self.cadence.claimed(&claimed, self.buffered() + claimed.rows.len());
                for row in claimed.rows {
                    let retry = row.lane != 0;
                    if retry {
                        claimed.reserved.transfer_one();
                    }
                    self.local.outstanding.fetch_add(1, Ordering::AcqRel);
                    let cap = claimed.caps.get(&row.webhook_id).copied().unwrap_or(1);
                    self.queue.gates().queue(row.webhook_id, cap);
                    let attempt = usize::try_from(row.attempt.saturating_sub(1)).unwrap_or(0);
                    let id = TaskId::Int(u64::try_from(row.id).unwrap_or(0));
                    // Lifecycle counts the run, so apalis' `Attempt` equals `row.attempt`.
                    let task = TaskBuilder::new(row).task_id(id).attempt(attempt).build();
                    self.buffer[usize::from(retry)].push_back(task);
                }
                if empty {
                    self.wait = Some(self.wait_future(claimed.limited));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming deliveries failed; retrying after the poll interval");
                self.wait = Some(tokio::time::sleep(self.cfg().poll).boxed());
            }
        }
    }

    /// Sleeps until a wake-up, the poll interval, or (when `limited`) a row settling or a
    /// request ending.
    fn wait_future(&self, limited: bool) -> BoxFuture<'static, ()> {
        let local = limited.then(|| (Arc::clone(&self.local), Arc::clone(self.queue.gates())));
        cadence::wait(Arc::clone(&self.queue.inner.notify), self.cfg().poll, local)
    }

    /// Starts a claim sized by the budgets, or arms a wait when there is no room.
    fn start_claim(&mut self) {
        let (batch, max_outstanding, reap_every) = {
            let cfg = self.cfg();
            (cfg.batch.max(1), cfg.max_outstanding, cfg.reap_every)
        };
        let room = max_outstanding.saturating_sub(self.local.outstanding.load(Ordering::Acquire));
        let limit = batch.min(room);
        if limit == 0 {
            self.wait = Some(self.wait_future(true));
            return;
        }
        let reap = self.last_reap.is_none_or(|at| at.elapsed() >= reap_every);
        if reap {
            self.last_reap = Some(Instant::now());
        }
        let retries = self.retries_full || self.last_retry_claim.is_none_or(|at| at.elapsed() >= self.cfg().poll);
        if retries {
            self.last_retry_claim = Some(Instant::now());
        }
        let capped = limit < batch;
        self.cadence.started();
        // Spawned: a claim is a transaction holding locks (SQLite's writer, PostgreSQL's
        // advisory and breaker rows) that settles wait on; it must finish even while the worker,
        // shutting down, has stopped polling this backend until its running tasks have settled.
        let claiming = tokio::spawn(claim(
            self.queue.clone(),
            Arc::clone(&self.cursor),
            limit,
            capped,
            reap,
            retries,
        ));
        self.fetch = Some(async move { claiming.await? }.boxed());
    }

    /// The oldest buffered row (first attempts before retries) whose webhook has a free send
    /// slot, which it takes.
    fn pop(&mut self) -> Option<Task<ClaimedDelivery>> {
        let gates = Arc::clone(self.queue.gates());
        if gates.pauses() != self.seen_pauses {
            self.seen_pauses = gates.pauses();
            self.hand_back_paused();
        }
        for buffer in &mut self.buffer {
            if let Some(i) = buffer.iter().position(|t| gates.try_start(t.args.webhook_id)) {
                return buffer.remove(i);
            }
        }
        None
    }

    /// Releases the buffered rows whose webhook's breaker opened after they were claimed
    /// ([`super::gate::Gates::held_back`]): unsent, they spend no attempt and wait for the
    /// breaker like the rest of the webhook's queue.
    fn hand_back_paused(&mut self) {
        let gates = Arc::clone(self.queue.gates());
        let lease_ms = i64::try_from(self.cfg().lease.as_millis()).unwrap_or(i64::MAX);
        let mut rows = Vec::new();
        let mut slots = Vec::new();
        for (lane, buffer) in self.buffer.iter_mut().enumerate() {
            buffer.retain(|task| {
                let row = &task.args;
                let held = gates.held_back(row.webhook_id, row.lease_until.saturating_sub(lease_ms));
                if held {
                    gates.unqueue(row.webhook_id);
                    rows.push((row.id, row.lease_until));
                    slots.push(Slot::adopt(&self.local, lane != 0));
                }
                !held
            });
        }
        if rows.is_empty() {
            return;
        }
        let pool = self.queue.inner.pool.clone();
        tokio::spawn(async move {
            match pool.release(&rows, now_ms()).await {
                Ok(n) => tracing::debug!(deliveries = n, "handed back the deliveries of a paused webhook"),
                Err(e) => tracing::warn!(
                    error = %e,
                    deliveries = rows.len(),
                    "handing back a paused webhook's deliveries failed; they return when their lease expires"
                ),
            }
            drop(slots);
        });
    }

    /// Takes every buffered row out, with the budget share each one holds.
    fn drain_buffer(&mut self) -> (Vec<(i64, i64)>, Vec<Slot>) {
        let mut rows = Vec::with_capacity(self.buffered());
        let mut slots = Vec::with_capacity(rows.capacity());
        for (lane, buffer) in self.buffer.iter_mut().enumerate() {
            for task in buffer.drain(..) {
                self.queue.gates().unqueue(task.args.webhook_id);
                rows.push((task.args.id, task.args.lease_until));
                slots.push(Slot::adopt(&self.local, lane != 0));
            }
        }
        (rows, slots)
    }
}

impl Backend for DeliveryBackend {
    type Task = Task<ClaimedDelivery>;
    type Error = QueueError;

    fn poll_ready(&mut self, cx: &mut Context<'_>, _worker: &WorkerContext) -> Poll<Result<(), Self::Error>> {
        if let super::Pool::Unsupported(b) = &self.queue.inner.pool {
            return Poll::Ready(Err(QueueError::UnsupportedBackend(*b)));
        }
        if let Some(rx) = self.settle_rx.take() {
            tokio::spawn(settle_loop(self.queue.clone(), rx));
        }
        // Keep a prefetch moving while the service waits for a free slot.
        self.drive_fetch(cx);
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        loop {
            self.drive_fetch(cx);
            if let Some(task) = self.pop() {
                let low = self.buffered() < self.cfg().batch / 2 && self.cadence.prefetch(self.buffered());
                if self.fetch.is_none() && self.wait.is_none() && low {
                    self.start_claim();
                }
                return Poll::Ready(Some(Ok(task)));
            }
            if self.buffered() > 0 {
                let gates = Arc::clone(self.queue.gates());
                let gated = self
                    .gated
                    .get_or_insert_with(|| async move { gates.opened.notified().await }.boxed());
                if gated.poll_unpin(cx).is_ready() {
                    self.gated = None;
                    continue;
                }
            }
            if self.fetch.is_some() {
                return Poll::Pending; // drive_fetch registered the waker
            }
            if let Some(wait) = self.wait.as_mut() {
                if wait.poll_unpin(cx).is_pending() {
                    return Poll::Pending;
                }
                self.wait = None;
            } else {
                match self.cadence.idle(cx, self.buffered()) {
                    Idle::Claim => {}
                    Idle::Pause => return Poll::Pending,
                    Idle::Wait => {
                        self.wait = Some(self.wait_future(false));
                        continue;
                    }
                }
            }
            self.start_claim();
        }
    }

    fn poll_close(&mut self, cx: &mut Context<'_>, _worker: &WorkerContext) -> Poll<Result<(), Self::Error>> {
        if self.fetch.is_some() {
            self.drive_fetch(cx);
            if self.fetch.is_some() {
                return Poll::Pending;
            }
        }
        if self.close.is_none() && !self.closed {
            let (rows, slots) = self.drain_buffer();
            let pool = self.queue.inner.pool.clone();
            let (claimer, open) = (self.queue.claimer(), self.queue.gates().sending());
            self.close = Some(
                async move {
                    if !rows.is_empty() {
                        match pool.release(&rows, now_ms()).await {
                            Ok(n) => tracing::debug!(deliveries = n, "released unstarted deliveries"),
                            Err(e) => tracing::warn!(
                                error = %e,
                                deliveries = rows.len(),
                                "releasing unstarted deliveries failed; they return when their lease expires"
                            ),
                        }
                    }
                    drop(slots);
                    if let Err(e) = pool.give_back_slots(claimer, &open).await {
                        tracing::warn!(error = %e, "giving back send slots failed; they lapse with their lease");
                    }
                }
                .boxed(),
            );
        }
        if let Some(close) = self.close.as_mut() {
            if close.poll_unpin(cx).is_pending() {
                return Poll::Pending;
            }
            self.close = None;
            self.closed = true;
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for DeliveryBackend {
    /// A backend dropped without `poll_close` (worker aborted): give its budget back and, when
    /// a runtime is at hand, release its unstarted rows (otherwise their lease brings them back).
    fn drop(&mut self) {
        if self.buffered() == 0 {
            return;
        }
        let (rows, slots) = self.drain_buffer();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.queue.inner.pool.clone();
            runtime.spawn(async move {
                if let Err(e) = pool.release(&rows, now_ms()).await {
                    tracing::warn!(error = %e, "releasing unstarted deliveries failed");
                }
                drop(slots);
            });
        }
    }
}

impl BackendConfig for DeliveryBackend {
    type Args = ClaimedDelivery;
    type Id = i64;
    type Kind = Ephemeral;
    type Config = QueueConfig;
    type Layer = SettleLayer;

    fn config(&self) -> &Self::Config {
        self.cfg()
    }

    /// Called once per worker start: opens the settle channel (its loop starts with the first
    /// poll, inside the runtime).
    fn middleware(&mut self, _worker: &mut WorkerContext) -> Self::Layer {
        let (tx, rx) = mpsc::unbounded_channel();
        self.settle_rx = Some(rx);
        SettleLayer::new(self.queue.clone(), Arc::clone(&self.local), tx)
    }
}
