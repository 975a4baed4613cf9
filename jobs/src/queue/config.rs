//! Tuning of the delivery queue and the retry schedule.

use std::time::Duration;

/// How a [`DeliveryQueue`](super::DeliveryQueue) claims, leases and retries deliveries.
///
/// The defaults are the measured sweet spot of `DELIVERY-ENGINE.md` for one worker with
/// concurrency 64 (see [`QueueConfig::for_concurrency`] for other concurrencies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Most rows one claim statement takes (64). Larger batches claim less often; the buffer is
    /// refilled when it falls below half a batch.
    pub batch: usize,
    /// Most rows a worker holds claimed but not yet settled (256, about 4× concurrency).
    /// The backend's settle layer sits outside apalis' concurrency limit, so this is what
    /// bounds the buffer and the outcomes waiting for their commit.
    pub max_outstanding: usize,
    /// How long a claim is valid (60 s). It must exceed the handler's timeout: a row whose
    /// lease ran out is made due again by the reaper and may be sent twice.
    pub lease: Duration,
    /// Poll fallback when nothing wakes the worker (250 ms): other processes' inserts on SQLite,
    /// retries coming due, lost notifications.
    pub poll: Duration,
    /// Least time between two runs of the reaper, which returns expired leases to `pending` (5 s).
    pub reap_every: Duration,
    /// Delay before each attempt: entry `i` is the wait before attempt `i + 1` once attempt `i`
    /// failed, so the length is the number of attempts. Default: immediately, 5 s, 5 min, 30 min,
    /// 2 h, 5 h, 10 h, 10 h (eight attempts over about a day, like the industry's).
    pub retry_schedule: Vec<Duration>,
    /// Most retries (lane 1) claimed and not yet settled across all workers of one
    /// [`DeliveryQueue`](super::DeliveryQueue) (32 = half the default concurrency; at least 1).
    /// Retries to a dead endpoint therefore never take every concurrency slot, and fresh
    /// deliveries (lane 0) always find room.
    pub max_retry_in_flight: usize,
    /// Most webhooks one claim serves (16): the round-robin's step. Each gets a share of the
    /// batch within its own limits; the next claim goes on after the last one served.
    pub fair_webhooks: usize,
    /// Failed attempts in a row after which a webhook's circuit breaker opens (10): its
    /// deliveries then wait, spending no attempts, while single probes test the endpoint.
    pub breaker_after: u32,
    /// The wait before the first probe of an open breaker (5 s); it doubles with every probe.
    pub probe_first: Duration,
    /// The longest wait between two probes (5 min).
    pub probe_max: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            batch: 64,
            max_outstanding: 256,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(250),
            reap_every: Duration::from_secs(5),
            retry_schedule: default_retry_schedule(),
            max_retry_in_flight: 32,
            fair_webhooks: 16,
            breaker_after: 10,
            probe_first: Duration::from_secs(5),
            probe_max: Duration::from_secs(300),
        }
    }
}

impl QueueConfig {
    /// The defaults sized for a worker running `concurrency` deliveries at once:
    /// `max_outstanding = max(4 × concurrency, batch)` and
    /// `max_retry_in_flight = max(concurrency / 2, 1)`.
    #[must_use]
    pub fn for_concurrency(concurrency: usize) -> Self {
        let base = Self::default();
        Self {
            max_outstanding: concurrency.saturating_mul(4).max(base.batch),
            max_retry_in_flight: (concurrency / 2).max(1),
            ..base
        }
    }
}

