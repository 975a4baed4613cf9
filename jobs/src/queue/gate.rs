//! The per-webhook send gate of one process: what makes the in-flight cap cheap.
//!
//! The cap bounds the requests a receiver sees at once. Counting claimed-but-unsettled rows in
//! the database would also count the claim before a send and the settle commit after it (two
//! group commits, 6–12 ms each on SQLite), so eight slots would carry a fraction of what eight
//! concurrent requests can. Instead:
//! - **within the process**, this gate starts at most `cap` requests per webhook at once and
//!   frees the slot when the response (or the timeout) is in, before the settle;
//! - **across processes**, each claim sets the gate's `cap` to `max_in_flight` less the rows of
//!   the webhook other processes have in flight (`deliveries.claimed_by`). A process sends no
//!   more than it has rows in flight, and another's rows only grow by its own claim, which
//!   lowers its own cap by ours; so at any moment the last claimer sends at most the cap less
//!   what the others hold, and they send at most what they hold: never more than the cap in all.
//!   A crashed process's rows count against the cap until their lease expires, as before;
//! - the claim keeps at most [`PIPELINE`] × the cap of a webhook's rows waiting here or being
//!   sent, so a hanging endpoint holds a bounded share of the process's buffer, while a fast
//!   one has its next rows claimed before its slots free up;
//! - when a webhook's circuit breaker opens (this process's settle opened it, or a claim found
//!   it open), its rows claimed before that moment and not yet started are handed back unsent
//!   ([`Gates::held_back`]): a breaker pauses the endpoint at once, not after the buffer drains.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::now_ms;
use crate::queue::ops::Transition;

/// How many times its cap a webhook may have claimed and not yet sent in one process.
pub(crate) const PIPELINE: usize = 4;

#[derive(Debug, Default)]
struct Gate {
    cap: usize,
    /// Claimed and buffered, not yet started.
    queued: usize,
    /// Started and not yet answered.
    sending: usize,
}

/// The gates of every webhook this process has rows of, shared by its backends.
#[derive(Debug, Default)]
pub(crate) struct Gates {
    gates: Mutex<HashMap<i64, Gate>>,
    /// Signalled whenever a request ends, so a backend holding gated rows can start one.
    pub(crate) opened: Notify,
    /// Webhooks whose breaker is open, with when this process learnt it (unix ms).
    paused: Mutex<HashMap<i64, i64>>,
    /// Counts pauses, so a backend looks for rows to hand back only after one.
    pauses: AtomicU64,
    /// Failed attempts in a row per webhook, as this process's responses came in.
    runs: Mutex<HashMap<i64, u32>>,
}

