//! When a worker's backend claims next ([`super::backend`]). A claim costs a round trip and,
//! on PostgreSQL, a statement that finds the webhooks with work: claiming again as soon as a
//! row starts or every gate is full brought back what one round trip had freed or nothing at
//! all (one busy webhook on PostgreSQL: 2,400 claims of four rows per worker per 20,000
//! deliveries, half of them finding nothing). So:
//! - after a claim that may have left due rows ([`Claimed::more`]) or was held back by a
//!   budget or a cap ([`Claimed::limited`]), the next goes out as the buffer runs low;
//! - after one that took everything due, the next waits for a wake-up (new rows), the poll
//!   interval, or (when limited) a request ending — the backend's wait;
//! - after one cut short by webhooks' pipelines ([`Claimed::held`]), the next waits until the
//!   buffer is down to a quarter, or [`REFILL_PAUSE`], whichever comes first, so it has room
//!   to bring back more than a row or two; the pause bounds what another webhook's fresh rows
//!   wait for it.

use std::sync::Arc;
use std::task::Context;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::Notify;

use super::budget::Local;
use super::claim::Claimed;
use super::gate::Gates;

/// Longest a claim waits after one cut short by webhooks' pipelines.
const REFILL_PAUSE: Duration = Duration::from_millis(10);

/// What a backend with nothing to start does next.
pub(super) enum Idle {
    Claim,
    /// Wait for new rows (the backend's wait: a wake-up or the poll interval).
    Wait,
    /// The refill pause is running; the waker is registered.
    Pause,
}

/// The claim cadence of one backend (see the module doc).
pub(super) struct Cadence {
    more: bool,
    /// After a pipeline-cut claim: claim again at this buffer level or this instant.
    refill: Option<(usize, Instant)>,
    pause: Option<BoxFuture<'static, ()>>,
}

impl Cadence {
    pub(super) fn new() -> Self {
        Self {
            more: true,
            refill: None,
            pause: None,
        }
    }

    /// Notes what a claim brought back; `buffered` counts its rows.
    pub(super) fn claimed(&mut self, claimed: &Claimed, buffered: usize) {
        self.more = claimed.more || claimed.limited;
        if claimed.held && !claimed.rows.is_empty() {
            self.refill = Some((buffered / 4, Instant::now() + REFILL_PAUSE));
        }
    }

    /// A claim goes out.
    pub(super) fn started(&mut self) {
        self.refill = None;
        self.pause = None;
    }

    /// After a row started, with `buffered` left: whether a prefetch may go out.
    pub(super) fn prefetch(&self, buffered: usize) -> bool {
        self.more && self.refill_due(buffered)
    }

    /// Nothing buffered can start and neither a claim nor a wait is in flight.
    pub(super) fn idle(&mut self, cx: &mut Context<'_>, buffered: usize) -> Idle {
        if let Some((_, at)) = self.refill.filter(|_| !self.refill_due(buffered)) {
            let pause = self
                .pause
                .get_or_insert_with(|| tokio::time::sleep_until(at.into()).boxed());
            if pause.poll_unpin(cx).is_pending() {
                return Idle::Pause;
            }
            return Idle::Claim;
        }
        if self.more {
            Idle::Claim
        } else {
            // The wait's end (new rows, or the poll interval) is reason enough to claim.
            self.more = true;
            Idle::Wait
        }
    }

    fn refill_due(&self, buffered: usize) -> bool {
        self.refill
            .is_none_or(|(level, at)| buffered <= level || Instant::now() >= at)
    }
}

/// The backend's wait for something to claim: a wake-up (`notify`: new rows), the poll
/// interval, and, when a budget or a cap held the last claim back (`local`), a row of this
/// backend settling or a request of this process ending.
pub(super) fn wait(
    notify: Arc<Notify>,
    poll: Duration,
    local: Option<(Arc<Local>, Arc<Gates>)>,
) -> BoxFuture<'static, ()> {
    async move {
        match local {
            Some((local, gates)) => tokio::select! {
                () = notify.notified() => {}
                () = local.settled.notified() => {}
                () = gates.opened.notified() => {}
                () = tokio::time::sleep(poll) => {}
            },
            None => tokio::select! {
                () = notify.notified() => {}
                () = tokio::time::sleep(poll) => {}
            },
        }
    }
    .boxed()
}
