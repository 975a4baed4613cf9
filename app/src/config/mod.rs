//! Typed configuration read from `HERALD_*` environment variables; README's table lists them.

mod client_timeouts;

pub use client_timeouts::ClientTimeouts;

use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// `HERALD_WORKERS`, default 64: deliveries in flight at once per process.
    pub workers: usize,
    /// `HERALD_RETRY_SCHEDULE`, default `0,5s,5m,30m,2h,5h,10h,10h`: the wait before each retry.
    pub retry_schedule: Vec<Duration>,
    /// `HERALD_LEASE_SECS`, default 60: how long a claimed delivery belongs to its worker before
    /// another may take it over (after a crash). Keep it above the longest webhook timeout (30 s).
    pub lease: Duration,
    /// `HERALD_ALLOW_PRIVATE_TARGETS`, default false: allow webhooks to loopback/private addresses
    /// (self-hosting on a private network, tests against a local receiver).
    pub allow_private_targets: bool,
    /// `HERALD_AUTO_DISABLE_AFTER_HOURS`, default 120 (5 days): a webhook whose deliveries have
    /// all failed for this long is disabled by Herald, with the reason shown on its page.
    pub auto_disable_after: Duration,
    /// `HERALD_RETENTION_DAYS`, default 30: attempt logs and the bodies of finished deliveries
    /// older than this are purged.
    pub retention_days: u32,
    /// `HERALD_MAINTENANCE_EVERY_SECS`, default 60: how often the auto-disable check runs
    /// (retention runs at most hourly). Tests shorten it.
    pub maintenance_every: Duration,
    /// `HERALD_METRICS`, default false: record the engine's metrics and answer `GET /metrics`
    /// (Prometheus text format; see [`crate::metrics`]) on the web port. Off by default because
    /// the web port is the public dashboard and API, and the numbers describe the whole
    /// platform (every tenant's volume); turn it on where `/metrics` is kept off the internet
    /// (a proxy rule, a private network). Off, nothing is recorded at all.
    pub metrics: bool,
    /// `HERALD_METRICS_BIND`, e.g. `127.0.0.1:9187`: where a `herald worker` (which has no web
    /// server) answers `GET /metrics`. Read only with `HERALD_METRICS` on; `herald serve`
    /// answers on its web port and ignores it.
    pub metrics_bind: Option<String>,
    /// `HERALD_SQLITE_MAX_PAGES`, unset by default: caps a SQLite database at this many pages
    /// (4 KB each; `PRAGMA max_page_count` on every connection). At the cap writes fail as on a
    /// full disk: ingest answers 503 with `Retry-After`, pages still read, and writes resume as
    /// soon as retention or deletions free pages. Keeps Herald from filling a shared disk.
    pub sqlite_max_pages: Option<u32>,
    /// How slowly a client may send a request (see [`ClientTimeouts`] for the variables).
    pub client_timeouts: ClientTimeouts,
    /// `HERALD_INGEST_EVENTS_PER_SECOND`, default 10000: events each account may ingest per
    /// second (a burst of one second's worth), per process; above it ingest answers 429 with
    /// `Retry-After` (see [`crate::domain::quota`]).
    pub ingest_events_per_second: u32,
    /// `HERALD_BREAKER_AFTER`, default 10: failed attempts in a row to one webhook after which
    /// its circuit breaker opens (its deliveries wait; single probes test the endpoint).
    pub breaker_after: u32,
    /// `HERALD_BREAKER_PROBE`, default `5s`: the wait before an open breaker's first probe; it
    /// doubles with every failed probe, up to `HERALD_BREAKER_PROBE_MAX` (default `5m`).
    pub breaker_probe: Duration,
    /// `HERALD_BREAKER_PROBE_MAX`, default `5m`: the longest wait between two probes.
    pub breaker_probe_max: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &without_password(&self.database_url))
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("secret_key", &"[redacted]")
            .field("session_ttl_hours", &self.session_ttl_hours)
            .field("workers", &self.workers)
            .field("retry_schedule", &self.retry_schedule)
            .field("lease", &self.lease)
            .field("allow_private_targets", &self.allow_private_targets)
            .field("auto_disable_after", &self.auto_disable_after)
            .field("retention_days", &self.retention_days)
            .field("maintenance_every", &self.maintenance_every)
            .field("metrics", &self.metrics)
            .field("metrics_bind", &self.metrics_bind)
            .field("sqlite_max_pages", &self.sqlite_max_pages)
            .field("client_timeouts", &self.client_timeouts)
            .field("ingest_events_per_second", &self.ingest_events_per_second)
            .field("breaker_after", &self.breaker_after)
            .field("breaker_probe", &self.breaker_probe)
            .field("breaker_probe_max", &self.breaker_probe_max)
            .finish()
    }
}

