//! What a claim asks for and what it brings back, shared by the locked claim
//! ([`super::fair`]) and PostgreSQL's one-round-trip claim ([`super::fast`]).

use std::collections::HashMap;

use super::ClaimedDelivery;

/// What one claim asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask {
    pub limit: usize,
    /// Most lane-1 rows this claim may take (the retry budget it reserved).
    pub retries: usize,
    pub now: i64,
    pub lease_until: i64,
    /// Webhooks with an id above this are served first (round-robin).
    pub cursor: i64,
    /// The claiming process (`delivery_slots.claimer`).
    pub claimer: i64,
}

/// What a claim brought back.
#[derive(Debug, Default)]
pub(crate) struct Got {
    pub rows: Vec<ClaimedDelivery>,
    /// Where the next claim starts: the last webhook served, or 0 after a wrap.
    pub cursor: i64,
    /// Lane-1 rows among `rows`.
    pub retries: usize,
    /// This process's send slots of every webhook the claim looked at (see [`super::slots`]),
    /// for the send gates once the claim has committed.
    pub caps: HashMap<i64, usize>,
    /// A webhook got fewer rows than its share because of rows in flight (its pipeline here,
    /// or ordering) and took all it was allowed, so more may be due: the claim is worth
    /// repeating as soon as a request of this process ends or settles.
    pub held: bool,
    /// Due rows may be left that this claim did not take: a webhook got all it was allowed,
    /// or the round or the claim's limit ended before every webhook with work. When false,
    /// only new rows (a wake-up), a request ending or time can give the next claim anything.
    pub more: bool,
    /// Webhooks found with an open breaker, each with whether no probe has gone out since it
    /// opened: what this process claimed of them before is held back (see [`super::gate::Gates::pause`]).
    pub paused: Vec<(i64, bool)>,
}

impl Got {
    /// The fast claim's result (`self`) followed by the locked claim's, which goes on from
    /// where it left (its cursor and the breakers it found open stand).
    pub(crate) fn then(mut self, locked: Got) -> Got {
        self.rows.extend(locked.rows);
        self.caps.extend(locked.caps);
        Got {
            rows: self.rows,
            caps: self.caps,
            held: self.held || locked.held,
            more: self.more || locked.more,
            ..locked
        }
    }
}

impl Ask {
    /// A grant of send slots held until before this (unix ms) is renewed: half a lease from
    /// now, so it outlives every row claimed under it by at least that much, without a write
    /// on every claim.
    pub(crate) fn renew_before(&self) -> i64 {
        self.now + (self.lease_until - self.now) / 2
    }
}
