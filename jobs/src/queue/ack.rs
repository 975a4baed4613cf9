//! The acknowledgement hook: a tower layer that apalis places outside the user's layers, so it
//! sees every delivery's final result, turns it into the row's next state and commits it in a
//! group-committed batch before the task counts as finished.

use std::error::Error as StdError;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use apalis_core::error::{AbortError, BoxDynError, RetryAfterError};
use apalis_core::layers::{Layer, Service};
use apalis_core::task::Task;
use futures_util::future::BoxFuture;
use tokio::sync::{Notify, mpsc, oneshot};

use super::sql::AckRow;
use super::{ClaimedDelivery, DeliveryQueue, now_ms, retry_delay};

/// Most acknowledgements committed by one statement.
const ACK_BATCH: usize = 512;
/// Tries of one acknowledgement batch before it is left to the lease (the rows then come back
/// through the reaper and are sent again: at-least-once).
const ACK_TRIES: u32 = 5;

/// Counters of one worker's backend, shared with its ack layer.
#[derive(Debug)]
pub(crate) struct Local {
    /// Rows claimed by this backend and not yet acknowledged or released (buffered included).
    pub(crate) outstanding: AtomicUsize,
    /// Signalled whenever a claimed row settles, so a claim blocked by a budget can go on.
    pub(crate) settled: Notify,
    /// Lane-1 rows in flight across the whole queue (shared by all its backends).
    pub(crate) retries: Arc<AtomicUsize>,
}

/// One claimed row's share of the budgets; dropping it gives the share back. It travels with
/// the row until its acknowledgement is committed (or the row is released or abandoned), so
/// the counters cannot leak whichever way a task ends.
#[derive(Debug)]
pub(crate) struct Slot {
    local: Arc<Local>,
    retry: bool,
}

impl Slot {
    /// Takes over a share already counted at claim time.
    pub(crate) fn adopt(local: &Arc<Local>, retry: bool) -> Self {
        Self {
            local: Arc::clone(local),
            retry,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.local.outstanding.fetch_sub(1, Ordering::AcqRel);
        if self.retry {
            self.local.retries.fetch_sub(1, Ordering::AcqRel);
        }
        self.local.settled.notify_one();
    }
}

/// A finished attempt on its way to the database.
#[derive(Debug)]
pub(crate) struct AckMsg {
    row: AckRow,
    _slot: Slot,
    done: oneshot::Sender<()>,
}

/// The backend's [`Layer`]: wraps the worker's service stack in an [`AckService`].
#[derive(Debug, Clone)]
pub struct AckLayer {
    queue: DeliveryQueue,
    local: Arc<Local>,
    tx: mpsc::UnboundedSender<AckMsg>,
}

impl AckLayer {
    pub(crate) fn new(queue: DeliveryQueue, local: Arc<Local>, tx: mpsc::UnboundedSender<AckMsg>) -> Self {
        Self { queue, local, tx }
    }
}

impl<S> Layer<S> for AckLayer {
    type Service = AckService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AckService {
            inner,
            queue: self.queue.clone(),
            local: Arc::clone(&self.local),
            tx: self.tx.clone(),
        }
    }
}

/// Runs a delivery through the inner stack, then records its outcome (see
/// [`DeliveryQueue`](super::DeliveryQueue) for the mapping) and resolves only once that is
/// committed, so a graceful shutdown, which waits for running tasks, never loses an outcome.
/// The handler's own result is passed on unchanged.
#[derive(Debug, Clone)]
pub struct AckService<S> {
    inner: S,
    queue: DeliveryQueue,
    local: Arc<Local>,
    tx: mpsc::UnboundedSender<AckMsg>,
}

impl<S> Service<Task<ClaimedDelivery>> for AckService<S>
where
    S: Service<Task<ClaimedDelivery>>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Into<BoxDynError>,
{
    type Response = S::Response;
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<S::Response, BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, task: Task<ClaimedDelivery>) -> Self::Future {
        let (id, attempt) = (task.args.id, task.args.attempt);
        let slot = Slot::adopt(&self.local, task.args.lane != 0);
        let fut = self.inner.call(task);
        let queue = self.queue.clone();
        let tx = self.tx.clone();
        Box::pin(async move {
            let result = fut.await.map_err(Into::into);
            let (status, next_attempt_at) = outcome(&result, &queue.inner.cfg.retry_schedule, id, attempt);
            let (done, committed) = oneshot::channel();
            let row = AckRow {
                id,
                attempt,
                status,
                next_attempt_at,
            };
            if tx.send(AckMsg { row, _slot: slot, done }).is_ok() {
                // An Err means the ack loop gave up on the batch; it logged why.
                let _ = committed.await;
            } else {
                tracing::warn!(
                    delivery.id = id,
                    "delivery acknowledgement loop is gone; the lease will expire"
                );
            }
            result
        })
    }
}

