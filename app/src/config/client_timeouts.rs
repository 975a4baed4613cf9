//! How slowly a client may send a request: the typed settings the web layer's
//! [`client_limits`](crate::web::client_limits) enforces.

use std::time::Duration;

use anyhow::Context;

/// The slow-client timeouts (`HERALD_CLIENT_*_TIMEOUT_SECS`, `HERALD_KEEP_ALIVE_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// `HERALD_CLIENT_HEAD_TIMEOUT_SECS`, default 5: the whole request head (line and headers)
    /// must arrive within this from the connection's first byte, or the answer is 408.
    pub head: Duration,
    /// `HERALD_CLIENT_BODY_TIMEOUT_SECS`, default 30: the whole body must arrive within this
    /// after the head (500 KB in 30 s is a 17 KB/s link), or the request fails with 408.
    pub body: Duration,
    /// `HERALD_KEEP_ALIVE_SECS`, default 5: an idle keep-alive connection is closed after this.
    pub keep_alive: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        Self {
            head: Duration::from_secs(5),
            body: Duration::from_secs(30),
            keep_alive: Duration::from_secs(5),
        }
    }
}

impl ClientTimeouts {
    /// The names read by [`ClientTimeouts::from_env`].
    pub const VARIABLES: [&str; 3] = [
        "HERALD_CLIENT_HEAD_TIMEOUT_SECS",
        "HERALD_CLIENT_BODY_TIMEOUT_SECS",
        "HERALD_KEEP_ALIVE_SECS",
    ];

    /// Reads the environment; unset variables keep the defaults.
    ///
    /// # Errors
    /// A value that is not a whole number of seconds from 1 to 600, naming the variable.
    pub fn from_env() -> anyhow::Result<Self> {
        let d = Self::default();
        let [head, body, keep_alive] = Self::VARIABLES;
        Ok(Self {
            head: secs(head, d.head)?,
            body: secs(body, d.body)?,
            keep_alive: secs(keep_alive, d.keep_alive)?,
        })
    }
}

fn secs(name: &str, default: Duration) -> anyhow::Result<Duration> {
    match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=600).contains(s))
            .map(Duration::from_secs)
            .with_context(|| format!("{name} must be a whole number of seconds from 1 to 600")),
    }
}
