//! The pacing arithmetic of the fair claim ([`super::fair`]): the rate limiter's room (GCRA)
//! and the breaker's probe intervals.

use std::time::Duration;

use super::QueueConfig;

/// The burst a rate-limited webhook may send at once: this long's worth of its rate (at least
/// one delivery). Shorter than the poll interval would waste claims; longer bunches arrivals.
pub const RATE_WINDOW: Duration = Duration::from_millis(200);

/// The wait before probe number `probes + 1` of an open breaker: `first`, doubling, at most `max`.
#[must_use]
pub fn probe_interval(cfg: &QueueConfig, probes: i32) -> Duration {
    let doublings = u32::try_from(probes.clamp(0, 30)).unwrap_or(0);
    cfg.probe_first.saturating_mul(1 << doublings).min(cfg.probe_max)
}

/// When the probe after probe number `probes` may go, claimed at `now` (unix ms).
pub(crate) fn next_probe_at(cfg: &QueueConfig, probes: i32, now: i64) -> i64 {
    now.saturating_add(i64::try_from(probe_interval(cfg, probes).as_millis()).unwrap_or(i64::MAX))
}

/// How many rows a webhook limited to `rate` per second may start now, and its clock after
/// `n` of them (GCRA: `tat` advances one emission interval per row; a row may go when `tat`
/// is at most one [`RATE_WINDOW`] ahead of now).
pub(crate) fn rate_room(rate: i32, tat_us: i64, now_us: i64) -> (usize, i64) {
    let interval = 1_000_000 / i64::from(rate.max(1));
    let window = i64::try_from(RATE_WINDOW.as_micros()).unwrap_or(i64::MAX);
    let start = tat_us.max(now_us);
    let slack = now_us + window - start;
    let room = if slack < 0 { 0 } else { slack / interval + 1 };
    (usize::try_from(room).unwrap_or(0), start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limiter_allows_a_window_then_one_per_interval() {
        let now = 10_000_000;
        let (room, start) = rate_room(20, 0, now);
        assert_eq!((room, start), (5, now), "200 ms of 20/s, plus the one due now");
        let tat = start + 5 * 50_000;
        assert_eq!(rate_room(20, tat, now).0, 0);
        assert_eq!(rate_room(20, tat, now + 100_000).0, 2);
        assert_eq!(rate_room(10_000, 0, now).0, 2_001);
    }

    #[test]
    fn probes_back_off_to_the_cap() {
        let cfg = QueueConfig {
            probe_first: Duration::from_secs(5),
            probe_max: Duration::from_secs(60),
            ..QueueConfig::default()
        };
        let got: Vec<u64> = (0..6).map(|p| probe_interval(&cfg, p).as_secs()).collect();
        assert_eq!(got, [5, 10, 20, 40, 60, 60]);
    }
}
