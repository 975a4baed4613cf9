//! Event-name patterns with live toggles, and the rule deciding whether a webhook takes an event.

use serde::{Deserialize, Deserializer, Serialize};

use super::{EventType, EventTypes, FieldError, indexed, plural, to_de_error};

/// Event names Herald itself produces: the derived visitor events, which carry a different body
/// (the visit object), and the operational events of `herald_jobs::queue::ops` about a tenant's
/// endpoints. `*` and prefix patterns never match them: a webhook gets them only by naming them
/// exactly, and a tenant cannot send a track event with these names.
///
/// Written out because the producers sit in crates above this one; `herald_jobs::queue::ops` tests that
/// each operational event name it emits is listed here.
pub const RESERVED_EVENT_NAMES: [&str; 5] = [
    "NEW_VISIT",
    "NEW_VISITOR",
    "herald.webhook.failing",
    "herald.webhook.recovered",
    "herald.webhook.disabled",
];

/// Most patterns per webhook: enough for a hand-picked catalog, small enough to match linearly.
pub const MAX_PATTERNS: usize = 50;
const MAX_PATTERN_LEN: usize = 200;

/// Which event names a trigger takes. Serialized as the text the tenant writes:
///
/// - `*` — every name;
/// - `flows.*` — every name that starts with `flows.` and goes on (`flows.completed`,
///   `flows.a.b`); not `flows` itself, which is a different event, and not `flowsx`;
/// - anything else — exactly that name, case-sensitively (`Order Completed`, `NEW_VISIT`).
///
/// A `*` anywhere else is refused rather than read literally, because a tenant writing `flows*`
/// almost surely meant a wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum EventPattern {
    /// `*`: every name.
    All,
    /// `prefix.*`, holding the part before `.*` (`flows` for `flows.*`).
    Prefix(String),
    /// One name, matched exactly.
    Exact(String),
}

impl EventPattern {
    /// Parses a pattern; surrounding whitespace is ignored. `index` places errors on
    /// `patterns[index].pattern`.
    ///
    /// # Errors
    /// Empty, longer than 200 characters, containing control characters, `.*` with nothing before
    /// it, or a `*` that is neither alone nor the end of a `prefix.*`.
    pub fn parse(index: usize, raw: &str) -> Result<Self, FieldError> {
        let err = |message: &str| FieldError::new(indexed("patterns", index, "pattern"), message);
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(err(
                "Enter an event name, a prefix such as “flows.*”, or “*” for every event.",
            ));
        }
        if raw.chars().count() > MAX_PATTERN_LEN {
            return Err(err("An event pattern can be at most 200 characters long."));
        }
        if raw.chars().any(char::is_control) {
            return Err(err(
                "An event pattern can't contain control characters such as tabs or line breaks.",
            ));
        }
        if raw == "*" {
            return Ok(Self::All);
        }
        let (text, prefix) = match raw.strip_suffix(".*") {
            Some(prefix) => (prefix, true),
            None => (raw, false),
        };
        if prefix && text.is_empty() {
            return Err(err(
                "Write “*” to match every event; “.*” needs a prefix before it, as in “flows.*”.",
            ));
        }
        if text.contains('*') {
            return Err(err(
                "A “*” can only stand alone (every event) or end a prefix after a dot, as in “flows.*”.",
            ));
        }
        Ok(if prefix {
            Self::Prefix(text.to_owned())
        } else {
            Self::Exact(text.to_owned())
        })
    }

    /// Whether an event called `name` is taken by this pattern. A reserved name
    /// ([`RESERVED_EVENT_NAMES`]) is taken only by a pattern naming it exactly.
    #[must_use]
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::All => !RESERVED_EVENT_NAMES.contains(&name),
            Self::Prefix(_) if RESERVED_EVENT_NAMES.contains(&name) => false,
            Self::Prefix(prefix) => name
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|rest| !rest.is_empty()),
            Self::Exact(exact) => name == exact,
        }
    }
}

