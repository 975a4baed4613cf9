//! Where a delivery is, in words a person understands. The queue stores `pending` both for a
//! delivery that has not been tried yet and for one waiting for its next retry; people need to
//! tell them apart ("retrying, attempt 3 of 8, next at 21:45"), so lists, filters and the API
//! speak of stages: the stored status, with `pending` split in `pending` and `retrying`. The queue
//! already tells them apart: a failed attempt puts the row in lane 1 (retries), a new delivery
//! and a hand-made resend are in lane 0 (due now).

use sea_orm::{ColumnTrait, Condition};

use entity::delivery::{self, DeliveryStatus};

use crate::domain::{DomainError, DomainResult};

/// The queue's lane of deliveries waiting for a retry.
const RETRY_LANE: i32 = 1;

/// A delivery's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// A batch still filling.
    Collecting,
    /// Due now: not tried yet, or sent again by hand.
    Pending,
    /// Tried and failed; waits for its next attempt.
    Retrying,
    /// Being sent right now.
    InFlight,
    Succeeded,
    /// Given up (attempts exhausted, `410 Gone`, or a blocked target).
    Failed,
    /// Not sent because its webhook was disabled.
    Cancelled,
}

impl Stage {
    /// Every stage, in the order filters offer them.
    pub const ALL: [Stage; 7] = [
        Self::Succeeded,
        Self::Failed,
        Self::Retrying,
        Self::Pending,
        Self::InFlight,
        Self::Cancelled,
        Self::Collecting,
    ];

    /// The stage of a stored delivery.
    #[must_use]
    pub fn of(d: &delivery::Model) -> Self {
        match d.status {
            DeliveryStatus::Pending if d.lane == RETRY_LANE => Self::Retrying,
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Collecting => Self::Collecting,
            DeliveryStatus::InFlight => Self::InFlight,
            DeliveryStatus::Succeeded => Self::Succeeded,
            DeliveryStatus::Failed => Self::Failed,
            DeliveryStatus::Cancelled => Self::Cancelled,
        }
    }

    /// The API's and the filters' name: `retrying`, `in_flight` …
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retrying => "retrying",
            Self::Pending => "pending",
            Self::Collecting => "collecting",
            Self::InFlight => "in_flight",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The stage in words (`in flight`).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::InFlight => "in flight",
            other => other.as_str(),
        }
    }

    /// Parses a filter value; blank means any.
    ///
    /// # Errors
    /// `Invalid` on `status`, listing the stages.
    pub fn parse(raw: Option<&str>) -> DomainResult<Option<Self>> {
        let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .map(Some)
            .ok_or_else(|| {
                let all: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                DomainError::invalid(
                    "status",
                    format!("“{s}” is not a delivery status; use one of {}.", all.join(", ")),
                )
            })
    }

    /// The rows in this stage.
    #[must_use]
    pub fn condition(self) -> Condition {
        let status = |s: DeliveryStatus| Condition::all().add(delivery::Column::Status.eq(s));
        match self {
            Self::Retrying => status(DeliveryStatus::Pending).add(delivery::Column::Lane.eq(RETRY_LANE)),
            Self::Pending => status(DeliveryStatus::Pending).add(delivery::Column::Lane.ne(RETRY_LANE)),
            Self::Collecting => status(DeliveryStatus::Collecting),
            Self::InFlight => status(DeliveryStatus::InFlight),
            Self::Succeeded => status(DeliveryStatus::Succeeded),
            Self::Failed => status(DeliveryStatus::Failed),
            Self::Cancelled => status(DeliveryStatus::Cancelled),
        }
    }

    /// Whether more will happen to it without anyone acting (the page refreshes itself then).
    #[must_use]
    pub fn is_moving(self) -> bool {
        matches!(self, Self::Pending | Self::InFlight | Self::Collecting)
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// "attempt 3 of 8": the number of the next attempt of a retrying delivery and how many the
/// schedule allows (`schedule_len`); a hand-made resend past the schedule is "attempt 9".
#[must_use]
pub fn next_attempt(d: &delivery::Model, schedule_len: usize) -> String {
    let next = d.attempts + 1;
    match i32::try_from(schedule_len) {
        Ok(max) if next <= max => format!("attempt {next} of {max}"),
        _ => format!("attempt {next}"),
    }
}
