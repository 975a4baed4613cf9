//! The HTTP method a webhook sends with.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// The HTTP method of every request a webhook sends. `POST` unless the tenant picks another of the
/// methods Customer.io offers (seed 004). `GET`/`HEAD` are not offered: both carry no body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE", try_from = "String")]
pub enum Method {
    /// `POST`, the default.
    #[default]
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE` (with the payload as body, as Customer.io sends it).
    Delete,
}

impl Method {
    /// Every method, in the order a form lists them.
    pub const ALL: [Method; 4] = [Method::Post, Method::Put, Method::Patch, Method::Delete];

    /// Parses user input, case-insensitively and ignoring surrounding whitespace.
    ///
    /// # Errors
    /// On field `method`: anything but POST, PUT, PATCH or DELETE.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let wanted = raw.trim();
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                FieldError::new(
                    "method",
                    format!("“{wanted}” is not a method webhooks can use; choose POST, PUT, PATCH or DELETE."),
                )
            })
    }

    /// The upper-case name, as sent on the wire and stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Method {
    type Error = FieldError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_is_the_default_method() {
        assert_eq!(Method::default(), Method::Post);
    }

    #[test]
    fn methods_parse_case_insensitively_and_are_stored_upper_case() {
        assert_eq!(Method::parse(" patch "), Ok(Method::Patch));
        assert_eq!(Method::parse("Delete"), Ok(Method::Delete));
        assert_eq!(serde_json::to_string(&Method::Put).expect("json"), "\"PUT\"");
        assert_eq!(serde_json::from_str::<Method>("\"put\"").expect("valid"), Method::Put);
    }

    #[test]
    fn methods_without_a_body_and_unknown_ones_are_refused() {
        for raw in ["GET", "HEAD", "", "POSTS"] {
            let err = Method::parse(raw).expect_err(raw);
            assert_eq!(err.field, "method");
            assert!(err.message.contains("POST, PUT, PATCH or DELETE"));
        }
    }

    #[test]
    fn every_method_round_trips_through_its_name() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Ok(m));
            assert_eq!(m.to_string(), m.as_str());
        }
    }
}
