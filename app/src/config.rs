//! Typed configuration read from `HERALD_*` environment variables; README's table lists them.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::crypto::SecretKey;

/// Every setting Herald reads. Build it with [`Config::from_env`]; tests build it directly.
#[derive(Clone)]
pub struct Config {
    /// `HERALD_DATABASE_URL`, default `sqlite://herald.db?mode=rwc`. `postgres://…` for scale-out.
    pub database_url: String,
    /// `HERALD_BIND`, default `127.0.0.1:8080`. Port 0 picks a free port (tests).
    pub bind: String,
    /// `HERALD_BASE_URL`, the public address used in invite links; `https` makes cookies `Secure`.
    /// Default: `http://` + the bound address.
    pub base_url: Option<String>,
    /// `HERALD_SECRET_KEY` (hex, ≥ 32 bytes) or, when unset, the key file beside the SQLite
    /// database (created with mode 0600 on first start).
    pub secret_key: SecretKey,
    /// `HERALD_SESSION_TTL_HOURS`, default 168 (7 days): how long a dashboard login lasts.
    pub session_ttl_hours: i64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("secret_key", &"[redacted]")
            .field("session_ttl_hours", &self.session_ttl_hours)
            .finish()
    }
}

const KNOWN: &[&str] = &[
    "HERALD_DATABASE_URL",
    "HERALD_BIND",
    "HERALD_BASE_URL",
    "HERALD_SECRET_KEY",
    "HERALD_SESSION_TTL_HOURS",
];

impl Config {
    /// Reads the environment; warns about unknown `HERALD_*` names (likely typos).
    ///
    /// # Errors
    /// A malformed value, naming the variable, or an unreadable/unwritable key file.
    pub fn from_env() -> anyhow::Result<Self> {
        for (name, _) in std::env::vars() {
            if name.starts_with("HERALD_") && !KNOWN.contains(&name.as_str()) {
                tracing::warn!(variable = %name, "unknown HERALD_ variable ignored");
            }
        }
        let database_url = var("HERALD_DATABASE_URL").unwrap_or_else(|| "sqlite://herald.db?mode=rwc".to_owned());
        let secret_key = match var("HERALD_SECRET_KEY") {
            Some(hex) => SecretKey::from_hex(&hex).context("HERALD_SECRET_KEY")?,
            None => SecretKey::load_or_create(&key_file_for(&database_url))?,
        };
        let session_ttl_hours = match var("HERALD_SESSION_TTL_HOURS") {
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|h| *h > 0)
                .context("HERALD_SESSION_TTL_HOURS must be a positive whole number of hours")?,
            None => 168,
        };
        Ok(Self {
            database_url,
            bind: var("HERALD_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            base_url: var("HERALD_BASE_URL").map(|u| u.trim_end_matches('/').to_owned()),
            secret_key,
            session_ttl_hours,
        })
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `sqlite://dir/herald.db?…` → `dir/herald.key`; other databases → `herald.key` in the working directory.
fn key_file_for(database_url: &str) -> PathBuf {
    let path = database_url
        .strip_prefix("sqlite://")
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|p| !p.is_empty() && !p.contains(":memory:"));
    match path {
        Some(db) => Path::new(db).with_extension("key"),
        None => PathBuf::from("herald.key"),
    }
}

#[cfg(test)]
mod tests {
    use super::key_file_for;
    use std::path::PathBuf;

    #[test]
    fn the_key_file_sits_beside_the_sqlite_database() {
        assert_eq!(key_file_for("sqlite://herald.db?mode=rwc"), PathBuf::from("herald.key"));
        assert_eq!(
            key_file_for("sqlite:///var/lib/h/data.db"),
            PathBuf::from("/var/lib/h/data.key")
        );
        assert_eq!(key_file_for("postgres://x@y/z"), PathBuf::from("herald.key"));
    }
}
