//! Random secrets, hashing of stored credentials, password hashing, the server's secret key and
//! the boxes it keys for secrets stored encrypted ([`sealed`]).

pub mod sealed;

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use sealed::SecretBox;

/// `n` random bytes from the operating system, hex-encoded (2n characters).
///
/// # Panics
/// Only if the OS random source fails, which leaves no safe way to continue.
#[must_use]
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random number generator is unavailable");
    hex::encode(buf)
}

/// SHA-256 of a credential, hex-encoded: what is stored for session ids, API tokens and invites,
/// so a database leak does not leak usable credentials.
#[must_use]
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Hashes a password with argon2id and a fresh salt (PHC string).
///
/// # Errors
/// Only if argon2 rejects its own parameters.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Checks a password against a stored PHC string; a malformed hash counts as a mismatch.
#[must_use]
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the email is unknown, so both failures cost the same time.
pub static DUMMY_PASSWORD_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("not a real password").unwrap_or_default());

/// The server's root secret (`HERALD_SECRET_KEY`). Never printed: `Debug` is redacted.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    /// A fresh random key (tests, first start).
    #[must_use]
    pub fn generate() -> Self {
        Self(hex::decode(random_hex(32)).unwrap_or_default())
    }

    /// Parses a hex key of at least 32 bytes.
    ///
    /// # Errors
    /// Not hex, or shorter than 32 bytes.
    pub fn from_hex(hex_key: &str) -> anyhow::Result<Self> {
        let bytes = hex::decode(hex_key.trim()).context("the secret key must be hex-encoded")?;
        anyhow::ensure!(
            bytes.len() >= 32,
            "the secret key must be at least 32 bytes (64 hex characters)"
        );
        Ok(Self(bytes))
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh key on first start.
    ///
    /// # Errors
    /// The file cannot be read or written, or holds a malformed key.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if path.exists() {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            return Self::from_hex(&text).with_context(|| format!("key file {}", path.display()));
        }
        let key = random_hex(32);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(key.as_bytes())?;
        tracing::info!(path = %path.display(), "created a new secret key file");
        Self::from_hex(&key)
    }

    /// The box that seals stored webhook secrets, keyed from this key.
    ///
    /// # Panics
    /// Never: keys are at least 32 bytes by construction.
    #[must_use]
    pub fn secret_box(&self) -> SecretBox {
        SecretBox::new(&self.0).expect("secret keys are at least 32 bytes")
    }

    /// The box that seals one-time flash cookies (see `web::flash`), keyed from a value derived
    /// for that purpose only: a flash cookie can't be opened as a stored webhook secret, nor a
    /// stored secret passed off as a flash.
    ///
    /// # Panics
    /// Never: the derived value is 64 bytes.
    #[must_use]
    pub fn flash_box(&self) -> SecretBox {
        SecretBox::new(self.sign("flash cookies", "v1").as_bytes()).expect("a derived key is 64 bytes")
    }

    /// HMAC-SHA256 of `message` under a key derived for `purpose`, hex-encoded.
    #[must_use]
    pub fn sign(&self, purpose: &str, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Compares two strings in time independent of where they differ.
#[must_use]
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn signatures_depend_on_key_purpose_and_message() {
        let k = SecretKey::generate();
        assert_eq!(k.sign("csrf", "a"), k.sign("csrf", "a"));
        assert_ne!(k.sign("csrf", "a"), k.sign("csrf", "b"));
        assert_ne!(k.sign("csrf", "a"), k.sign("other", "a"));
        assert_ne!(k.sign("csrf", "a"), SecretKey::generate().sign("csrf", "a"));
    }

    #[test]
    fn short_or_malformed_keys_are_refused() {
        assert!(SecretKey::from_hex("abcd").is_err());
        assert!(SecretKey::from_hex("zz").is_err());
        assert!(SecretKey::from_hex(&random_hex(32)).is_ok());
    }
}
