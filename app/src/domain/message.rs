//! One Segment-spec message: validated and normalised the way Segment's own API does it
//! (`messageId`, `timestamp` and `receivedAt` filled in when absent), with errors that name the
//! offending field (`batch[3].event`).

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::crypto;
use crate::domain::FieldError;

/// Largest accepted message, serialized: 32 KB (Segment's limit).
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// The Segment call types Herald stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Track,
    Identify,
    Page,
    Screen,
    Group,
    Alias,
}

impl Kind {
    /// Parses a `type` value.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Kind> {
        match raw {
            "track" => Some(Kind::Track),
            "identify" => Some(Kind::Identify),
            "page" => Some(Kind::Page),
            "screen" => Some(Kind::Screen),
            "group" => Some(Kind::Group),
            "alias" => Some(Kind::Alias),
            _ => None,
        }
    }

    /// The `type` value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Track => "track",
            Kind::Identify => "identify",
            Kind::Page => "page",
            Kind::Screen => "screen",
            Kind::Group => "group",
            Kind::Alias => "alias",
        }
    }
}

/// A validated message, ready to store.
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: Kind,
    /// `event` for track, `name` for page/screen.
    pub name: Option<String>,
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub group_id: Option<String>,
    pub timestamp_ms: i64,
    /// The normalised event as stored and as sent in the `event` payload format.
    pub body: Value,
}

fn err(prefix: &str, field: &str, message: impl Into<String>) -> FieldError {
    let path = if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    };
    FieldError::new(path, message)
}