/// The row's next `(status, next_attempt_at)` for a handler result.
fn outcome<T>(result: &Result<T, BoxDynError>, schedule: &[Duration], id: i64, attempt: i32) -> (&'static str, i64) {
    let Err(error) = result else { return ("succeeded", 0) };
    let wait = match classify(error.as_ref()) {
        Kind::Abort => {
            tracing::debug!(delivery.id = id, delivery.attempt = attempt, error = %error, "delivery aborted");
            return ("failed", 0);
        }
        // A Retry-After never adds attempts: on the last one the delivery fails all the same.
        Kind::RetryAfter(d) => retry_delay(schedule, attempt).map(|_| d),
        Kind::Retry => retry_delay(schedule, attempt),
    };
    match wait {
        Some(d) => {
            let millis = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            tracing::debug!(delivery.id = id, delivery.attempt = attempt, retry_in_ms = millis, error = %error, "delivery will be retried");
            ("pending", now_ms().saturating_add(millis))
        }
        None => {
            tracing::debug!(delivery.id = id, delivery.attempt = attempt, error = %error, "delivery attempts exhausted");
            ("failed", 0)
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Abort,
    RetryAfter(Duration),
    Retry,
}

/// Looks through the error and its sources, outermost first, so a layer that wraps the
/// handler's error does not hide an `AbortError` or `RetryAfterError`.
fn classify(error: &(dyn StdError + 'static)) -> Kind {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<AbortError>() {
            return Kind::Abort;
        }
        if let Some(r) = e.downcast_ref::<RetryAfterError>() {
            return Kind::RetryAfter(r.get_duration());
        }
        current = e.source();
    }
    Kind::Retry
}

/// Commits acknowledgements in batches (group commit): whatever arrived while the previous
/// batch was being written goes into the next single statement. Ends when every sender (the
/// worker's service stack) is gone.
pub(crate) async fn ack_loop(queue: DeliveryQueue, mut rx: mpsc::UnboundedReceiver<AckMsg>) {
    let mut batch = Vec::with_capacity(ACK_BATCH);
    while rx.recv_many(&mut batch, ACK_BATCH).await > 0 {
        let rows: Vec<AckRow> = batch.iter().map(|m| m.row).collect();
        let mut tries = 0;
        loop {
            tries += 1;
            match queue.inner.pool.ack(&rows, now_ms()).await {
                Ok(changed) => {
                    if changed < rows.len() as u64 {
                        tracing::debug!(
                            deliveries = rows.len(),
                            changed,
                            "stale acknowledgements ignored (their lease had expired and the row was claimed again)"
                        );
                    }
                    break;
                }
                Err(e) if tries < ACK_TRIES => {
                    tracing::warn!(error = %e, deliveries = rows.len(), "delivery acknowledgement failed; retrying");
                    tokio::time::sleep(queue.inner.cfg.poll * tries).await;
                }
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        deliveries = rows.len(),
                        "delivery acknowledgement failed for good; the rows are redelivered when their lease expires"
                    );
                    break;
                }
            }
        }
        for msg in batch.drain(..) {
            let _ = msg.done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_through_wrappers() {
        #[derive(Debug, thiserror::Error)]
        #[error("wrapped")]
        struct Wrapper(#[source] BoxDynError);

        let abort: BoxDynError = AbortError::new("gone").into();
        assert_eq!(classify(abort.as_ref()), Kind::Abort);
        let later: BoxDynError = RetryAfterError::new("busy", Duration::from_secs(3)).into();
        assert_eq!(classify(later.as_ref()), Kind::RetryAfter(Duration::from_secs(3)));
        let wrapped: BoxDynError = Wrapper(AbortError::new("gone").into()).into();
        assert_eq!(classify(wrapped.as_ref()), Kind::Abort);
        let plain: BoxDynError = "HTTP 500".into();
        assert_eq!(classify(plain.as_ref()), Kind::Retry);
    }

    #[test]
    fn outcomes_follow_the_schedule() {
        let schedule = [Duration::ZERO, Duration::from_secs(10)];
        let ok: Result<(), BoxDynError> = Ok(());
        assert_eq!(outcome(&ok, &schedule, 1, 1), ("succeeded", 0));
        let err: Result<(), BoxDynError> = Err("HTTP 500".into());
        let before = now_ms();
        let (status, at) = outcome(&err, &schedule, 1, 1);
        assert_eq!(status, "pending");
        assert!(at >= before + 8_000 && at <= now_ms() + 12_000, "{at} vs {before}");
        assert_eq!(outcome(&err, &schedule, 1, 2), ("failed", 0));
        let later: Result<(), BoxDynError> = Err(RetryAfterError::new("busy", Duration::from_secs(60)).into());
        let (status, at) = outcome(&later, &schedule, 1, 1);
        assert_eq!(status, "pending");
        assert!(at >= before + 60_000, "{at} vs {before}");
        assert_eq!(outcome(&later, &schedule, 1, 2), ("failed", 0));
        let abort: Result<(), BoxDynError> = Err(AbortError::new("gone").into());
        assert_eq!(outcome(&abort, &schedule, 1, 1), ("failed", 0));
    }
}
