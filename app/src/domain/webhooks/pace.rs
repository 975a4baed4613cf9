//! How a webhook's deliveries are paced (issue 14): the cap on deliveries in flight, an
//! optional rate limit and optional ordering. The delivery queue enforces them across every
//! process (`herald_jobs::queue`'s fair claim); here they are only parsed and kept.

use entity::spec::parse_whole_number;

use crate::domain::validate::Errors;

/// Default of [`Pace::max_in_flight`].
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 8;
/// Bounds of [`Pace::max_in_flight`].
pub const MAX_IN_FLIGHT: std::ops::RangeInclusive<u32> = 1..=100;
/// Bounds of [`Pace::rate_limit`], deliveries per second.
pub const RATE_LIMIT: std::ops::RangeInclusive<u32> = 1..=10_000;

/// A validated pacing. Ordered delivery sends one at a time in ingest order, so it implies a
/// throughput of one request in flight whatever `max_in_flight` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Deliveries claimed and not yet settled, across all processes.
    pub max_in_flight: u32,
    /// Deliveries started per second at most; `None`: as fast as the endpoint takes them.
    pub rate_limit: Option<u32>,
    /// One at a time, in ingest order; a failing head holds the rest.
    pub ordered: bool,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            rate_limit: None,
            ordered: false,
        }
    }
}

fn in_range(errors: &mut Errors, field: &str, raw: &str, range: &std::ops::RangeInclusive<u32>) -> Option<u32> {
    let n = errors.take(parse_whole_number(field, raw))?;
    match u32::try_from(n).ok().filter(|n| range.contains(n)) {
        Some(n) => Some(n),
        None => {
            errors.push(
                field,
                format!("Enter a whole number from {} to {}.", range.start(), range.end()),
            );
            None
        }
    }
}

impl Pace {
    /// Parses the form/API text: `max_in_flight` empty means the default, `rate_limit` empty
    /// means no limit. Errors go to `errors` under the field's name.
    pub fn parse(errors: &mut Errors, max_in_flight: &str, rate_limit: &str, ordered: bool) -> Option<Self> {
        let max_in_flight = if max_in_flight.trim().is_empty() {
            Some(DEFAULT_MAX_IN_FLIGHT)
        } else {
            in_range(errors, "max_in_flight", max_in_flight, &MAX_IN_FLIGHT)
        };
        let rate_limit = if rate_limit.trim().is_empty() {
            Some(None)
        } else {
            in_range(errors, "rate_limit", rate_limit, &RATE_LIMIT).map(Some)
        };
        Some(Self {
            max_in_flight: max_in_flight?,
            rate_limit: rate_limit?,
            ordered,
        })
    }
}
