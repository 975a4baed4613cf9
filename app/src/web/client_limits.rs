//! How slowly a client may send a request. Without limits a client that trickles its request
//! head or body in (a byte now and then) holds a connection open indefinitely, and a few hundred
//! such clients hold the server. actix-web bounds the head (`client_request_timeout`) and idle
//! connections (`keep_alive`), but not the body: [`body_deadline`] does, so a request whose body
//! has not fully arrived in time fails (408 on the API) and its connection is closed.
//!
//! Contract: every timeout is from the moment the phase starts (the connection opens, the head
//! is read) and is not extended by data arriving, so the time a slow client can hold a
//! connection is bounded by head + body timeouts.

use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use anyhow::Context;
use futures_util::StreamExt;

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

/// How long a connection that Herald is closing waits for the client to go (actix-web's
/// `client_disconnect_timeout`; set in `startup` with the head and keep-alive timeouts).
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

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

/// Middleware (`middleware::from_fn`): the request's body must have arrived within `limit` of
/// the head, else reading it fails with a `TimedOut` I/O error (see [`is_timeout`]).
///
/// # Errors
/// Those of the wrapped service.
pub async fn body_deadline(
    limit: Duration,
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let deadline = tokio::time::Instant::now() + limit;
    let payload = req.take_payload();
    let bounded = futures_util::stream::unfold(Some(payload), move |payload| async move {
        let mut payload = payload?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => {
                let late = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the request body did not arrive within {} s", limit.as_secs()),
                );
                Some((Err(PayloadError::Io(late)), None))
            }
        }
    });
    req.set_payload(Payload::Stream {
        payload: Box::pin(bounded),
    });
    next.call(req).await
}

/// Whether an extractor failed because the body came too slowly ([`body_deadline`]).
#[must_use]
pub fn is_timeout(e: &actix_web::Error) -> bool {
    e.as_error::<PayloadError>()
        .is_some_and(|p| matches!(p, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut))
}
