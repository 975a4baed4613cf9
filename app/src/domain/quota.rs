//! The ingest quota: how many events per second each account may send, so one tenant's burst
//! cannot take the writer from the others. A token bucket per account holding one second's worth
//! of events: a request is let in while the bucket has any credit left and takes its whole count
//! (a batch larger than the bucket still gets in, then the account waits it off), and a refused
//! request is told when the bucket will have credit again, for `Retry-After`.
//!
//! The buckets live in this process's memory: checking costs no query, so ingest keeps its one
//! group-committed write per batch of requests. With several web processes on one database each
//! enforces the quota on its own (README says so).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per-account buckets of one process.
#[derive(Debug)]
pub struct IngestQuota {
    per_second: f64,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Events that may still be sent now; negative after a batch larger than what was left.
    credit: f64,
    at: Instant,
}

impl IngestQuota {
    /// Buckets refilling at `per_second` events per second, each holding at most that many.
    #[must_use]
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `events` from `account_id`'s bucket.
    ///
    /// # Errors
    /// The bucket has no credit: the wait until it has, at least one second (the answer's
    /// `Retry-After` is in whole seconds). Nothing was taken.
    pub fn take(&self, account_id: i64, events: usize) -> Result<(), Duration> {
        self.take_at(account_id, events, Instant::now())
    }

    fn take_at(&self, account_id: i64, events: usize, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(account_id).or_insert(Bucket {
            credit: self.per_second,
            at: now,
        });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.credit = (bucket.credit + refilled).min(self.per_second);
        bucket.at = now;
        if bucket.credit <= 0.0 {
            let wait = (-bucket.credit / self.per_second).ceil().max(1.0);
            return Err(Duration::from_secs_f64(wait));
        }
        bucket.credit -= events as f64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::IngestQuota;

    #[test]
    fn a_burst_over_the_quota_waits_for_the_refill_and_accounts_are_apart() {
        let quota = IngestQuota::new(100);
        let t0 = Instant::now();
        assert!(quota.take_at(1, 60, t0).is_ok());
        assert!(quota.take_at(1, 60, t0).is_ok(), "credit left: the batch gets in");
        assert_eq!(quota.take_at(1, 1, t0), Err(Duration::from_secs(1)));
        assert!(quota.take_at(2, 100, t0).is_ok(), "another account has its own bucket");
        assert!(quota.take_at(1, 50, t0 + Duration::from_millis(500)).is_ok());
        let big = quota.take_at(3, 1000, t0);
        assert!(big.is_ok(), "a batch larger than the bucket still gets in once");
        assert_eq!(
            quota.take_at(3, 1, t0 + Duration::from_secs(1)),
            Err(Duration::from_secs(8))
        );
        assert!(quota.take_at(3, 1, t0 + Duration::from_millis(9_100)).is_ok());
    }
}
