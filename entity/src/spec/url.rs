//! The endpoint a webhook sends to.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// Longest accepted URL, in characters, before and after normalisation: what browsers and most
/// servers handle, and a bound on what we store and log per attempt.
pub const MAX_URL_LEN: usize = 2048;

/// An absolute `http` or `https` URL with a host, no credentials and no fragment, stored in the
/// normalised form `url::Url` gives it (lower-case scheme and host, `/` path when none).
///
/// Credentials are refused because the URL is shown in lists and logs; a receiver that needs a
/// password gets it through a custom header, whose value is redacted. Fragments are refused because
/// they are never sent to the server, so one would only mislead. Whether the host resolves to an
/// allowed address is not decided here: that is checked at connect time, against DNS rebinding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Parses user input (surrounding whitespace is ignored).
    ///
    /// # Errors
    /// On field `url`: empty, too long, not a URL, a scheme other than http(s), no host, a user name
    /// or password, or a `#fragment`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let err = |message: String| FieldError::new("url", message);
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(err(
                "Enter the URL to send events to, such as https://example.com/webhooks.".into(),
            ));
        }
        if raw.chars().count() > MAX_URL_LEN {
            return Err(err(format!("A URL can be at most {MAX_URL_LEN} characters long.")));
        }
        let parsed = match url::Url::parse(raw) {
            Ok(parsed) => parsed,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                return Err(err(format!(
                    "Include the scheme: write https://{raw} (or http://) rather than “{raw}”."
                )));
            }
            Err(e) => return Err(err(format!("This is not a valid URL ({e}); check it and try again."))),
        };
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(err(format!(
                "Only http and https URLs can receive webhooks; “{}:” is not supported.",
                parsed.scheme()
            )));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(err(
                "The URL needs a host name, as in https://example.com/webhooks.".into()
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(err(
                "Remove the user name and password from the URL; send credentials in a custom header instead.".into(),
            ));
        }
        if parsed.fragment().is_some() {
            return Err(err(
                "Remove the “#…” part of the URL: fragments are never sent to the server.".into(),
            ));
        }
        let normalised: String = parsed.into();
        if normalised.chars().count() > MAX_URL_LEN {
            return Err(err(format!(
                "Once encoded, this URL is longer than {MAX_URL_LEN} characters; shorten it."
            )));
        }
        Ok(Self(normalised))
    }

    /// The normalised URL text, ready for an HTTP client.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL parsed, for clients that want `url::Url` (host checks, reqwest).
    #[must_use]
    pub fn to_url(&self) -> url::Url {
        url::Url::parse(&self.0).expect("a WebhookUrl holds text that url::Url produced and accepted")
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = FieldError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<WebhookUrl> for String {
    fn from(url: WebhookUrl) -> Self {
        url.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> String {
        let err = WebhookUrl::parse(raw).expect_err(raw);
        assert_eq!(err.field, "url");
        err.message
    }

    #[test]
    fn http_and_https_urls_are_accepted_and_normalised() {
        let url = WebhookUrl::parse("  HTTPS://Example.COM  ").expect("valid");
        assert_eq!(url.as_str(), "https://example.com/");
        let url = WebhookUrl::parse("http://127.0.0.1:8080/hooks?x=1").expect("valid");
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/hooks?x=1");
        assert_eq!(url.to_url().port(), Some(8080));
    }

    #[test]
    fn other_schemes_are_refused() {
        for raw in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "mailto:a@b.c",
        ] {
            assert!(refused(raw).contains("Only http and https"), "{raw}");
        }
    }

    #[test]
    fn a_url_without_scheme_suggests_adding_one() {
        assert!(refused("example.com/hooks").contains("https://example.com/hooks"));
    }

    #[test]
    fn a_url_without_host_is_refused() {
        refused("https://");
        refused("https://:443/");
    }

    #[test]
    fn credentials_in_the_url_are_refused() {
        assert!(refused("https://user:pass@example.com/").contains("custom header"));
        assert!(refused("https://user@example.com/").contains("user name"));
        assert!(refused("https://:pass@example.com/").contains("password"));
    }

    #[test]
    fn fragments_are_refused_even_when_empty() {
        refused("https://example.com/#top");
        refused("https://example.com/#");
    }

    #[test]
    fn empty_and_overlong_urls_are_refused() {
        assert!(refused("   ").contains("Enter the URL"));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(refused(&long).contains("at most 2048"));
    }

    #[test]
    fn a_url_that_grows_past_the_limit_when_encoded_is_refused() {
        let raw = format!("https://example.com/{}", "é".repeat(400));
        assert!(raw.chars().count() <= MAX_URL_LEN);
        assert!(refused(&raw).contains("encoded"));
    }

    #[test]
    fn urls_serialize_as_plain_strings_and_are_rechecked_when_read() {
        let url = WebhookUrl::parse("https://example.com/in").expect("valid");
        assert_eq!(serde_json::to_string(&url).expect("json"), "\"https://example.com/in\"");
        let back: WebhookUrl = serde_json::from_str("\"https://example.com/in\"").expect("valid");
        assert_eq!(back, url);
        assert!(serde_json::from_str::<WebhookUrl>("\"ftp://example.com/\"").is_err());
    }
}
