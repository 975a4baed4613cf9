//! The per-webhook send gate of one process: what makes the in-flight cap cheap.
//!
//! The cap bounds the requests a receiver sees at once. Counting claimed-but-unsettled rows in
//! the database would also count the claim before a send and the settle commit after it (two
//! group commits, 6–12 ms each on SQLite), so eight slots would carry a fraction of what eight
//! concurrent requests can. Instead:
//! - **within the process**, this gate starts at most `cap` requests per webhook at once and
//!   frees the slot when the response (or the timeout) is in, before the settle;
//! - **across processes**, the cap is shared out as send slots: each process holds a grant
//!   (`delivery_slots`: slots, until when) that its claim sets under the webhook's lock to an
//!   equal share of what the other grants leave ([`super::slots::slot_share`]), and its gate's
//!   `cap` follows the grant. Counting other processes' in-flight rows instead would also count
//!   rows answered and waiting for their settle, so the first claimer saw a busy webhook as its
//!   own and the others found it full. The grant stored is never below what the gate allows:
//!   a claim narrows the gate first ([`Gates::narrow`]), stores at least the requests still
//!   open, and widens the gate only after its commit ([`Gates::widen`]); so the unexpired
//!   grants, which never add up to more than the cap, bound the requests of all processes. A
//!   crashed process's grant lapses with its lease, like its rows; a process left with no
//!   share hands its buffered rows of the webhook back;
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
pub(crate) const PIPELINE: usize = 8;

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

    /// A claimed row of `webhook` (this process's share: `cap` slots) joins the buffer.
    pub(crate) fn queue(&self, webhook: i64, cap: usize) {
        self.with(|g| {
            let gate = g.entry(webhook).or_default();
            gate.cap = cap;
            gate.queued += 1;
        });
    }

    /// Before a grant of `cap` slots of `webhook` is stored: the gate allows no more than that
    /// (nor more than it did); returns the requests open now (at most what the stored grant
    /// must cover from now on) and the rows buffered or being sent.
    pub(crate) fn narrow(&self, webhook: i64, cap: usize) -> (usize, usize) {
        self.with(|g| match g.get_mut(&webhook) {
            Some(gate) => {
                gate.cap = gate.cap.min(cap);
                (gate.sending, gate.queued + gate.sending)
            }
            None => (0, 0),
        })
    }

    /// After a claim committed: each webhook's gate allows its new share. A gate left with no
    /// share has its buffered rows handed back ([`Self::held_back`]).
    pub(crate) fn widen(&self, caps: &HashMap<i64, usize>) {
        let starved = self.with(|g| {
            let mut starved = false;
            for (webhook, cap) in caps {
                if let Some(gate) = g.get_mut(webhook) {
                    gate.cap = *cap;
                    starved |= *cap == 0 && gate.queued > 0;
                }
            }
            starved
        });
        if starved {
            self.pauses.fetch_add(1, Ordering::AcqRel);
        }
        self.opened.notify_one();
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
    /// unsent: its webhook's breaker opened after that claim read it closed, or this process
    /// has no send slot of it left (the rows would otherwise wait here, unseen by the claims
    /// that share the slots out again, until their lease ran out).
    pub(crate) fn held_back(&self, webhook: i64, claimed_at: i64) -> bool {
        let paused = self
            .paused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&webhook)
            .is_some_and(|at| claimed_at < *at);
        paused || self.with(|g| g.get(&webhook).is_some_and(|gate| gate.cap == 0))
    }

    /// Rows per webhook that are buffered or being sent here (what [`PIPELINE`] bounds).
    pub(crate) fn busy(&self) -> HashMap<i64, usize> {
        self.with(|g| g.iter().map(|(id, gate)| (*id, gate.queued + gate.sending)).collect())
    }

    /// The webhooks this process has requests open to.
    pub(crate) fn sending(&self) -> Vec<i64> {
        self.with(|g| {
            g.iter()
                .filter(|(_, gate)| gate.sending > 0)
                .map(|(id, _)| *id)
                .collect()
        })
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
        assert_eq!(gates.narrow(7, usize::MAX), (2, 3), "two sending, three busy");
        let first = Sending::adopt(&gates, 7);
        let second = Sending::adopt(&gates, 7);
        drop(first);
        assert!(gates.try_start(7));
        drop(second);
        drop(Sending::adopt(&gates, 7));
        assert_eq!(gates.narrow(7, usize::MAX), (0, 0), "forgotten");
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
