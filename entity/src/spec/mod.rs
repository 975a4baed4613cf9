//! What a webhook is configured to do, as validated values: where it sends, which events it takes,
//! what the payload looks like and how it is signed. Pure and database-free, so the dashboard, the
//! REST API, ingest (matching) and the delivery worker (rendering) share one set of rules.
//!
//! Every type here serializes to stable snake_case JSON, because it is stored in a JSON column and
//! returned by the API as is; deserializing re-checks the rules, so a value of one of these types
//! is always valid, whichever way it was made.
//!
//! Error convention: parsers of a single value return `Result<T, FieldError>`; parsers of a list
//! return `Result<T, Vec<FieldError>>` with every bad row at once (never empty), so a form can mark
//! all of them in one round trip. Each error names the API field it concerns, with an index for
//! list rows (`headers[2].name`). List parsers skip rows whose inputs are all blank, so a form can
//! offer spare rows; indexes still count every row given.

mod batching;
mod delivery;
mod events;
mod filter;
mod headers;
mod method;
mod path;
mod properties;
mod scope;
mod template;
mod triggers;
mod url;

pub use batching::{Batching, MAX_BATCH_EVENTS, MAX_BATCH_WAIT_SECS};
pub use delivery::{DEFAULT_TIMEOUT_SECS, MAX_TIMEOUT_SECS, SignatureScheme, Timeout};
pub use events::{EventType, EventTypes};
pub use filter::{Condition, Filter, MAX_CONDITIONS, Op, parse_value};
pub use headers::{CustomHeaders, Header, MAX_HEADERS, RESERVED_HEADERS};
pub use method::Method;
pub use path::{JsonPath, PathError};
pub use properties::{MAX_PROPERTIES, PropertyRef, PropertySelection};
pub use scope::{AppScope, MAX_SCOPED_APPS};
pub use template::{MAX_TEMPLATE_BYTES, PayloadFormat, parse_template, render_template, validate_template};
pub use triggers::{EventPattern, MAX_PATTERNS, RESERVED_EVENT_NAMES, Trigger, Triggers, matches_event};
pub use url::{MAX_URL_LEN, WebhookUrl};

/// One problem with user input, tied to the API field it concerns so a form can show it next to
/// the right input and an API client can point at the right key.
///
/// `field` uses the API's names (`url`, `headers[0].value`, `properties`); `message` is a full
/// sentence that tells the user what to change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The API field, with `[N]` for list rows: `url`, `headers[0].value`, `properties`.
    pub field: String,
    /// A full sentence telling the user what to change.
    pub message: String,
}

impl FieldError {
    /// An error on `field` with a user-facing `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Parses a whole number typed into a form field (`timeout_secs`, `batch_max_events`, …).
///
/// Kept apart from the range checks so that "not a number" and "out of range" get different
/// messages; the range check belongs to the type that owns the field.
///
/// # Errors
/// The trimmed input is not an optionally signed integer that fits in an `i64`.
pub fn parse_whole_number(field: &str, raw: &str) -> Result<i64, FieldError> {
    raw.trim().parse::<i64>().map_err(|_| {
        FieldError::new(
            field,
            format!("Enter a whole number here; “{}” is not one.", raw.trim()),
        )
    })
}

/// The field name of a sub-field of a list row, e.g. `indexed("headers", 2, "name")` →
/// `headers[2].name`; an empty `sub` gives `properties[2]`.
pub(crate) fn indexed(list: &str, index: usize, sub: &str) -> String {
    if sub.is_empty() {
        format!("{list}[{index}]")
    } else {
        format!("{list}[{index}].{sub}")
    }
}

/// Turns parser errors into one serde error, for `Deserialize` impls that re-check stored JSON.
pub(crate) fn to_de_error<E: serde::de::Error>(errors: &[FieldError]) -> E {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    E::custom(text.join(" "))
}

/// Whether every string of a row is blank: such rows are spare form rows and are skipped.
pub(crate) fn is_blank(parts: &[&str]) -> bool {
    parts.iter().all(|p| p.trim().is_empty())
}

/// "1 row" / "3 rows": counts in messages read naturally.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_error_displays_its_field_then_its_message() {
        let e = FieldError::new("url", "Enter a URL.");
        assert_eq!(e.to_string(), "url: Enter a URL.");
    }

    #[test]
    fn a_field_error_serializes_with_stable_names() {
        let e = FieldError::new("headers[1].name", "Bad.");
        assert_eq!(
            serde_json::to_value(&e).expect("serializable"),
            serde_json::json!({"field": "headers[1].name", "message": "Bad."})
        );
    }

    #[test]
    fn whole_numbers_parse_with_surrounding_spaces() {
        assert_eq!(parse_whole_number("timeout_secs", " 12 "), Ok(12));
        assert_eq!(parse_whole_number("timeout_secs", "-3"), Ok(-3));
    }

    #[test]
    fn text_that_is_not_a_whole_number_is_refused_on_its_field() {
        for raw in ["", "1.5", "ten", "99999999999999999999"] {
            let err = parse_whole_number("batch_max_events", raw).expect_err(raw);
            assert_eq!(err.field, "batch_max_events");
        }
    }

    #[test]
    fn indexed_field_names_follow_the_api_spelling() {
        assert_eq!(indexed("headers", 2, "name"), "headers[2].name");
        assert_eq!(indexed("properties", 0, ""), "properties[0]");
    }

    #[test]
    fn plural_counts_read_naturally() {
        assert_eq!(plural(1, "header", "headers"), "1 header");
        assert_eq!(plural(3, "header", "headers"), "3 headers");
    }
}
