//! Standard Webhooks' asymmetric scheme, `v1a`: an ed25519 signature (RFC 8032, `ed25519-dalek`)
//! over the same content as `v1` — `{webhook-id}.{webhook-timestamp}.{raw body}` — sent as
//! `webhook-signature: v1a,<base64 of the 64-byte signature>`. Herald keeps the signing key
//! (`whsk_` + base64 of its 32-byte seed), sealed at rest like every secret; the receiver holds
//! only the public key (`whpk_` + base64 of 32 bytes), so nothing it stores can forge a request.
//! Rotation works as for `v1`: the previous key signs a second, space-separated signature until
//! its overlap ends ([`crate::signing::standard_signature_header`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};

use entity::spec::FieldError;

use crate::signing::SignError;

/// The prefix of a signing (private) key.
pub const SIGNING_KEY_PREFIX: &str = "whsk_";
/// The prefix of a public key, what receivers configure.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// A fresh signing key, `whsk_` + base64 of 32 random bytes.
///
/// # Panics
/// Only if the operating system's random source fails.
#[must_use]
pub fn generate_signing_key() -> String {
    format!(
        "{SIGNING_KEY_PREFIX}{}",
        B64.encode(crate::signing::random_bytes::<32>())
    )
}

fn signing_key(secret: &str) -> Result<SigningKey, SignError> {
    let seed: [u8; 32] = secret
        .strip_prefix(SIGNING_KEY_PREFIX)
        .and_then(|b64| B64.decode(b64).ok())
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(SignError::InvalidSigningKey)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Checks a signing key the tenant brought (surrounding whitespace ignored).
///
/// # Errors
/// On field `secret`: not `whsk_` + the base64 of 32 bytes.
pub fn validate_signing_key(raw: &str) -> Result<String, FieldError> {
    let secret = raw.trim();
    signing_key(secret).map(|_| secret.to_owned()).map_err(|_| {
        FieldError::new(
            "secret",
            "An ed25519 signing key is “whsk_” followed by the base64 of its 32-byte seed; leave it empty to have Herald generate one.",
        )
    })
}

/// The public key of a signing key, `whpk_` + base64 of 32 bytes: what the dashboard and the API
/// show, and what a receiver verifies with.
///
/// # Errors
/// The signing key is malformed (corrupt storage).
pub fn public_key(secret: &str) -> Result<String, SignError> {
    let key = signing_key(secret)?;
    Ok(format!(
        "{PUBLIC_KEY_PREFIX}{}",
        B64.encode(key.verifying_key().to_bytes())
    ))
}

fn content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut signed = format!("{msg_id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    signed
}

/// `v1a,<base64 signature>` of `body` sent as `msg_id` at `timestamp` (unix seconds).
///
/// # Errors
/// The signing key is malformed.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignError> {
    let signature = signing_key(secret)?.sign(&content(msg_id, timestamp, body));
    Ok(format!("v1a,{}", B64.encode(signature.to_bytes())))
}

/// Whether a `webhook-signature` header carries a valid `v1a` signature under `public_key`
/// (`whpk_…`), with `timestamp` within the spec's 5 minutes of `now`. What a receiver does.
#[must_use]
pub fn verify(public_key: &str, msg_id: &str, timestamp: i64, now: i64, body: &[u8], header: &str) -> bool {
    if now.abs_diff(timestamp) > crate::signing::TIMESTAMP_TOLERANCE_SECS.unsigned_abs() {
        return false;
    }
    let Some(key) = public_key
        .strip_prefix(PUBLIC_KEY_PREFIX)
        .and_then(|b64| B64.decode(b64).ok())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
    else {
        return false;
    };
    let signed = content(msg_id, timestamp, body);
    header
        .split(' ')
        .filter_map(|part| part.strip_prefix("v1a,"))
        .filter_map(|sig| B64.decode(sig).ok())
        .filter_map(|sig| ed25519_dalek::Signature::from_slice(&sig).ok())
        .any(|sig| key.verify(&signed, &sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::{generate_signing_key, public_key, sign, validate_signing_key, verify};
    use crate::signing::standard_signature_header;

    #[test]
    fn a_signature_verifies_with_the_public_key_only_and_rotation_sends_both() {
        let (old, new) = (generate_signing_key(), generate_signing_key());
        let (old_pk, new_pk) = (public_key(&old).unwrap(), public_key(&new).unwrap());
        let body = br#"{"type":"track"}"#;
        let one = sign(&new, "msg_1", 1_700_000_000, body).unwrap();
        assert!(one.starts_with("v1a,"));
        assert!(verify(&new_pk, "msg_1", 1_700_000_000, 1_700_000_010, body, &one));
        assert!(!verify(&old_pk, "msg_1", 1_700_000_000, 1_700_000_010, body, &one));
        assert!(!verify(&new_pk, "msg_1", 1_700_000_000, 1_700_000_010, b"{}", &one));
        assert!(
            !verify(&new_pk, "msg_1", 1_700_000_000, 1_700_000_400, body, &one),
            "too old"
        );
        let both = standard_signature_header(&new, Some(&old), "msg_1", 1_700_000_000, body).unwrap();
        assert_eq!(both.split(' ').count(), 2);
        assert!(verify(&old_pk, "msg_1", 1_700_000_000, 1_700_000_000, body, &both));
        assert!(verify(&new_pk, "msg_1", 1_700_000_000, 1_700_000_000, body, &both));
    }

    #[test]
    fn only_whsk_keys_of_32_bytes_are_taken() {
        assert!(validate_signing_key(&format!(" {} ", generate_signing_key())).is_ok());
        assert!(validate_signing_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
        assert!(validate_signing_key("whsk_AAAA").is_err());
    }
}
