//! How each request is sent: its time limit and its signature scheme.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{FieldError, parse_whole_number};

/// Seconds a request may take when the tenant sets nothing (DESIGN: 5 s, as Freshpaint).
pub const DEFAULT_TIMEOUT_SECS: u32 = 5;
/// Longest per-request timeout: past this a slow receiver holds a worker for too long.
pub const MAX_TIMEOUT_SECS: u32 = 30;

/// The time one delivery attempt may take, connect to last byte: 1–30 whole seconds.
///
/// Serialized as the plain number of seconds (the API field is `timeout_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct Timeout(u32);

impl Timeout {
    /// A timeout of `secs` seconds. Takes `i64` so that a negative number from the API gets this
    /// message rather than a type error.
    ///
    /// # Errors
    /// On field `timeout_secs`: outside 1–30.
    pub fn new(secs: i64) -> Result<Self, FieldError> {
        u32::try_from(secs)
            .ok()
            .filter(|s| (1..=MAX_TIMEOUT_SECS).contains(s))
            .map(Self)
            .ok_or_else(|| {
                FieldError::new(
                    "timeout_secs",
                    format!("The timeout must be between 1 and {MAX_TIMEOUT_SECS} seconds."),
                )
            })
    }

    /// Parses a number of seconds typed into a form.
    ///
    /// # Errors
    /// On field `timeout_secs`: not a whole number, or outside 1–30.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::new(parse_whole_number("timeout_secs", raw)?)
    }

    /// Whole seconds.
    #[must_use]
    pub fn secs(self) -> u32 {
        self.0
    }

    /// The timeout as a `Duration`, for the HTTP client.
    #[must_use]
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }
}

impl Default for Timeout {
    fn default() -> Self {
        Self(DEFAULT_TIMEOUT_SECS)
    }
}

impl TryFrom<i64> for Timeout {
    type Error = FieldError;

    fn try_from(secs: i64) -> Result<Self, Self::Error> {
        Self::new(secs)
    }
}

impl From<Timeout> for u32 {
    fn from(t: Timeout) -> Self {
        t.0
    }
}

/// How a webhook proves to its receiver that a request came from Herald.
///
/// - `standard_webhooks` (default): `webhook-id`, `webhook-timestamp` and `webhook-signature:
///   v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the scheme most receivers' libraries verify.
/// - `standard_webhooks_v1a`: the same headers, signed `v1a,<base64 ed25519 signature>` with a
///   key pair: the receiver verifies with the public key (`whpk_…`) and holds no shared secret.
/// - `hmac_sha1`: `X-Signature: <hex HMAC-SHA1 of the raw body>`, what Customer.io's webhook
///   destination sends (seed 004), for receivers built against it.
/// - `none`: unsigned; a static shared-secret header can still be set as a custom header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureScheme {
    /// `webhook-id` / `webhook-timestamp` / `webhook-signature` headers, HMAC-SHA256.
    #[default]
    StandardWebhooks,
    /// The Standard Webhooks headers, signed with ed25519 (`v1a`).
    #[serde(rename = "standard_webhooks_v1a")]
    StandardWebhooksV1a,
    /// `X-Signature`, hex HMAC-SHA1 of the raw body.
    HmacSha1,
    /// No signature.
    None,
}

impl SignatureScheme {
    /// Every scheme, in the order a form lists them.
    pub const ALL: [SignatureScheme; 4] = [
        Self::StandardWebhooks,
        Self::StandardWebhooksV1a,
        Self::HmacSha1,
        Self::None,
    ];

    /// Parses the API/form value (`standard_webhooks`, `standard_webhooks_v1a`, `hmac_sha1`,
    /// `none`), case-insensitively.
    ///
    /// # Errors
    /// On field `signature_scheme`: any other value.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let wanted = raw.trim();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                FieldError::new(
                    "signature_scheme",
                    format!("“{wanted}” is not a signature scheme; choose standard_webhooks, standard_webhooks_v1a, hmac_sha1 or none."),
                )
            })
    }

    /// The stored and API name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandardWebhooks => "standard_webhooks",
            Self::StandardWebhooksV1a => "standard_webhooks_v1a",
            Self::HmacSha1 => "hmac_sha1",
            Self::None => "none",
        }
    }

    /// The request header that carries the signature, or `None` for unsigned webhooks. Custom
    /// headers may not use these names, so a tenant cannot forge or clobber a signature.
    #[must_use]
    pub fn signature_header(self) -> Option<&'static str> {
        match self {
            Self::StandardWebhooks | Self::StandardWebhooksV1a => Some("webhook-signature"),
            Self::HmacSha1 => Some("X-Signature"),
            Self::None => None,
        }
    }

    /// Whether this scheme needs a secret (all but `none`).
    #[must_use]
    pub fn needs_secret(self) -> bool {
        self != Self::None
    }
}

impl std::fmt::Display for SignatureScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_timeout_is_five_seconds() {
        assert_eq!(Timeout::default().secs(), 5);
        assert_eq!(Timeout::default().as_duration(), Duration::from_secs(5));
    }

    #[test]
    fn timeouts_from_one_to_thirty_seconds_are_accepted() {
        assert_eq!(Timeout::new(1).map(Timeout::secs), Ok(1));
        assert_eq!(Timeout::parse(" 30 ").map(Timeout::secs), Ok(30));
    }

    #[test]
    fn timeouts_outside_the_range_are_refused_on_timeout_secs() {
        for secs in [0, 31, -1, i64::MAX] {
            let err = Timeout::new(secs).expect_err("out of range");
            assert_eq!(err.field, "timeout_secs");
            assert!(err.message.contains("between 1 and 30"));
        }
        assert_eq!(Timeout::parse("soon").expect_err("nan").field, "timeout_secs");
    }

    #[test]
    fn a_timeout_serializes_as_seconds_and_is_rechecked_when_read() {
        let t = Timeout::new(12).expect("valid");
        assert_eq!(serde_json::to_string(&t).expect("json"), "12");
        assert_eq!(serde_json::from_str::<Timeout>("12").expect("valid"), t);
        assert!(serde_json::from_str::<Timeout>("90").is_err());
    }

    #[test]
    fn standard_webhooks_is_the_default_scheme() {
        assert_eq!(SignatureScheme::default(), SignatureScheme::StandardWebhooks);
    }

    #[test]
    fn schemes_serialize_in_snake_case() {
        let names: Vec<String> = SignatureScheme::ALL
            .iter()
            .map(|s| serde_json::to_string(s).expect("json"))
            .collect();
        assert_eq!(
            names,
            [
                "\"standard_webhooks\"",
                "\"standard_webhooks_v1a\"",
                "\"hmac_sha1\"",
                "\"none\""
            ]
        );
        for s in SignatureScheme::ALL {
            assert_eq!(SignatureScheme::parse(&s.as_str().to_uppercase()), Ok(s));
        }
    }

    #[test]
    fn an_unknown_scheme_is_refused_on_signature_scheme() {
        let err = SignatureScheme::parse("hmac_sha256").expect_err("unknown");
        assert_eq!(err.field, "signature_scheme");
    }

    #[test]
    fn each_signing_scheme_names_its_header() {
        assert_eq!(SignatureScheme::HmacSha1.signature_header(), Some("X-Signature"));
        assert_eq!(SignatureScheme::None.signature_header(), None);
        assert!(!SignatureScheme::None.needs_secret());
    }
}