const KNOWN: &[&str] = &[
    "HERALD_DATABASE_URL",
    "HERALD_BIND",
    "HERALD_BASE_URL",
    "HERALD_SECRET_KEY",
    "HERALD_SESSION_TTL_HOURS",
    "HERALD_WORKERS",
    "HERALD_RETRY_SCHEDULE",
    "HERALD_LEASE_SECS",
    "HERALD_ALLOW_PRIVATE_TARGETS",
    "HERALD_AUTO_DISABLE_AFTER_HOURS",
    "HERALD_RETENTION_DAYS",
    "HERALD_MAINTENANCE_EVERY_SECS",
    "HERALD_METRICS",
    "HERALD_METRICS_BIND",
    "HERALD_SQLITE_MAX_PAGES",
    "HERALD_INGEST_EVENTS_PER_SECOND",
    "HERALD_BREAKER_AFTER",
    "HERALD_BREAKER_PROBE",
    "HERALD_BREAKER_PROBE_MAX",
];

impl Config {
    /// Reads the environment; warns about unknown `HERALD_*` names (likely typos).
    ///
    /// # Errors
    /// A malformed value, naming the variable, or an unreadable/unwritable key file.
    pub fn from_env() -> anyhow::Result<Self> {
        for (name, _) in std::env::vars() {
            if name.starts_with("HERALD_")
                && !KNOWN.contains(&name.as_str())
                && !ClientTimeouts::VARIABLES.contains(&name.as_str())
            {
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
        let workers = match var("HERALD_WORKERS") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=4096).contains(n))
                .context("HERALD_WORKERS must be a number from 1 to 4096")?,
            None => 64,
        };
        let retry_schedule = match var("HERALD_RETRY_SCHEDULE") {
            Some(v) => herald_jobs::queue::parse_retry_schedule(&v)
                .map_err(|e| anyhow::anyhow!("HERALD_RETRY_SCHEDULE: {e}"))?,
            None => herald_jobs::queue::QueueConfig::default().retry_schedule,
        };
        let lease = match var("HERALD_LEASE_SECS") {
            Some(v) => Duration::from_secs(
                v.parse::<u64>()
                    .ok()
                    .filter(|n| (2..=3600).contains(n))
                    .context("HERALD_LEASE_SECS must be from 2 to 3600")?,
            ),
            None => Duration::from_secs(60),
        };
        let allow_private_targets = flag("HERALD_ALLOW_PRIVATE_TARGETS")?;
        let auto_disable_after = match var("HERALD_AUTO_DISABLE_AFTER_HOURS") {
            Some(v) => Duration::from_secs(
                3600 * v
                    .parse::<u64>()
                    .ok()
                    .filter(|h| (1..=24 * 365).contains(h))
                    .context("HERALD_AUTO_DISABLE_AFTER_HOURS must be a whole number of hours from 1 to 8760")?,
            ),
            None => Duration::from_secs(120 * 3600),
        };
        let retention_days = match var("HERALD_RETENTION_DAYS") {
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .context("HERALD_RETENTION_DAYS must be a whole number of days from 1 to 3650")?,
            None => 30,
        };
        let maintenance_every = match var("HERALD_MAINTENANCE_EVERY_SECS") {
            Some(v) => Duration::from_secs(
                v.parse::<u64>()
                    .ok()
                    .filter(|s| (1..=86_400).contains(s))
                    .context("HERALD_MAINTENANCE_EVERY_SECS must be from 1 to 86400")?,
            ),
            None => Duration::from_secs(60),
        };
        let ingest_events_per_second = match var("HERALD_INGEST_EVENTS_PER_SECOND") {
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=10_000_000).contains(n))
                .context("HERALD_INGEST_EVENTS_PER_SECOND must be a whole number from 1 to 10000000")?,
            None => 10_000,
        };
        let breaker_after = match var("HERALD_BREAKER_AFTER") {
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .context("HERALD_BREAKER_AFTER must be a whole number from 1 to 1000")?,
            None => 10,
        };
        Ok(Self {
            database_url,
            breaker_after,
            breaker_probe: delay("HERALD_BREAKER_PROBE", Duration::from_secs(5))?,
            breaker_probe_max: delay("HERALD_BREAKER_PROBE_MAX", Duration::from_secs(300))?,
            bind: var("HERALD_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            base_url: var("HERALD_BASE_URL").map(|u| u.trim_end_matches('/').to_owned()),
            secret_key,
            session_ttl_hours,
            workers,
            retry_schedule,
            lease,
            allow_private_targets,
            auto_disable_after,
            retention_days,
            maintenance_every,
            metrics: flag("HERALD_METRICS")?,
            metrics_bind: var("HERALD_METRICS_BIND"),
            sqlite_max_pages: var("HERALD_SQLITE_MAX_PAGES")
                .map(|v| v.parse::<u32>().ok().filter(|p| *p >= 64))
                .map(|p| p.context("HERALD_SQLITE_MAX_PAGES must be a number of pages, at least 64"))
                .transpose()?,
            client_timeouts: ClientTimeouts::from_env()?,
            ingest_events_per_second,
        })
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// One delay written as in `HERALD_RETRY_SCHEDULE` (`500ms`, `5s`, `5m`); `default` when unset.
fn delay(name: &str, default: Duration) -> anyhow::Result<Duration> {
    match var(name) {
        None => Ok(default),
        Some(v) => {
            match herald_jobs::queue::parse_retry_schedule(&v).map_err(|e| anyhow::anyhow!("{name}: {e}"))?[..] {
                [d] if !d.is_zero() => Ok(d),
                _ => anyhow::bail!("{name} must be one delay greater than zero, such as 5s"),
            }
        }
    }
}

/// A true/false variable; unset is false.
fn flag(name: &str) -> anyhow::Result<bool> {
    match var(name).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => anyhow::bail!("{name} must be true or false, not {other:?}"),
    }
}

