//! The fair claim's pacing arithmetic: the rate limiter's room and the breaker's probe intervals.

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