impl Gates {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<i64, Gate>) -> T) -> T {
        f(&mut self.gates.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A claimed row of `webhook` (cap `cap`) joins the buffer.
    pub(crate) fn queue(&self, webhook: i64, cap: usize) {
        self.with(|g| {
            let gate = g.entry(webhook).or_default();
            gate.cap = cap.max(1);
            gate.queued += 1;
        });
    }

    /// Takes a send slot of `webhook` for a buffered row, if one is free.
    pub(crate) fn try_start(&self, webhook: i64) -> bool {
        self.with(|g| match g.get_mut(&webhook) {
            Some(gate) if gate.sending < gate.cap => {
                gate.queued = gate.queued.saturating_sub(1);
                gate.sending += 1;
                true
            }
            Some(_) => false,
            None => true,
        })
    }

    /// A buffered row left without being sent (released at shutdown).
    pub(crate) fn unqueue(&self, webhook: i64) {
        self.with(|g| {
            if let Some(gate) = g.get_mut(&webhook) {
                gate.queued = gate.queued.saturating_sub(1);
                Self::forget_idle(g, webhook);
            }
        });
    }

    fn finish(&self, webhook: i64) {
        self.with(|g| {
            if let Some(gate) = g.get_mut(&webhook) {
                gate.sending = gate.sending.saturating_sub(1);
                Self::forget_idle(g, webhook);
            }
        });
        self.opened.notify_one();
    }

    fn forget_idle(g: &mut HashMap<i64, Gate>, webhook: i64) {
        if g.get(&webhook)
            .is_some_and(|gate| gate.queued == 0 && gate.sending == 0)
        {
            g.remove(&webhook);
        }
    }

    /// Follows the breakers a settle of this process moved: an opened one holds back the rows
    /// claimed before now, a closed one nothing. Pauses older than `lease` are forgotten: no
    /// row claimed before them is still leased.
    pub(crate) fn follow(&self, transitions: &[Transition], lease: Duration) {
        let now = now_ms();
        for t in transitions {
            match *t {
                Transition::Opened { webhook_id, .. } => self.pause(webhook_id, now, true, lease),
                Transition::Recovered { webhook_id, .. } => self.resume(webhook_id),
            }
        }
    }

    /// An attempt of `webhook` ended (`ok`: delivered). A run of `breaker_after` failures seen
    /// here pauses the webhook at once, without waiting for the settle that opens its breaker:
    /// meanwhile the freed slots would send the buffer out. Should the breaker stay closed (a
    /// success in another process broke the run), the rows handed back are claimed again.
    pub(crate) fn observe(&self, webhook: i64, ok: bool, breaker_after: u32, lease: Duration) {
        let opened = {
            let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
            if ok {
                runs.remove(&webhook);
                false
            } else {
                let run = runs.entry(webhook).or_default();
                *run += 1;
                let opened = *run >= breaker_after.max(1);
                if opened {
                    runs.remove(&webhook);
                }
                opened
            }
        };
        if opened {
            self.pause(webhook, now_ms(), true, lease);
        }
    }

    /// `webhook`'s breaker is open as of `since` (unix ms): rows of it claimed before then are
    /// held back. `opened`: it opened at `since`, so nothing of it claimed before then is a
    /// probe; otherwise (a claim found it open after probes went out) a pause already known here
    /// is kept, as moving it would hold back a probe this process has claimed.
    pub(crate) fn pause(&self, webhook: i64, since: i64, opened: bool, lease: Duration) {
        let oldest = since.saturating_sub(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut paused = self.paused.lock().unwrap_or_else(PoisonError::into_inner);
        paused.retain(|_, at| *at >= oldest);
        let at = paused.entry(webhook).or_insert(i64::MIN);
        if *at < since && (opened || *at == i64::MIN) {
            *at = since;
            self.pauses.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn resume(&self, webhook: i64) {
        self.paused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&webhook);
    }

    /// How many pauses there have been; a backend rescans its buffer when this moved.
    pub(crate) fn pauses(&self) -> u64 {
        self.pauses.load(Ordering::Acquire)
    }

    /// Whether a buffered row of `webhook` claimed at `claimed_at` (unix ms) must go back
    /// unsent: its webhook's breaker opened after that claim read it closed.
    pub(crate) fn held_back(&self, webhook: i64, claimed_at: i64) -> bool {
        self.paused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&webhook)
            .is_some_and(|at| claimed_at < *at)
    }

    /// Rows per webhook that are buffered or being sent here (what [`PIPELINE`] bounds).
    pub(crate) fn busy(&self) -> HashMap<i64, usize> {
        self.with(|g| g.iter().map(|(id, gate)| (*id, gate.queued + gate.sending)).collect())
    }
}

/// One started request's send slot; dropping it (the response is in, or the task ended) frees it.
#[derive(Debug)]
pub(crate) struct Sending {
    gates: Arc<Gates>,
    webhook: i64,
}

impl Sending {
    /// Takes over the slot [`Gates::try_start`] granted.
    pub(crate) fn adopt(gates: &Arc<Gates>, webhook: i64) -> Self {
        Self {
            gates: Arc::clone(gates),
            webhook,
        }
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        self.gates.finish(self.webhook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_starts_at_most_its_cap_and_forgets_an_idle_webhook() {
        let gates = Arc::new(Gates::default());
        for _ in 0..3 {
            gates.queue(7, 2);
        }
        assert!(gates.try_start(7));
        assert!(gates.try_start(7));
        assert!(!gates.try_start(7), "two are being sent");
        assert_eq!(gates.busy()[&7], 3);
        let first = Sending::adopt(&gates, 7);
        let second = Sending::adopt(&gates, 7);
        drop(first);
        assert!(gates.try_start(7));
        drop(second);
        drop(Sending::adopt(&gates, 7));
        assert!(gates.busy().is_empty());
    }

    #[test]
    fn a_claim_that_finds_a_breaker_open_after_its_probes_holds_back_no_probe() {
        let gates = Gates::default();
        let lease = Duration::from_secs(60);
        gates.pause(7, 1_000, true, lease);
        assert!(gates.held_back(7, 999), "claimed before it opened");
        gates.pause(7, 3_000, false, lease);
        assert!(!gates.held_back(7, 2_000), "a probe claimed after it opened goes");
        gates.pause(7, 5_000, true, lease);
        assert!(
            gates.held_back(7, 2_000),
            "it opened again: everything claimed before goes back"
        );
        gates.pause(8, 4_000, false, lease);
        assert!(
            gates.held_back(8, 3_999),
            "opened elsewhere, first seen by a claim here"
        );
    }
}
