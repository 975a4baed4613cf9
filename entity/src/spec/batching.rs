//! Sending several events in one request (Customer.io, seed 004).

use serde::{Deserialize, Deserializer, Serialize};

use super::{FieldError, parse_whole_number};

/// Most events in one batch (Customer.io's limit).
pub const MAX_BATCH_EVENTS: u32 = 1000;
/// Longest a batch waits for more events: past a minute, "real time" stops being true.
pub const MAX_BATCH_WAIT_SECS: u32 = 60;

/// Whether a webhook sends events one per request (`off`, the default) or gathered into a JSON
/// array, flushed at `max_events` events or `max_wait_secs` after the first one, whichever comes
/// first. Serialized as `{"mode": "off"}` or `{"mode": "on", "max_events": 100,
/// "max_wait_secs": 10}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Batching {
    /// One event per request.
    #[default]
    Off,
    /// Events gathered into JSON arrays.
    On {
        /// Events that flush a batch at once: 1–1000 (API field `batch_max_events`).
        max_events: u32,
        /// Seconds after a batch's first event that flush it: 1–60 (API field `batch_max_wait_secs`).
        max_wait_secs: u32,
    },
}

impl Batching {
    /// Batching with the given limits. Takes `i64` so a negative number from the API gets a clear
    /// message rather than a type error.
    ///
    /// # Errors
    /// On `batch_max_events` (outside 1–1000) and `batch_max_wait_secs` (outside 1–60); both are
    /// reported when both are wrong.
    pub fn on(max_events: i64, max_wait_secs: i64) -> Result<Self, Vec<FieldError>> {
        let events = in_range(max_events, MAX_BATCH_EVENTS).ok_or_else(|| {
            FieldError::new(
                "batch_max_events",
                format!("A batch can hold 1 to {MAX_BATCH_EVENTS} events."),
            )
        });
        let wait = in_range(max_wait_secs, MAX_BATCH_WAIT_SECS).ok_or_else(|| {
            FieldError::new(
                "batch_max_wait_secs",
                format!("A batch can wait 1 to {MAX_BATCH_WAIT_SECS} seconds for more events."),
            )
        });
        match (events, wait) {
            (Ok(max_events), Ok(max_wait_secs)) => Ok(Self::On {
                max_events,
                max_wait_secs,
            }),
            (events, wait) => Err(events.err().into_iter().chain(wait.err()).collect()),
        }
    }

    /// Batching as set in a form: a checkbox and two number inputs. When `enabled` is false the
    /// numbers are ignored, so a form can keep showing them.
    ///
    /// # Errors
    /// As [`Batching::on`], plus "not a whole number" on the same fields.
    pub fn parse_form(enabled: bool, max_events: &str, max_wait_secs: &str) -> Result<Self, Vec<FieldError>> {
        if !enabled {
            return Ok(Self::Off);
        }
        match (
            parse_whole_number("batch_max_events", max_events),
            parse_whole_number("batch_max_wait_secs", max_wait_secs),
        ) {
            (Ok(events), Ok(wait)) => Self::on(events, wait),
            (events, wait) => Err(events.err().into_iter().chain(wait.err()).collect()),
        }
    }
}

fn in_range(value: i64, max: u32) -> Option<u32> {
    u32::try_from(value).ok().filter(|v| (1..=max).contains(v))
}

impl<'de> Deserialize<'de> for Batching {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "mode", rename_all = "snake_case")]
        enum Raw {
            Off,
            On { max_events: i64, max_wait_secs: i64 },
        }
        match Raw::deserialize(deserializer)? {
            Raw::Off => Ok(Self::Off),
            Raw::On {
                max_events,
                max_wait_secs,
            } => Self::on(max_events, max_wait_secs).map_err(|e| super::to_de_error(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn batching_is_off_by_default() {
        assert_eq!(Batching::default(), Batching::Off);
    }

    #[test]
    fn limits_at_the_edges_are_accepted() {
        assert_eq!(
            Batching::on(1000, 60),
            Ok(Batching::On {
                max_events: 1000,
                max_wait_secs: 60
            })
        );
        assert!(Batching::on(1, 1).is_ok());
    }

    #[test]
    fn limits_out_of_range_are_refused_on_their_own_fields() {
        assert_eq!(fields(&Batching::on(1001, 10).expect_err("big")), ["batch_max_events"]);
        assert_eq!(
            fields(&Batching::on(10, 61).expect_err("slow")),
            ["batch_max_wait_secs"]
        );
        assert_eq!(
            fields(&Batching::on(0, -5).expect_err("both")),
            ["batch_max_events", "batch_max_wait_secs"]
        );
    }

    #[test]
    fn a_form_with_batching_unticked_ignores_its_numbers() {
        assert_eq!(Batching::parse_form(false, "lots", ""), Ok(Batching::Off));
    }

    #[test]
    fn a_form_with_batching_ticked_needs_whole_numbers() {
        assert_eq!(
            Batching::parse_form(true, " 100 ", "5"),
            Ok(Batching::On {
                max_events: 100,
                max_wait_secs: 5
            })
        );
        let errors = Batching::parse_form(true, "many", "").expect_err("nan");
        assert_eq!(fields(&errors), ["batch_max_events", "batch_max_wait_secs"]);
    }

    #[test]
    fn batching_serializes_with_a_mode_tag_and_is_rechecked_when_read() {
        let on = Batching::on(100, 10).expect("valid");
        let json = serde_json::to_value(on).expect("json");
        assert_eq!(json, json!({"mode": "on", "max_events": 100, "max_wait_secs": 10}));
        assert_eq!(serde_json::from_value::<Batching>(json).expect("valid"), on);
        assert_eq!(
            serde_json::to_value(Batching::Off).expect("json"),
            json!({"mode": "off"})
        );
        let bad = json!({"mode": "on", "max_events": 5000, "max_wait_secs": 10});
        assert!(serde_json::from_value::<Batching>(bad).is_err());
    }
}
