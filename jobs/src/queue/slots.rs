//! Send slots: how a webhook's in-flight cap is shared out between processes
//! (`delivery_slots`, see [`super::gate`]).

use super::ask::Ask;

/// The send slots of a webhook (`max` in flight) this process may take when `rivals` other
/// processes hold `others` of them: an equal share, at most what the others left free. A
/// process that finds the webhook full gets none, but its grant of nothing counts it among the
/// rivals, so the others shrink to their share at their next claim and free the rest.
#[must_use]
pub(crate) fn slot_share(max: i64, others: i64, rivals: i64) -> usize {
    let (max, processes) = (max.max(0), rivals.max(0) + 1);
    let fair = (max + processes - 1) / processes;
    usize::try_from(fair.min(max - others)).unwrap_or(0)
}

/// Whether this process's stored grant (`mine`: slots, until when) must be written to hold
/// `slots` now: it differs, or it lapses before [`Ask::renew_before`].
pub(crate) fn grant_outdated(mine: Option<(i32, i64)>, slots: usize, ask: &Ask) -> bool {
    mine.is_none_or(|(held, until)| usize::try_from(held).ok() != Some(slots) || until < ask.renew_before())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
