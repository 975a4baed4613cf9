//! The fair claim's arithmetic: the rate limiter's room, the breaker's probe intervals, the
//! share of send slots and when a grant is written.

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

#[test]
fn slots_are_shared_equally_within_what_the_others_left() {
    assert_eq!(slot_share(8, 0, 0), 8, "alone: the whole cap");
    assert_eq!(slot_share(8, 8, 1), 0, "all held: nothing yet");
    assert_eq!(slot_share(8, 4, 1), 4);
    assert_eq!(slot_share(8, 6, 1), 2, "no more than the others left free");
    assert_eq!(slot_share(8, 3, 2), 3, "three processes: 3 + 3 + 2");
    assert_eq!(slot_share(2, 2, 9), 0);
    assert_eq!(slot_share(1, 0, 3), 1, "a cap of one still goes to someone");
    assert_eq!(slot_share(4, 9, 1), 0, "a cap lowered below the grants held");
}

#[test]
fn a_grant_is_written_when_it_changes_or_half_its_lease_is_gone() {
    let ask = Ask {
        limit: 64,
        retries: 0,
        now: 100_000,
        lease_until: 160_000,
        cursor: 0,
        claimer: 1,
    };
    assert!(grant_outdated(None, 0, &ask), "a process asking for its first share");
    assert!(!grant_outdated(Some((4, 150_000)), 4, &ask));
    assert!(grant_outdated(Some((8, 150_000)), 4, &ask));
    assert!(grant_outdated(Some((4, 129_999)), 4, &ask), "renewed before it lapses");
}
