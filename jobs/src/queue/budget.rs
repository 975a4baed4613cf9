//! The budgets of one worker's backend: rows claimed and not yet settled (bounded by
//! `max_outstanding`) and retries in flight across the queue (bounded by `max_retry_in_flight`).

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
