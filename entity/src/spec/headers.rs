//! Extra request headers a tenant adds to every request of a webhook (an API key, a static shared
//! secret, a routing tag).

use serde::{Deserialize, Deserializer, Serialize};

use super::{FieldError, indexed, is_blank, plural, to_de_error};

/// Most custom headers per webhook.
pub const MAX_HEADERS: usize = 20;
const MAX_NAME_LEN: usize = 100;
const MAX_VALUE_LEN: usize = 1000;

/// Headers Herald sets itself (framing, identity, signatures), compared case-insensitively. Letting
/// a tenant set them would break the request or forge a signature the receiver trusts.
pub const RESERVED_HEADERS: [&str; 10] = [
    "Content-Type",
    "Host",
    "Content-Length",
    "User-Agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Signature",
    "Transfer-Encoding",
    "Connection",
];

/// One custom header: a valid HTTP field name (RFC 7230 token, 1–100 characters, not reserved) and
/// a value of visible ASCII, spaces and tabs (1–1000 characters, trimmed).
///
/// `Debug` hides the value: custom headers often carry credentials, and debug output ends up in
/// logs. Serialization keeps it, because the stored configuration must be complete.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    name: String,
    value: String,
}

impl Header {
    /// The field name as the tenant wrote it (HTTP names are case-insensitive; case is kept for
    /// receivers that compare naively).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value, safe to put on the wire as is.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Header")
            .field("name", &self.name)
            .field("value", &"[redacted]")
            .finish()
    }
}

/// A webhook's custom headers: at most 20, names unique case-insensitively. Serialized as a JSON
/// array of `{"name", "value"}` objects, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CustomHeaders(Vec<Header>);

impl CustomHeaders {
    /// Parses `(name, value)` rows as typed. Names and values are trimmed; rows with both blank are
    /// skipped.
    ///
    /// # Errors
    /// Every problem found, on `headers[N].name` / `headers[N].value` (invalid, reserved or
    /// repeated name; invalid or empty value), plus one on `headers` when there are more than 20.
    pub fn parse<N, V>(rows: impl IntoIterator<Item = (N, V)>) -> Result<Self, Vec<FieldError>>
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let mut headers: Vec<Header> = Vec::new();
        let mut errors = Vec::new();
        let mut count = 0;
        for (i, (name, value)) in rows.into_iter().enumerate() {
            let (name, value) = (name.as_ref().trim(), value.as_ref().trim());
            if is_blank(&[name, value]) {
                continue;
            }
            count += 1;
            let name_ok = check_name(i, name)
                .and_then(|()| {
                    if headers.iter().any(|h| h.name.eq_ignore_ascii_case(name)) {
                        Err(FieldError::new(
                            indexed("headers", i, "name"),
                            format!("The header “{name}” is set twice; keep one of them."),
                        ))
                    } else {
                        Ok(())
                    }
                })
                .map_err(|e| errors.push(e))
                .is_ok();
            let value_ok = check_value(i, name, value).map_err(|e| errors.push(e)).is_ok();
            if name_ok && value_ok {
                headers.push(Header {
                    name: name.to_owned(),
                    value: value.to_owned(),
                });
            }
        }
        if count > MAX_HEADERS {
            errors.push(FieldError::new(
                "headers",
                format!(
                    "A webhook can have at most {MAX_HEADERS} custom headers; remove {}.",
                    plural(count - MAX_HEADERS, "header", "headers")
                ),
            ));
        }
        if errors.is_empty() {
            Ok(Self(headers))
        } else {
            Err(errors)
        }
    }

    /// The headers, in the order given.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// Number of headers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a CustomHeaders {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'de> Deserialize<'de> for CustomHeaders {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Row {
            name: String,
            value: String,
        }
        let rows = Vec::<Row>::deserialize(deserializer)?;
        Self::parse(rows.into_iter().map(|r| (r.name, r.value))).map_err(|e| to_de_error(&e))
    }
}