fn default_retry_schedule() -> Vec<Duration> {
    [0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// Parses a retry schedule such as `"0,5s,5m,30m,2h"` or `"0,50ms,100ms"`: comma-separated
/// whole numbers with an optional unit `ms`, `s`, `m` or `h` (a bare number is seconds).
/// Entry `i` is the delay before attempt `i + 1` (see [`QueueConfig::retry_schedule`]).
///
/// # Errors
/// A message naming the offending entry when the schedule is empty or an entry is not a whole
/// number with a known unit.
pub fn parse_retry_schedule(s: &str) -> Result<Vec<Duration>, String> {
    if s.trim().is_empty() {
        return Err("the retry schedule is empty: give at least one delay, e.g. \"0,5s,5m\"".to_owned());
    }
    s.split(',').map(parse_delay).collect()
}

fn parse_delay(item: &str) -> Result<Duration, String> {
    let item = item.trim();
    let split = item.find(|c: char| !c.is_ascii_digit()).unwrap_or(item.len());
    let (digits, unit) = item.split_at(split);
    let bad = |why: &str| format!("retry delay {item:?} {why} (use e.g. 0, 50ms, 5s, 5m, 2h)");
    if digits.is_empty() {
        return Err(bad("does not start with a whole number"));
    }
    let n: u64 = digits.parse().map_err(|_| bad("is too large"))?;
    let secs_per = match unit.trim() {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(bad("has an unknown unit")),
    };
    n.checked_mul(secs_per)
        .map(Duration::from_secs)
        .ok_or_else(|| bad("is too large"))
}

/// The wait before the next attempt once attempt number `attempt` (1-based, as counted in
/// `deliveries.attempts`) failed: `schedule[attempt]` with ±20 % random jitter, so retries of
/// many deliveries to one endpoint that failed together spread out. `None` when the attempts
/// are exhausted (`attempt >= schedule.len()`): the delivery is then `failed`.
#[must_use]
pub fn retry_delay(schedule: &[Duration], attempt: i32) -> Option<Duration> {
    let index = usize::try_from(attempt).unwrap_or(0);
    schedule.get(index).map(|d| jitter(*d))
}

fn jitter(d: Duration) -> Duration {
    if d.is_zero() {
        return d;
    }
    // If the OS has no randomness to give, the delay is simply not jittered.
    let r = getrandom::u32().unwrap_or(u32::MAX / 2);
    d.mul_f64(0.8 + 0.4 * (f64::from(r) / f64::from(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_bare_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(parse_retry_schedule("0,50ms,100ms"), Ok(vec![ms(0), ms(50), ms(100)]));
        assert_eq!(
            parse_retry_schedule(" 0, 5s ,5m,30m,2h,7"),
            Ok([0, 5, 300, 1800, 7200, 7]
                .into_iter()
                .map(Duration::from_secs)
                .collect())
        );
    }

    #[test]
    fn rejects_bad_entries() {
        for bad in ["", " ", "5x", "s", "1,,2", "-1", "1.5s", "99999999999999999999h"] {
            assert!(parse_retry_schedule(bad).is_err(), "{bad:?} should be rejected");
        }
        let err = parse_retry_schedule("0,5q").expect_err("unknown unit");
        assert!(err.contains("\"5q\""), "{err}");
    }

    #[test]
    fn default_schedule_is_the_industry_one() {
        let parsed = parse_retry_schedule("0,5s,5m,30m,2h,5h,10h,10h").expect("valid");
        assert_eq!(QueueConfig::default().retry_schedule, parsed);
    }

    #[test]
    fn delay_follows_schedule_with_jitter_and_ends() {
        let schedule = parse_retry_schedule("0,1s,10s").expect("valid");
        assert_eq!(retry_delay(&schedule, 0), Some(Duration::ZERO));
        for _ in 0..200 {
            let d = retry_delay(&schedule, 1).expect("attempt 2 exists");
            assert!(
                d >= Duration::from_millis(800) && d <= Duration::from_millis(1200),
                "{d:?}"
            );
            let d = retry_delay(&schedule, 2).expect("attempt 3 exists");
            assert!(d >= Duration::from_secs(8) && d <= Duration::from_secs(12), "{d:?}");
        }
        assert_eq!(retry_delay(&schedule, 3), None);
        assert_eq!(retry_delay(&schedule, 42), None);
        assert_eq!(retry_delay(&[], 1), None);
    }

    #[test]
    fn sized_for_concurrency() {
        let c = QueueConfig::for_concurrency(16);
        assert_eq!((c.max_outstanding, c.max_retry_in_flight), (64, 8));
        assert_eq!(QueueConfig::for_concurrency(1).max_retry_in_flight, 1);
        assert_eq!(QueueConfig::for_concurrency(64), QueueConfig::default());
    }
}
