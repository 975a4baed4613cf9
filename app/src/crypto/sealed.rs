//! Encryption at rest for secrets Herald must read back: webhook signing secrets (the worker
//! opens them to sign) and two-factor seeds; flash cookies use the same box under a key of their
//! own. Signing needs the secret itself (a hash would not do), so it is stored sealed with
//! AES-256-GCM under a key derived from the server's master key: a leaked database alone does not
//! reveal any secret, and a sealed value altered in storage is detected.
//!
//! It lives in the app, beside the master key ([`super::SecretKey`]) that keys every box: only
//! the app seals and opens; the delivery engine is handed secrets already opened.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};

/// Shortest master key accepted: AES-256 needs 32 bytes of key material.
pub const MIN_MASTER_KEY_BYTES: usize = 32;
/// Label of the key derivation; a new format gets a new label and prefix, so old values stay
/// readable while new ones are written.
const KEY_LABEL: &[u8] = b"herald webhook secrets v1";
const PREFIX: &str = "v1:";
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// Why a sealed value could not be opened, or a box not built. Messages never include key material
/// or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The master key given to [`SecretBox::new`] has fewer than 32 bytes (its length is kept).
    #[error("the master key is {0} bytes long; at least 32 are needed")]
    KeyTooShort(usize),
    /// The text was not produced by [`SecretBox::seal`] (wrong prefix, not base64, too short).
    #[error("the sealed value is not in the “v1:” + base64 format")]
    Format,
    /// Authentication failed: another master key, or any byte changed since sealing.
    #[error("the sealed value cannot be opened: it was sealed with another key, or altered")]
    Decrypt,
}

/// Seals and opens webhook secrets with a key derived from the master key
/// (HMAC-SHA256(master, "herald webhook secrets v1")), so the master key itself is never used to
/// encrypt and other uses of it stay independent.
///
/// `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

impl SecretBox {
    /// A box keyed from `master` (the server's root secret, at least 32 bytes).
    ///
    /// # Errors
    /// [`SealError::KeyTooShort`] when `master` is shorter than 32 bytes.
    pub fn new(master: &[u8]) -> Result<Self, SealError> {
        if master.len() < MIN_MASTER_KEY_BYTES {
            return Err(SealError::KeyTooShort(master.len()));
        }
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(master).expect("HMAC accepts keys of any length");
        mac.update(KEY_LABEL);
        let key = mac.finalize().into_bytes();
        Ok(Self {
            cipher: Aes256Gcm::new(&key),
        })
    }

    /// Encrypts `plaintext` as `v1:` + base64(nonce ‖ ciphertext ‖ tag), with a fresh random
    /// 12-byte nonce each time: sealing the same text twice gives different values, and random
    /// nonces are safe far beyond the number of secrets Herald will ever seal.
    ///
    /// # Panics
    /// Only if the operating system's random source fails, when no nonce can be made safely.
    #[must_use]
    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the OS random number generator is unavailable");
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encrypts any text shorter than 64 GiB");
        let mut out = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Decrypts a value made by [`SecretBox::seal`] with the same master key.
    ///
    /// # Errors
    /// [`SealError::Format`] when the text is not a sealed value; [`SealError::Decrypt`] when it was
    /// sealed under another key or altered in any byte.
    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|b| b.len() >= NONCE_BYTES + TAG_BYTES)
            .ok_or(SealError::Format)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plaintext = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SealError::Decrypt)?;
        // Authenticated, so these are the bytes of a `&str` that was sealed.
        String::from_utf8(plaintext).map_err(|_| SealError::Format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret_box(fill: u8) -> SecretBox {
        SecretBox::new(&[fill; 32]).expect("32-byte key")
    }

    #[test]
    fn a_sealed_secret_opens_to_the_same_text() {
        let b = secret_box(1);
        for text in ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "", "ünïcødé ✓"] {
            let sealed = b.seal(text);
            assert!(sealed.starts_with("v1:"));
            assert!(!sealed.contains(text) || text.is_empty());
            assert_eq!(b.open(&sealed).as_deref(), Ok(text));
        }
    }

    #[test]
    fn two_seals_of_the_same_text_differ() {
        let b = secret_box(1);
        let (x, y) = (b.seal("same"), b.seal("same"));
        assert_ne!(x, y);
        assert_eq!(b.open(&x), b.open(&y));
    }

    #[test]
    fn tampering_with_any_byte_is_detected() {
        let b = secret_box(1);
        let sealed = b.seal("top secret");
        let raw = B64.decode(sealed.strip_prefix("v1:").expect("prefix")).expect("base64");
        for i in 0..raw.len() {
            let mut altered = raw.clone();
            altered[i] ^= 0x01;
            let altered = format!("v1:{}", B64.encode(&altered));
            assert_eq!(b.open(&altered), Err(SealError::Decrypt), "byte {i}");
        }
        let truncated = format!("v1:{}", B64.encode(&raw[..raw.len() - 1]));
        assert_eq!(b.open(&truncated), Err(SealError::Decrypt));
    }

    #[test]
    fn a_value_sealed_under_another_key_does_not_open() {
        let sealed = secret_box(1).seal("top secret");
        assert_eq!(secret_box(2).open(&sealed), Err(SealError::Decrypt));
    }

    #[test]
    fn the_same_master_key_opens_values_across_boxes() {
        let sealed = secret_box(9).seal("kept across restarts");
        assert_eq!(secret_box(9).open(&sealed).as_deref(), Ok("kept across restarts"));
    }

    #[test]
    fn text_that_is_not_a_sealed_value_is_a_format_error() {
        let b = secret_box(1);
        for bad in ["", "whsec_abc", "v2:AAAA", "v1:not base64!", "v1:AAAA"] {
            assert_eq!(b.open(bad), Err(SealError::Format), "{bad}");
        }
    }

    #[test]
    fn a_master_key_shorter_than_32_bytes_is_refused() {
        assert_eq!(SecretBox::new(&[0; 31]).err(), Some(SealError::KeyTooShort(31)));
        assert!(SecretBox::new(&[0; 64]).is_ok());
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        assert_eq!(format!("{:?}", secret_box(0xAB)), "SecretBox([redacted])");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_text_survives_a_round_trip(text in "\\PC{0,200}") {
            let b = secret_box(3);
            prop_assert_eq!(b.open(&b.seal(&text)), Ok(text));
        }
    }
}