/// A string id; numbers are accepted and stored as strings (some SDKs send numeric user ids).
fn id_field(obj: &Map<String, Value>, key: &str, prefix: &str) -> Result<Option<String>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() > 1000 => {
            Err(err(prefix, key, format!("{key} must be at most 1000 characters.")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(err(prefix, key, format!("{key} must be a string."))),
    }
}

fn object_field(obj: &Map<String, Value>, key: &str, prefix: &str) -> Result<(), FieldError> {
    match obj.get(key) {
        None | Some(Value::Null | Value::Object(_)) => Ok(()),
        Some(_) => Err(err(prefix, key, format!("{key} must be an object."))),
    }
}

fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Validates and normalises `raw`. `kind` is the endpoint's type (`/v1/track`), or `None` to
/// read `type` from the message (`/v1/batch`, `/api/v1/events`). `prefix` names the message in
/// errors (`batch[3]`, or empty for a single message).
///
/// # Errors
/// The first problem found, naming its field.
pub fn parse(raw: Value, kind: Option<Kind>, prefix: &str, received_at_ms: i64) -> Result<Message, FieldError> {
    let Value::Object(mut obj) = raw else {
        return Err(FieldError::new(
            if prefix.is_empty() { "body" } else { prefix },
            "A message must be a JSON object.",
        ));
    };
    if serde_json::to_vec(&obj).map_or(0, |v| v.len()) > MAX_MESSAGE_BYTES {
        return Err(FieldError::new(
            if prefix.is_empty() { "body" } else { prefix },
            format!("A message must be at most {} KB.", MAX_MESSAGE_BYTES / 1024),
        ));
    }
    obj.remove("writeKey");
    let kind = match (kind, obj.get("type")) {
        (Some(k), _) => k,
        (None, Some(Value::String(t))) => Kind::parse(t).ok_or_else(|| {
            err(
                prefix,
                "type",
                format!("Unknown type \"{t}\": use track, identify, page, screen, group or alias."),
            )
        })?,
        (None, _) => {
            return Err(err(
                prefix,
                "type",
                "type is required: track, identify, page, screen, group or alias.",
            ));
        }
    };
    obj.insert("type".into(), Value::String(kind.as_str().into()));
    let user_id = id_field(&obj, "userId", prefix)?;
    let anonymous_id = id_field(&obj, "anonymousId", prefix)?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(err(prefix, "userId", "Either userId or anonymousId is required."));
    }
    let group_id = id_field(&obj, "groupId", prefix)?;
    for key in ["properties", "traits", "context", "integrations"] {
        object_field(&obj, key, prefix)?;
    }
    let name = match kind {
        Kind::Track => match obj.get("event") {
            Some(Value::String(e)) if entity::spec::RESERVED_EVENT_NAMES.contains(&e.as_str()) => {
                return Err(err(
                    prefix,
                    "event",
                    format!("“{e}” is reserved: Herald produces it. Name your event differently."),
                ));
            }
            Some(Value::String(e)) if !e.trim().is_empty() && e.chars().count() <= 200 => Some(e.clone()),
            Some(Value::String(e)) if !e.trim().is_empty() => {
                return Err(err(prefix, "event", "event must be at most 200 characters."));
            }
            _ => return Err(err(prefix, "event", "A track call needs an event name.")),
        },
        Kind::Page | Kind::Screen => match obj.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(n)) => Some(n.clone()).filter(|n| !n.trim().is_empty()),
            Some(_) => return Err(err(prefix, "name", "name must be a string.")),
        },
        _ => None,
    };
    if kind == Kind::Group && group_id.is_none() {
        return Err(err(prefix, "groupId", "A group call needs a groupId."));
    }
    if kind == Kind::Alias && id_field(&obj, "previousId", prefix)?.is_none() {
        return Err(err(prefix, "previousId", "An alias call needs a previousId."));
    }
    let message_id = match obj.get("messageId") {
        None | Some(Value::Null) => {
            let id = format!("herald-{}", crypto::random_hex(16));
            obj.insert("messageId".into(), Value::String(id.clone()));
            id
        }
        Some(Value::String(id)) if !id.trim().is_empty() && id.len() <= 200 => id.clone(),
        Some(_) => {
            return Err(err(
                prefix,
                "messageId",
                "messageId must be a non-empty string of at most 200 characters.",
            ));
        }
    };
    let timestamp_ms = match obj.get("timestamp") {
        None | Some(Value::Null) => {
            obj.insert("timestamp".into(), Value::String(rfc3339(received_at_ms)));
            received_at_ms
        }
        Some(Value::String(t)) => {
            let parsed = OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
                err(
                    prefix,
                    "timestamp",
                    "timestamp must be an ISO 8601 date-time like 2024-12-22T14:30:00Z.",
                )
            })?;
            i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).unwrap_or(received_at_ms)
        }
        Some(_) => return Err(err(prefix, "timestamp", "timestamp must be a string.")),
    };
    obj.insert("receivedAt".into(), Value::String(rfc3339(received_at_ms)));
    Ok(Message {
        kind,
        name,
        message_id,
        user_id,
        anonymous_id,
        group_id,
        timestamp_ms,
        body: Value::Object(obj),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_ids_timestamps_and_names_are_handled_like_segment() {
        let m = parse(
            json!({"event": "Signed Up", "userId": "u1"}),
            Some(Kind::Track),
            "",
            1_000,
        )
        .unwrap();
        assert_eq!(m.body["type"], "track");
        assert!(m.message_id.starts_with("herald-"));
        assert_eq!(m.body["timestamp"], "1970-01-01T00:00:01Z");
        assert_eq!(m.body["receivedAt"], "1970-01-01T00:00:01Z");
        let e = parse(json!({"userId": "u1"}), Some(Kind::Track), "batch[2]", 0).unwrap_err();
        assert_eq!(e.field, "batch[2].event");
        let e = parse(json!({"event": "x"}), Some(Kind::Track), "", 0).unwrap_err();
        assert_eq!(e.field, "userId");
        let e = parse(json!({"type": "nope", "userId": "u"}), None, "", 0).unwrap_err();
        assert_eq!(e.field, "type");
        let e = parse(json!({"type": "group", "userId": "u"}), None, "", 0).unwrap_err();
        assert_eq!(e.field, "groupId");
        let e = parse(
            json!({"type": "identify", "userId": "u", "timestamp": "yesterday"}),
            None,
            "",
            0,
        )
        .unwrap_err();
        assert_eq!(e.field, "timestamp");
        let e = parse(json!({"type": "identify", "userId": "u", "traits": [1]}), None, "", 0).unwrap_err();
        assert_eq!(e.field, "traits");
    }

    #[test]
    fn numeric_user_ids_become_strings_and_oversized_messages_are_refused() {
        let m = parse(json!({"type": "identify", "userId": 42}), None, "", 0).unwrap();
        assert_eq!(m.user_id.as_deref(), Some("42"));
        let big = "x".repeat(MAX_MESSAGE_BYTES);
        let e = parse(
            json!({"type": "identify", "userId": "u", "traits": {"blob": big}}),
            None,
            "batch[0]",
            0,
        )
        .unwrap_err();
        assert_eq!(e.field, "batch[0]");
    }
}
