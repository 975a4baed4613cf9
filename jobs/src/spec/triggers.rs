//! Event-name patterns with live toggles, and the rule deciding whether a webhook takes an event.

use serde::{Deserialize, Deserializer, Serialize};

use super::{EventType, EventTypes, FieldError, indexed, plural, to_de_error};

/// Event names Herald itself produces (derived visitor events, which carry a different body,
/// the visit object, and the operational events of [`crate::ops`]). `*` and prefix patterns
/// never match them: a webhook gets them only by naming them exactly, and a tenant cannot send a
/// track event with these names.
pub const RESERVED_EVENT_NAMES: [&str; 5] = [
    "NEW_VISIT",
    "NEW_VISITOR",
    crate::ops::FAILING,
    crate::ops::RECOVERED,
    crate::ops::DISABLED,
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pattern(raw: &str) -> EventPattern {
        EventPattern::parse(0, raw).expect(raw)
    }

    fn on(raw: &str) -> Trigger {
        Trigger {
            pattern: pattern(raw),
            enabled: true,
        }
    }

    #[test]
    fn a_star_matches_every_name() {
        assert_eq!(pattern(" * "), EventPattern::All);
        assert!(pattern("*").matches("anything at all"));
    }

    #[test]
    fn derived_visitor_events_are_taken_only_by_their_exact_name() {
        for name in RESERVED_EVENT_NAMES {
            assert!(!pattern("*").matches(name));
            assert!(!pattern("NEW.*").matches(name));
            assert!(pattern(name).matches(name));
        }
    }

    #[test]
    fn a_prefix_pattern_matches_names_below_the_prefix_only() {
        let p = pattern("flows.*");
        assert_eq!(p, EventPattern::Prefix("flows".into()));
        assert!(p.matches("flows.completed"));
        assert!(p.matches("flows.a.b"));
        assert!(!p.matches("flows"));
        assert!(!p.matches("flows."));
        assert!(!p.matches("flowsx.completed"));
        assert!(!p.matches("checklist.completed"));
    }

    #[test]
    fn an_exact_pattern_matches_only_that_name_case_sensitively() {
        let p = pattern("Order Completed");
        assert!(p.matches("Order Completed"));
        assert!(!p.matches("order completed"));
        assert!(!p.matches("Order Completed 2"));
    }

    #[test]
    fn misplaced_stars_are_refused() {
        for raw in ["flows*", "*.completed", "fl*ws.*", "**", ".*", "a.*.*"] {
            let err = EventPattern::parse(3, raw).expect_err(raw);
            assert_eq!(err.field, "patterns[3].pattern");
        }
    }

    #[test]
    fn empty_overlong_and_control_character_patterns_are_refused() {
        assert!(EventPattern::parse(0, "  ").is_err());
        assert!(EventPattern::parse(0, &"e".repeat(201)).is_err());
        assert!(EventPattern::parse(0, &"e".repeat(200)).is_ok());
        assert!(EventPattern::parse(0, "a\tb").is_err());
    }

    #[test]
    fn patterns_serialize_as_the_text_written() {
        let t = Triggers::parse([("flows.*", true), ("*", false), ("NEW_VISIT", true)]).expect("valid");
        assert_eq!(
            serde_json::to_value(&t).expect("json"),
            serde_json::json!([
                {"pattern": "flows.*", "enabled": true},
                {"pattern": "*", "enabled": false},
                {"pattern": "NEW_VISIT", "enabled": true},
            ])
        );
        let back: Triggers = serde_json::from_value(serde_json::to_value(&t).expect("json")).expect("valid");
        assert_eq!(back, t);
    }

    #[test]
    fn a_repeated_pattern_is_refused_on_the_later_row() {
        let errors = Triggers::parse([("flows.*", true), (" flows.* ", false)]).expect_err("dup");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "patterns[1].pattern");
    }

    #[test]
    fn a_fifty_first_pattern_is_refused_on_patterns() {
        let rows: Vec<(String, bool)> = (0..=MAX_PATTERNS).map(|i| (format!("e{i}"), true)).collect();
        let errors = Triggers::parse(rows.clone()).expect_err("too many");
        assert_eq!(errors[0].field, "patterns");
        assert!(Triggers::parse(rows.into_iter().take(MAX_PATTERNS)).is_ok());
    }

    #[test]
    fn blank_pattern_rows_are_skipped() {
        let t = Triggers::parse([("", true), ("a", true)]).expect("valid");
        assert_eq!(t.as_slice().len(), 1);
    }

    #[test]
    fn track_events_need_an_enabled_matching_trigger() {
        let types = EventTypes::default();
        let triggers = [on("flows.*")];
        assert!(matches_event(
            &types,
            &triggers,
            EventType::Track,
            Some("flows.completed")
        ));
        assert!(!matches_event(
            &types,
            &triggers,
            EventType::Track,
            Some("nps.feedback")
        ));
        let off = [Trigger {
            enabled: false,
            ..on("flows.*")
        }];
        assert!(!matches_event(&types, &off, EventType::Track, Some("flows.completed")));
    }

    #[test]
    fn a_webhook_without_triggers_takes_no_track_events() {
        assert!(!matches_event(
            &EventTypes::default(),
            &[],
            EventType::Track,
            Some("signed_up")
        ));
        assert!(!matches_event(
            &EventTypes::default(),
            &[on("*")],
            EventType::Track,
            None
        ));
    }

    #[test]
    fn events_of_types_not_chosen_are_never_taken() {
        let types = EventTypes::default();
        assert!(!matches_event(&types, &[on("*")], EventType::Identify, None));
        assert!(!matches_event(&types, &[on("*")], EventType::Page, Some("NEW_VISIT")));
    }

    #[test]
    fn unnamed_events_of_chosen_types_are_decided_by_type_alone() {
        let types = EventTypes::new([EventType::Identify, EventType::Group]).expect("valid");
        assert!(matches_event(&types, &[], EventType::Identify, None));
        assert!(matches_event(&types, &[on("flows.*")], EventType::Group, None));
    }

    #[test]
    fn a_named_event_of_another_type_still_needs_a_trigger() {
        let types = EventTypes::new([EventType::Page]).expect("valid");
        assert!(matches_event(
            &types,
            &[on("NEW_VISIT")],
            EventType::Page,
            Some("NEW_VISIT")
        ));
        assert!(!matches_event(
            &types,
            &[on("NEW_VISITOR")],
            EventType::Page,
            Some("NEW_VISIT")
        ));
    }

    proptest! {
        #[test]
        fn a_prefix_pattern_matches_every_name_below_it(prefix in "[a-z_]{1,10}", rest in "[a-z._ ]{1,20}") {
            let p = pattern(&format!("{prefix}.*"));
            let name = format!("{prefix}.{rest}");
            prop_assert!(p.matches(&name));
            prop_assert!(!p.matches(&prefix));
        }

        #[test]
        fn an_exact_pattern_round_trips_through_its_text(name in "[^*\\p{Cc}]{1,50}") {
            let trimmed = name.trim();
            prop_assume!(!trimmed.is_empty() && !trimmed.ends_with(".*"));
            let p = pattern(trimmed);
            prop_assert!(p.matches(trimmed));
            prop_assert_eq!(pattern(&p.to_string()), p);
        }
    }
}
