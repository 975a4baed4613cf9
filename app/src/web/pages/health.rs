//! How health reads on a page: the state badge of the list and the overview, and the health
//! header of a webhook's page. The figures come from `domain::deliveries::health`, the one
//! definition; this only words them.

use crate::domain::deliveries::{Health, State, Summary, Window};
use crate::web::format::When;

/// A webhook's state as a badge: `healthy`, `failing since …`, `paused — endpoint failing
/// since …, next probe at …`, `disabled`, `no traffic`.
pub struct StateView {
    /// `healthy`, `failing`, `paused`, `disabled`, `no traffic`.
    pub label: &'static str,
    pub badge: &'static str,
    /// What precedes `since`: `since`, or `— endpoint failing since` for a paused webhook.
    pub since_words: &'static str,
    /// When a failing or paused webhook started failing.
    pub since: Option<When>,
    /// When a paused webhook's next probe may go.
    pub next_probe: Option<When>,
}

impl From<State> for StateView {
    fn from(s: State) -> Self {
        let (label, badge, since, next_probe) = match s {
            State::Healthy => ("healthy", "green", None, None),
            State::Failing { since } => ("failing", "red", Some(When::at(since)), None),
            State::Paused { since, next_probe } => {
                ("paused", "amber", Some(When::at(since)), Some(When::at(next_probe)))
            }
            State::Disabled => ("disabled", "grey", None, None),
            State::NoTraffic => ("no traffic", "grey", None, None),
        };
        let since_words = if next_probe.is_some() {
            "— endpoint failing since"
        } else {
            "since"
        };
        Self {
            label,
            badge,
            since_words,
            since,
            next_probe,
        }
    }
}

/// One window, worded.
pub struct WindowView {
    /// `97.5%`, or `—` without attempts.
    pub rate: String,
    pub rate_badge: &'static str,
    pub attempts: u64,
    pub failed: u64,
    /// Response time, `12 ms` or `—`.
    pub p50: String,
    pub p95: String,
}

impl From<Window> for WindowView {
    fn from(w: Window) -> Self {
        let ms = |v: Option<i64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v} ms"));
        Self {
            rate: w.success_rate.map_or_else(|| "—".to_owned(), |r| format!("{r:.1}%")),
            rate_badge: match w.success_rate {
                None => "grey",
                Some(r) if r >= 99.0 => "green",
                Some(r) if r >= 90.0 => "amber",
                Some(_) => "red",
            },
            attempts: w.attempts,
            failed: w.failed,
            p50: ms(w.p50_ms),
            p95: ms(w.p95_ms),
        }
    }
}

/// A row's health in the list and the overview.
pub struct SummaryView {
    pub state: StateView,
    pub day: WindowView,
}

impl From<Summary> for SummaryView {
    fn from(s: Summary) -> Self {
        Self {
            state: s.state.into(),
            day: s.day.into(),
        }
    }
}

/// The latest failed attempt, worded.
pub struct LastErrorView {
    pub when: When,
    pub outcome: String,
    pub delivery_id: i64,
}

/// The health header of a webhook's page.
pub struct HealthView {
    pub state: StateView,
    pub day: WindowView,
    pub week: WindowView,
    pub last_success: Option<When>,
    pub last_error: Option<LastErrorView>,
    /// Deliveries waiting for a retry.
    pub retrying: u64,
}

impl From<Health> for HealthView {
    fn from(h: Health) -> Self {
        Self {
            state: h.state.into(),
            day: h.day.into(),
            week: h.week.into(),
            last_success: h.last_success_at.map(When::at),
            last_error: h.last_error.map(|e| LastErrorView {
                when: When::at(e.at),
                outcome: e.outcome(),
                delivery_id: e.delivery_id,
            }),
            retrying: h.retrying,
        }
    }
}
