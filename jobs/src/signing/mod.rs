//! Webhook secrets and request signatures: Standard Webhooks (HMAC-SHA256 over
//! `id.timestamp.body`, header `webhook-signature: v1,<base64>`, or its asymmetric `v1a`: ed25519
//! over the same content, see [`crate::signing::v1a`]) and Customer.io's hex HMAC-SHA1 of the raw
//! body (`X-Signature`, seed 004).
//!
//! Signatures are always computed over the exact bytes sent: re-serialised JSON would not match what
//! the receiver hashes.

pub mod v1a;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};

use entity::spec::{FieldError, SignatureScheme};

type HmacSha256 = Hmac<sha2::Sha256>;
type HmacSha1 = Hmac<sha1::Sha1>;

/// The prefix of Standard Webhooks secrets; the key is the base64 text after it.
pub const STANDARD_SECRET_PREFIX: &str = "whsec_";
/// How far a Standard Webhooks timestamp may be from the verifier's clock (the spec's 5 minutes),
/// which bounds how long a captured request can be replayed.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

const GENERATED_STANDARD_KEY_BYTES: usize = 24;
const GENERATED_HMAC_KEY_BYTES: usize = 32;
const MIN_STANDARD_KEY_BYTES: usize = 24;
const MAX_STANDARD_KEY_BYTES: usize = 64;
const MIN_HMAC_SECRET_LEN: usize = 16;
const MAX_HMAC_SECRET_LEN: usize = 200;

/// A stored secret could not be used to sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// Only possible for a secret that skipped [`validate_secret`] or was corrupted in storage.
    #[error("the Standard Webhooks secret is not “whsec_” followed by non-empty base64")]
    InvalidStandardSecret,
    /// As above, for an ed25519 signing key.
    #[error("the Standard Webhooks signing key is not “whsk_” followed by the base64 of 32 bytes")]
    InvalidSigningKey,
}

/// A fresh random secret for `scheme`, or `None` for unsigned webhooks.
///
/// Standard Webhooks: `whsec_` + base64 of 24 random bytes (what the reference libraries generate).
/// HMAC-SHA1: 32 random bytes as 64 hex characters, a secret that survives copy-paste into any
/// receiver's configuration.
///
/// # Panics
/// Only if the operating system's random source fails, when no secret can be made safely.
#[must_use]
pub fn generate_secret(scheme: SignatureScheme) -> Option<String> {
    match scheme {
        SignatureScheme::StandardWebhooks => Some(format!(
            "{STANDARD_SECRET_PREFIX}{}",
            B64.encode(random_bytes::<GENERATED_STANDARD_KEY_BYTES>())
        )),
        SignatureScheme::StandardWebhooksV1a => Some(crate::signing::v1a::generate_signing_key()),
        SignatureScheme::HmacSha1 => Some(hex::encode(random_bytes::<GENERATED_HMAC_KEY_BYTES>())),
        SignatureScheme::None => None,
    }
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random number generator is unavailable");
    bytes
}

/// Checks a secret the tenant typed (surrounding whitespace ignored) and returns it cleaned.
///
/// Standard Webhooks: `whsec_` + standard base64 decoding to 24–64 bytes (shorter keys are weak,
/// longer ones are a sign of pasting the wrong thing). HMAC-SHA1: 16–200 visible ASCII characters,
/// so the secret can be typed into a receiver's config exactly.
///
/// # Errors
/// On field `secret`: empty, malformed for the scheme, or a secret for an unsigned webhook.
pub fn validate_secret(scheme: SignatureScheme, raw: &str) -> Result<String, FieldError> {
    let err = |message: String| FieldError::new("secret", message);
    let secret = raw.trim();
    if scheme == SignatureScheme::None {
        return Err(err(
            "This webhook is not signed, so it takes no secret; choose a signature scheme or leave the secret empty."
                .into(),
        ));
    }
    if secret.is_empty() {
        return Err(err("Enter a secret, or leave it to Herald to generate one.".into()));
    }
    if scheme == SignatureScheme::HmacSha1 {
        let len = secret.chars().count();
        if !(MIN_HMAC_SECRET_LEN..=MAX_HMAC_SECRET_LEN).contains(&len) {
            return Err(err(format!(
                "The shared secret must be {MIN_HMAC_SECRET_LEN} to {MAX_HMAC_SECRET_LEN} characters long; this one has {len}."
            )));
        }
        if let Some(bad) = secret.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(err(format!(
                "The shared secret can only use visible ASCII characters, without spaces; remove “{}”.",
                bad.escape_debug()
            )));
        }
        return Ok(secret.to_owned());
    }
    if scheme == SignatureScheme::StandardWebhooksV1a {
        return crate::signing::v1a::validate_signing_key(secret);
    }
    let Some(encoded) = secret.strip_prefix(STANDARD_SECRET_PREFIX) else {
        return Err(err(
            "A Standard Webhooks secret starts with “whsec_” followed by base64, as in whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD.".into(),
        ));
    };
    let key = B64
        .decode(encoded)
        .map_err(|_| err("The part after “whsec_” is not valid base64; copy the whole secret again.".into()))?;
    if !(MIN_STANDARD_KEY_BYTES..=MAX_STANDARD_KEY_BYTES).contains(&key.len()) {
        return Err(err(format!(
            "The secret must decode to {MIN_STANDARD_KEY_BYTES}–{MAX_STANDARD_KEY_BYTES} bytes; this one decodes to {}.",
            key.len()
        )));
    }
    Ok(secret.to_owned())
}