impl std::fmt::Display for EventPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Prefix(prefix) => write!(f, "{prefix}.*"),
            Self::Exact(exact) => f.write_str(exact),
        }
    }
}

impl TryFrom<String> for EventPattern {
    type Error = FieldError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(0, &raw)
    }
}

impl From<EventPattern> for String {
    fn from(p: EventPattern) -> Self {
        p.to_string()
    }
}

/// One event-name pattern with its own live toggle: a disabled trigger stays configured but takes
/// nothing, so a tenant can pause one event without losing the setup (Userpilot, seed 002).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The names this trigger takes.
    pub pattern: EventPattern,
    /// The live toggle: `false` pauses this pattern without removing it.
    pub enabled: bool,
}

/// A webhook's triggers: at most 50, no pattern twice. Serialized as an array of
/// `{"pattern": "flows.*", "enabled": true}`, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Triggers(Vec<Trigger>);

impl Triggers {
    /// Parses `(pattern, enabled)` rows; rows with a blank pattern are skipped.
    ///
    /// # Errors
    /// Every problem found: on `patterns[N].pattern` for an invalid or repeated pattern, and on
    /// `patterns` when there are more than 50.
    pub fn parse<S: AsRef<str>>(rows: impl IntoIterator<Item = (S, bool)>) -> Result<Self, Vec<FieldError>> {
        let mut triggers: Vec<Trigger> = Vec::new();
        let mut errors = Vec::new();
        let mut count = 0;
        for (i, (raw, enabled)) in rows.into_iter().enumerate() {
            if raw.as_ref().trim().is_empty() {
                continue;
            }
            count += 1;
            match EventPattern::parse(i, raw.as_ref()) {
                Ok(pattern) if triggers.iter().any(|t| t.pattern == pattern) => errors.push(FieldError::new(
                    indexed("patterns", i, "pattern"),
                    format!("“{pattern}” is listed twice; remove one of them."),
                )),
                Ok(pattern) => triggers.push(Trigger { pattern, enabled }),
                Err(e) => errors.push(e),
            }
        }
        if count > MAX_PATTERNS {
            errors.push(FieldError::new(
                "patterns",
                format!(
                    "A webhook can have at most {MAX_PATTERNS} event patterns; remove {}.",
                    plural(count - MAX_PATTERNS, "pattern", "patterns")
                ),
            ));
        }
        if errors.is_empty() {
            Ok(Self(triggers))
        } else {
            Err(errors)
        }
    }

    /// The triggers, in the order given.
    #[must_use]
    pub fn as_slice(&self) -> &[Trigger] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Triggers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let rows = Vec::<Trigger>::deserialize(deserializer)?;
        Self::parse(rows.into_iter().map(|t| (t.pattern.to_string(), t.enabled))).map_err(|e| to_de_error(&e))
    }
}

/// Whether a webhook with event `types` and `triggers` takes an event.
///
/// The event's type must be in `types`. Then, when the event has a name (`event_name` is `Some`:
/// track events, and derived events such as `NEW_VISIT` that arrive named), at least one *enabled*
/// trigger must match that name; so a webhook with no triggers, or with all of them toggled off,
/// takes no named events (nothing is sent until the tenant picks events, as in Userpilot). Events
/// without a name (identify, group, and page/screen, whose `name` the caller must not pass here)
/// are decided by their type alone. A track event without a name cannot match any pattern and is
/// not taken; Segment's spec requires the name, so ingest should have refused it.
#[must_use]
pub fn matches_event(
    types: &EventTypes,
    triggers: &[Trigger],
    event_type: EventType,
    event_name: Option<&str>,
) -> bool {
    if !types.contains(event_type) {
        return false;
    }
    match event_name {
        Some(name) => triggers.iter().any(|t| t.enabled && t.pattern.matches(name)),
        None => event_type != EventType::Track,
    }
}

#[cfg(test)]
#[path = "triggers_tests.rs"]
mod tests;