/// RFC 7230 `tchar`: the characters of an HTTP field name.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn check_name(i: usize, name: &str) -> Result<(), FieldError> {
    let err = |message: String| FieldError::new(indexed("headers", i, "name"), message);
    if name.is_empty() {
        return Err(err(
            "Enter a header name, or clear the value to remove this header.".into()
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(err(format!(
            "A header name can be at most {MAX_NAME_LEN} characters long."
        )));
    }
    if let Some(bad) = name.chars().find(|c| !is_tchar(*c)) {
        return Err(err(format!(
            "A header name can't contain “{}”; use letters, digits and - _ . ! # $ % & ' * + ^ ` | ~.",
            bad.escape_debug()
        )));
    }
    if let Some(reserved) = RESERVED_HEADERS.iter().find(|r| r.eq_ignore_ascii_case(name)) {
        return Err(err(format!(
            "Herald sets “{reserved}” itself, so it can't be a custom header; remove this header."
        )));
    }
    Ok(())
}

fn check_value(i: usize, name: &str, value: &str) -> Result<(), FieldError> {
    let err = |message: String| FieldError::new(indexed("headers", i, "value"), message);
    if value.is_empty() {
        return Err(err(format!("Enter a value for “{name}”, or remove the header.")));
    }
    if value.chars().count() > MAX_VALUE_LEN {
        return Err(err(format!(
            "A header value can be at most {MAX_VALUE_LEN} characters long."
        )));
    }
    if value.contains(['\r', '\n']) {
        return Err(err(
            "A header value must fit on one line; remove the line breaks.".into()
        ));
    }
    if let Some(bad) = value.chars().find(|c| !(matches!(c, ' '..='~') || *c == '\t')) {
        return Err(err(format!(
            "A header value can only use plain ASCII letters, digits, punctuation and spaces; remove “{}”.",
            bad.escape_debug()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> Result<CustomHeaders, Vec<FieldError>> {
        CustomHeaders::parse([(name, value)])
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn valid_headers_are_kept_in_order_and_trimmed() {
        let h = CustomHeaders::parse([(" X-Api-Key ", " abc 123 "), ("X-Team", "growth\tteam")]).expect("valid");
        let pairs: Vec<(&str, &str)> = h.iter().map(|h| (h.name(), h.value())).collect();
        assert_eq!(pairs, [("X-Api-Key", "abc 123"), ("X-Team", "growth\tteam")]);
    }

    #[test]
    fn blank_rows_are_skipped_but_still_counted_in_indexes() {
        let errors = CustomHeaders::parse([("", ""), ("  ", " "), ("Bad Name", "x")]).expect_err("invalid");
        assert_eq!(fields(&errors), ["headers[2].name"]);
        assert!(CustomHeaders::parse([("", "")]).expect("blank").is_empty());
    }

    #[test]
    fn reserved_headers_are_refused_in_any_case() {
        for name in RESERVED_HEADERS {
            for spelled in [name.to_owned(), name.to_lowercase(), name.to_uppercase()] {
                let errors = one(&spelled, "x").expect_err(&spelled);
                assert_eq!(fields(&errors), ["headers[0].name"]);
                assert!(errors[0].message.contains("Herald sets"));
            }
        }
    }

    #[test]
    fn names_with_non_token_characters_are_refused() {
        for name in ["X Api", "X:Api", "Ünïcode", "X(1)", "a\"b", "a@b"] {
            assert_eq!(fields(&one(name, "x").expect_err(name)), ["headers[0].name"], "{name}");
        }
        assert!(one("X-!#$%&'*+.^_`|~1", "x").is_ok());
    }

    #[test]
    fn a_value_without_a_name_is_refused_on_the_name() {
        let errors = one("", "secret").expect_err("no name");
        assert_eq!(fields(&errors), ["headers[0].name"]);
    }

    #[test]
    fn a_name_without_a_value_is_refused_on_the_value() {
        let errors = one("X-Key", "").expect_err("no value");
        assert_eq!(fields(&errors), ["headers[0].value"]);
    }

    #[test]
    fn line_breaks_and_control_characters_in_values_are_refused() {
        for value in ["a\r\nInjected: yes", "a\nb", "a\u{7f}", "caf\u{e9}", "a\u{0}b"] {
            assert_eq!(fields(&one("X-Key", value).expect_err(value)), ["headers[0].value"]);
        }
        let errors = one("X-Key", "a\r\nb").expect_err("crlf");
        assert!(errors[0].message.contains("one line"));
    }

    #[test]
    fn overlong_names_and_values_are_refused() {
        assert!(one(&"X".repeat(MAX_NAME_LEN), "x").is_ok());
        assert!(one(&"X".repeat(MAX_NAME_LEN + 1), "x").is_err());
        assert!(one("X-Key", &"v".repeat(MAX_VALUE_LEN)).is_ok());
        assert!(one("X-Key", &"v".repeat(MAX_VALUE_LEN + 1)).is_err());
    }

    #[test]
    fn a_repeated_name_is_refused_case_insensitively_on_the_later_row() {
        let errors = CustomHeaders::parse([("X-Key", "a"), ("x-key", "b")]).expect_err("dup");
        assert_eq!(fields(&errors), ["headers[1].name"]);
        assert!(errors[0].message.contains("set twice"));
    }

    #[test]
    fn a_twenty_first_header_is_refused_on_headers() {
        let rows: Vec<(String, String)> = (0..=MAX_HEADERS).map(|i| (format!("X-H{i}"), "v".into())).collect();
        let errors = CustomHeaders::parse(rows.clone()).expect_err("too many");
        assert_eq!(fields(&errors), ["headers"]);
        assert!(errors[0].message.contains("at most 20"));
        assert_eq!(
            CustomHeaders::parse(rows.into_iter().take(MAX_HEADERS)).map(|h| h.len()),
            Ok(20)
        );
    }

    #[test]
    fn every_bad_row_is_reported_at_once() {
        let errors = CustomHeaders::parse([("Host", "x"), ("X-Ok", "fine"), ("X-Bad", "a\nb")]).expect_err("bad");
        assert_eq!(fields(&errors), ["headers[0].name", "headers[2].value"]);
    }

    #[test]
    fn debug_output_hides_header_values() {
        let h = one("Authorization", "Bearer hunter2").expect("valid");
        let shown = format!("{h:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[redacted]") && shown.contains("Authorization"));
    }

    #[test]
    fn headers_serialize_as_name_value_objects_and_are_rechecked_when_read() {
        let h = one("X-Key", "abc").expect("valid");
        let json = serde_json::to_value(&h).expect("json");
        assert_eq!(json, serde_json::json!([{"name": "X-Key", "value": "abc"}]));
        assert_eq!(serde_json::from_value::<CustomHeaders>(json).expect("valid"), h);
        assert!(serde_json::from_value::<CustomHeaders>(serde_json::json!([{"name": "Host", "value": "x"}])).is_err());
    }
}
