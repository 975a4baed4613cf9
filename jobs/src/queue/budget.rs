//! The budgets of one worker's backend: rows claimed and not yet settled (bounded by
//! `max_outstanding`) and retries in flight across the queue (bounded by `max_retry_in_flight`),
//! and a claim's reservation of the latter.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Counters of one worker's backend, shared with its settle layer.
#[derive(Debug)]
pub(crate) struct Local {
    /// Rows claimed by this backend and not yet settled or released (buffered included).
    pub(crate) outstanding: AtomicUsize,
    /// Signalled whenever a claimed row settles, so a claim blocked by a budget can go on.
    pub(crate) settled: Notify,
    /// Lane-1 rows in flight across the whole queue (shared by all its backends).
    pub(crate) retries: Arc<AtomicUsize>,
}

/// One claimed row's share of the budgets; dropping it gives the share back. It travels with
/// the row until its outcome is committed (or the row is released or abandoned), so the
/// counters cannot leak whichever way a task ends.
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

/// A share of the queue-wide retry budget, returned on drop unless handed to claimed rows.
pub(crate) struct Reservation {
    counter: Arc<AtomicUsize>,
    pub(crate) count: usize,
}

impl Reservation {
    /// Reserves up to `want` of the `max` retries that may be in flight.
    pub(crate) fn take(counter: &Arc<AtomicUsize>, max: usize, want: usize) -> Self {
        let got = if want == 0 {
            0
        } else {
            // The closure never refuses (it always returns `Some`): the result is always `Ok`
            // with the value it updated from, which tells how much it took.
            let (Ok(before) | Err(before)) = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n + max.saturating_sub(n).min(want))
            });
            max.saturating_sub(before).min(want)
        };
        Self {
            counter: Arc::clone(counter),
            count: got,
        }
    }

    /// One reserved unit now belongs to a claimed row (its `Slot` gives it back).
    pub(crate) fn transfer_one(&mut self) {
        self.count = self.count.saturating_sub(1);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.count > 0 {
            self.counter.fetch_sub(self.count, Ordering::AcqRel);
        }
    }
}
