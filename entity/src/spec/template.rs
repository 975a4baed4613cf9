//! Payload formats, and the custom JSON template with `{{ path }}` placeholders (Customer.io's
//! payload mapping, seed 004).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{FieldError, JsonPath, to_de_error};

/// Largest custom template, in bytes of JSON text: room for any real mapping, and a bound on the
/// work rendering does per event.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;

/// The body a webhook sends for each event. Serialized as `{"kind": "event"}`,
/// `{"kind": "envelope"}` or `{"kind": "custom", "template": {...}}`.
///
/// - `event` (default): the Segment-spec event as received (Freshpaint, Customer.io).
/// - `envelope`: `{type, timestamp, app_token, data{…, user{…}, company{…}}}` (Userpilot).
/// - `custom`: `template` rendered with [`render_template`]; built by [`PayloadFormat::parse`] or
///   [`PayloadFormat::custom`], which check it with [`validate_template`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PayloadFormat {
    /// The event as received.
    #[default]
    Event,
    /// Userpilot's envelope around the event.
    Envelope,
    /// A tenant-written template.
    Custom {
        /// A JSON object or array with `{{ path }}` placeholders in its string values.
        template: Value,
    },
}

impl PayloadFormat {
    /// Parses the form/API choice `kind` (`event`, `envelope`, `custom`; case-insensitive) and, for
    /// `custom`, the template text. The template is ignored for the other kinds, so a form can keep
    /// it while the tenant tries another format.
    ///
    /// # Errors
    /// On `payload_format` for an unknown kind; on `template` when `custom` has no template or an
    /// invalid one (see [`parse_template`]).
    pub fn parse(kind: &str, template: Option<&str>) -> Result<Self, FieldError> {
        match kind.trim().to_ascii_lowercase().as_str() {
            "event" => Ok(Self::Event),
            "envelope" => Ok(Self::Envelope),
            "custom" => match template.map(str::trim).filter(|t| !t.is_empty()) {
                Some(text) => Ok(Self::Custom {
                    template: parse_template(text)?,
                }),
                None => Err(FieldError::new(
                    "template",
                    "Write the JSON template for the custom payload, such as {\"plan\": \"{{ properties.plan }}\"}.",
                )),
            },
            other => Err(FieldError::new(
                "payload_format",
                format!("“{other}” is not a payload format; choose event, envelope or custom."),
            )),
        }
    }

    /// A custom format from a template that is already JSON (the API sends it as a value).
    ///
    /// # Errors
    /// On `template`, as [`validate_template`].
    pub fn custom(template: Value) -> Result<Self, FieldError> {
        validate_template(&template)?;
        Ok(Self::Custom { template })
    }
}

impl<'de> Deserialize<'de> for PayloadFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        enum Raw {
            Event,
            Envelope,
            Custom { template: Value },
        }
        match Raw::deserialize(deserializer)? {
            Raw::Event => Ok(Self::Event),
            Raw::Envelope => Ok(Self::Envelope),
            Raw::Custom { template } => Self::custom(template).map_err(|e| to_de_error(&[e])),
        }
    }
}

/// Parses and checks template text typed by the tenant.
///
/// # Errors
/// On `template`: longer than 16 KB, not JSON (the message gives serde's line and column), or
/// failing [`validate_template`].
pub fn parse_template(text: &str) -> Result<Value, FieldError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(too_big(text.len()));
    }
    let template: Value = serde_json::from_str(text)
        .map_err(|e| FieldError::new("template", format!("The template is not valid JSON: {e}.")))?;
    validate_template(&template)?;
    Ok(template)
}

/// Checks a template: a JSON object or array of at most 16 KB (as compact JSON) whose string values
/// have only well-formed placeholders: every `{{` closed by `}}`, with a path in between (see
/// [`JsonPath`]). Object keys are never placeholders.
///
/// # Errors
/// On `template`, naming the first bad placeholder.
pub fn validate_template(template: &Value) -> Result<(), FieldError> {
    if !(template.is_object() || template.is_array()) {
        return Err(FieldError::new(
            "template",
            "The template must be a JSON object or array, such as {\"plan\": \"{{ properties.plan }}\"}.",
        ));
    }
    let size = serde_json::to_string(template).map_or(usize::MAX, |s| s.len());
    if size > MAX_TEMPLATE_BYTES {
        return Err(too_big(size));
    }
    check_strings(template)
}

fn too_big(size: usize) -> FieldError {
    FieldError::new(
        "template",
        format!("The template is {size} bytes; shorten it to at most 16 KB ({MAX_TEMPLATE_BYTES} bytes)."),
    )
}

fn check_strings(value: &Value) -> Result<(), FieldError> {
    match value {
        Value::String(s) => {
            for piece in pieces(s) {
                match piece {
                    Piece::Text(_) => {}
                    Piece::Unclosed(_) => {
                        return Err(FieldError::new(
                            "template",
                            format!("In “{s}”, a “{{{{” has no closing “}}}}”."),
                        ));
                    }
                    Piece::Placeholder { whole, path } => {
                        JsonPath::parse(path).map_err(|e| {
                            FieldError::new("template", format!("The placeholder “{whole}” is not usable: {e}"))
                        })?;
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_strings),
        Value::Object(map) => map.values().try_for_each(check_strings),
        _ => Ok(()),
    }
}

/// Fills `template` from `source` (the event, with `user` / `company` added by the caller when
/// properties are selected), through objects and arrays.
///
/// A string that is exactly one placeholder (`"{{ properties.plan }}"`, spaces optional) becomes
/// the value found, of any JSON type, or `null` when missing, so numbers stay numbers. A
/// placeholder inside other text (`"Hi {{ traits.name }}!"`) is replaced by the value as text:
/// strings as they are, `null` or missing as nothing, other values as compact JSON. Malformed
/// placeholders (possible only in templates that skipped validation) are left as written.
#[must_use]
pub fn render_template(template: &Value, source: &Value) -> Value {
    match template {
        Value::String(s) => render_string(s, source),
        Value::Array(items) => Value::Array(items.iter().map(|v| render_template(v, source)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render_template(v, source)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn render_string(s: &str, source: &Value) -> Value {
    let pieces = pieces(s);
    if let [Piece::Placeholder { path, .. }] = pieces.as_slice()
        && let Ok(path) = JsonPath::parse(path)
    {
        return path.lookup(source).cloned().unwrap_or(Value::Null);
    }
    let mut out = String::with_capacity(s.len());
    for piece in pieces {
        match piece {
            Piece::Text(text) | Piece::Unclosed(text) => out.push_str(text),
            Piece::Placeholder { whole, path } => match JsonPath::parse(path) {
                Ok(path) => match path.lookup(source) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(found)) => out.push_str(found),
                    Some(found) => out.push_str(&found.to_string()),
                },
                Err(_) => out.push_str(whole),
            },
        }
    }
    Value::String(out)
}

/// A string cut at its placeholders; `Unclosed` is the rest of the string from a `{{` that never
/// closes.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder { whole: &'a str, path: &'a str },
    Unclosed(&'a str),
}

fn pieces(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push(Piece::Unclosed(&rest[open..]));
            return out;
        };
        out.push(Piece::Placeholder {
            whole: &rest[open..open + 2 + close + 2],
            path: after[..close].trim(),
        });
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
