//! The Segment event types a webhook takes.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize};

use super::{FieldError, to_de_error};

/// The kind of a Segment-spec call. `alias` is not here: it links identities and is never
/// delivered to webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// An action the user took, with an event name (`Order Completed`).
    Track,
    /// Who the user is, with their traits.
    Identify,
    /// A web page view.
    Page,
    /// A mobile screen view.
    Screen,
    /// The company (group) a user belongs to, with its traits.
    Group,
}

impl EventType {
    /// Every type, in the order forms list them and sets serialize them.
    pub const ALL: [EventType; 5] = [Self::Track, Self::Identify, Self::Page, Self::Screen, Self::Group];

    /// The lower-case name used in events, storage and the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Track => "track",
            Self::Identify => "identify",
            Self::Page => "page",
            Self::Screen => "screen",
            Self::Group => "group",
        }
    }

    /// Parses a type name, case-insensitively and ignoring surrounding whitespace.
    ///
    /// # Errors
    /// On field `event_types`: not one of the five names.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let wanted = raw.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                FieldError::new(
                    "event_types",
                    format!("“{wanted}” is not an event type; choose from track, identify, page, screen and group."),
                )
            })
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The non-empty set of event types a webhook takes. Only `track` by default: identify and page
/// calls are frequent and carry profile data, so receivers opt in (as Freshpaint does, seed 000).
/// Serialized as an array of names in [`EventType::ALL`] order, so equal sets store equal JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EventTypes(BTreeSet<EventType>);

impl EventTypes {
    /// The set of `types`; repeats collapse (a set of checkboxes).
    ///
    /// # Errors
    /// On field `event_types`: the set is empty, since such a webhook could never fire.
    pub fn new(types: impl IntoIterator<Item = EventType>) -> Result<Self, FieldError> {
        let set: BTreeSet<EventType> = types.into_iter().collect();
        if set.is_empty() {
            return Err(FieldError::new(
                "event_types",
                "Choose at least one event type, such as track.",
            ));
        }
        Ok(Self(set))
    }

    /// Parses type names as sent by a form or the API; blank entries are ignored.
    ///
    /// # Errors
    /// On field `event_types`: an unknown name (the first one is named), or no type at all.
    pub fn parse(raw: impl IntoIterator<Item: AsRef<str>>) -> Result<Self, FieldError> {
        let mut types = Vec::new();
        for name in raw {
            let name = name.as_ref();
            if !name.trim().is_empty() {
                types.push(EventType::parse(name)?);
            }
        }
        Self::new(types)
    }

    /// Whether events of type `t` are taken.
    #[must_use]
    pub fn contains(&self, t: EventType) -> bool {
        self.0.contains(&t)
    }

    /// The types, in [`EventType::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = EventType> + '_ {
        self.0.iter().copied()
    }
}

impl Default for EventTypes {
    fn default() -> Self {
        Self(BTreeSet::from([EventType::Track]))
    }
}

impl<'de> Deserialize<'de> for EventTypes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let types = Vec::<EventType>::deserialize(deserializer)?;
        Self::new(types).map_err(|e| to_de_error(&[e]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_a_webhook_takes_only_track_events() {
        let d = EventTypes::default();
        assert_eq!(d.iter().collect::<Vec<_>>(), [EventType::Track]);
        assert!(!d.contains(EventType::Identify));
        assert!(!d.contains(EventType::Page));
    }

    #[test]
    fn type_names_parse_case_insensitively_and_repeats_collapse() {
        let t = EventTypes::parse(["Page", " track ", "page", ""]).expect("valid");
        assert_eq!(t.iter().collect::<Vec<_>>(), [EventType::Track, EventType::Page]);
    }

    #[test]
    fn an_unknown_type_is_refused_and_named() {
        let err = EventTypes::parse(["track", "alias"]).expect_err("alias");
        assert_eq!(err.field, "event_types");
        assert!(err.message.contains("“alias”"), "{}", err.message);
    }

    #[test]
    fn an_empty_set_is_refused() {
        let err = EventTypes::parse(["", " "]).expect_err("empty");
        assert_eq!(err.field, "event_types");
        assert!(EventTypes::new([]).is_err());
    }

    #[test]
    fn sets_serialize_as_lowercase_names_in_a_stable_order() {
        let t = EventTypes::new([EventType::Group, EventType::Identify, EventType::Track]).expect("valid");
        assert_eq!(
            serde_json::to_string(&t).expect("json"),
            r#"["track","identify","group"]"#
        );
        let back: EventTypes = serde_json::from_str(r#"["group","identify","track"]"#).expect("valid");
        assert_eq!(back, t);
        assert!(serde_json::from_str::<EventTypes>("[]").is_err());
    }

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Ok(t));
            assert_eq!(serde_json::to_value(t).expect("json"), serde_json::json!(t.as_str()));
        }
    }
}