/// The HMAC key of a Standard Webhooks secret: the base64 after `whsec_` (the prefix is optional,
/// as in the reference libraries).
fn standard_key(secret: &str) -> Result<Vec<u8>, SignError> {
    let encoded = secret.strip_prefix(STANDARD_SECRET_PREFIX).unwrap_or(secret);
    B64.decode(encoded)
        .ok()
        .filter(|key| !key.is_empty())
        .ok_or(SignError::InvalidStandardSecret)
}

fn standard_mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The Standard Webhooks signature of `body` sent as message `msg_id` at unix time `timestamp`
/// (the values of the `webhook-id` and `webhook-timestamp` headers): `v1,<base64 HMAC>` for a
/// `whsec_` secret, `v1a,<base64 ed25519>` for a `whsk_` signing key.
///
/// # Errors
/// The secret is neither `whsec_` + non-empty base64 nor a valid `whsk_` key.
pub fn sign_standard(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignError> {
    if secret.starts_with(crate::signing::v1a::SIGNING_KEY_PREFIX) {
        return crate::signing::v1a::sign(secret, msg_id, timestamp, body);
    }
    let key = standard_key(secret)?;
    let tag = standard_mac(&key, msg_id, timestamp, body).finalize().into_bytes();
    Ok(format!("v1,{}", B64.encode(tag)))
}

/// The `webhook-signature` header value: the signature with the `current` secret, followed after a
/// space by the one with the `previous` secret during a rotation, so receivers still configured with
/// the old secret keep verifying until they switch.
///
/// # Errors
/// Either secret is not `whsec_` + non-empty base64.
pub fn standard_signature_header(
    current: &str,
    previous: Option<&str>,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignError> {
    let mut header = sign_standard(current, msg_id, timestamp, body)?;
    if let Some(previous) = previous {
        header.push(' ');
        header.push_str(&sign_standard(previous, msg_id, timestamp, body)?);
    }
    Ok(header)
}

/// Whether a `webhook-signature` header carries a valid `v1` signature of `body` for `secret`, and
/// `timestamp` is within 5 minutes of `now` (unix seconds). What a receiver does; Herald uses it in
/// tests and to check its own output. Comparison is constant-time.
#[must_use]
pub fn verify_standard(secret: &str, msg_id: &str, timestamp: i64, now: i64, body: &[u8], header: &str) -> bool {
    if now.abs_diff(timestamp) > TIMESTAMP_TOLERANCE_SECS.unsigned_abs() {
        return false;
    }
    let Ok(key) = standard_key(secret) else {
        return false;
    };
    header
        .split(' ')
        .filter_map(|part| part.strip_prefix("v1,"))
        .filter_map(|sig| B64.decode(sig).ok())
        .any(|sig| standard_mac(&key, msg_id, timestamp, body).verify_slice(&sig).is_ok())
}

/// The `X-Signature` value: lower-case hex HMAC-SHA1 of the raw `body`, keyed by the secret's bytes
/// as typed (Customer.io's scheme; the secret is not decoded).
#[must_use]
pub fn sign_hmac_sha1_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = HmacSha1::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (hex, either case) is the HMAC-SHA1 of `body` under `secret`; constant-time.
#[must_use]
pub fn verify_hmac_sha1_hex(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac = HmacSha1::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests;