/// The URL with its password (if any) replaced, for logs and `Debug`; a URL that does not parse
/// is hidden whole, since where its password sits cannot be told.
#[must_use]
pub fn without_password(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some("redacted")).is_err() {
                return "[redacted]".to_owned();
            }
            parsed.to_string()
        }
        Ok(_) => database_url.to_owned(),
        Err(_) => "[redacted]".to_owned(),
    }
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
    use super::{Config, key_file_for};
    use crate::crypto::SecretKey;
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn debug_shows_the_database_url_without_its_password() {
        let config = Config {
            database_url: "postgres://herald:s3cret-pw@db.internal:5432/herald".into(),
            bind: "127.0.0.1:0".into(),
            base_url: None,
            secret_key: SecretKey::generate(),
            session_ttl_hours: 1,
            workers: 1,
            retry_schedule: vec![Duration::ZERO],
            lease: Duration::from_secs(60),
            allow_private_targets: false,
            auto_disable_after: Duration::from_secs(3600),
            retention_days: 1,
            maintenance_every: Duration::from_secs(60),
            metrics: false,
            metrics_bind: None,
            sqlite_max_pages: None,
            client_timeouts: super::ClientTimeouts::default(),
            ingest_events_per_second: 1000,
            breaker_after: 10,
            breaker_probe: Duration::from_secs(5),
            breaker_probe_max: Duration::from_secs(300),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(
            shown.contains("postgres://herald:redacted@db.internal:5432/herald"),
            "{shown}"
        );
        assert_eq!(
            super::without_password("sqlite://herald.db?mode=rwc"),
            "sqlite://herald.db?mode=rwc"
        );
    }

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
