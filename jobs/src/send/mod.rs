//! The HTTP sender: one request per delivery attempt, signed, time-boxed, SSRF-guarded, and
//! recorded as an [`Attempt`] whatever happens.
//!
//! One [`Sender`] (one `reqwest::Client`, so one connection pool) is shared by every worker. It
//! never follows redirects (a 3xx is a failed attempt, retried), never uses a proxy (a proxy would
//! resolve names itself, bypassing the guard), and resolves names through [`GuardedResolver`], so a
//! name that resolves to an internal address is refused at connect time.

mod attempt;
mod classify;
mod guard;
mod headers;

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderValue, RETRY_AFTER};

use entity::spec::{CustomHeaders, Method};

pub use attempt::{Attempt, ErrorKind, MAX_RETRY_AFTER, SendError, Verdict, parse_retry_after, verdict_for_status};
pub use guard::{GuardedResolver, LookupFailed, Refusal, check_url, is_forbidden};

/// How many bytes of a response body are kept (and read): enough to show an error page's gist,
/// little enough that a receiver streaming gigabytes costs nothing.
pub const MAX_RESPONSE_BODY_BYTES: usize = 4 * 1024;
/// Time allowed to establish a connection (TCP and TLS), within the webhook's own timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// What replaces secret header values in [`Attempt::request_headers`].
pub const REDACTED: &str = "[redacted]";

/// The sender's fixed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderConfig {
    /// Lift the SSRF guard (loopback, private, link-local… targets allowed). For self-hosting
    /// against internal services (`HERALD_ALLOW_PRIVATE_TARGETS`) and for tests with a local
    /// receiver; never on for a shared multi-tenant deployment.
    pub allow_private_targets: bool,
    /// The `User-Agent` of every request, `Herald/<version>` (see [`default_user_agent`]).
    pub user_agent: String,
}

impl Default for SenderConfig {
    /// Guard on, `User-Agent: Herald/<version>`.
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            user_agent: default_user_agent(),
        }
    }
}

/// `Herald/<version of this crate>`: receivers can tell Herald's requests apart and by release.
#[must_use]
pub fn default_user_agent() -> String {
    format!("Herald/{}", env!("CARGO_PKG_VERSION"))
}

/// The sender could not be built (a startup error: the process should not run without it).
#[derive(Debug, thiserror::Error)]
pub enum SendSetupError {
    /// The configured user agent is not a valid header value.
    #[error("the user agent “{0}” is not a valid HTTP header value")]
    UserAgent(String),
    /// reqwest refused the client configuration (e.g. no TLS backend could be initialised).
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
}

/// One request to make: everything is borrowed from the delivery and its webhook, so nothing is
/// copied per attempt but the body.
pub struct OutboundRequest<'a> {
    /// The webhook URL (http or https).
    pub url: &'a str,
    /// The HTTP method.
    pub method: Method,
    /// The webhook's custom headers, sent after ours; the spec refuses names we set.
    pub headers: &'a CustomHeaders,
    /// The raw body, sent and signed byte for byte (the frozen request body of the delivery).
    pub body: &'a [u8],
    /// The whole attempt's time limit: connect, send, response head and the capped body read.
    pub timeout: Duration,
    /// How to sign the body.
    pub signing: Signing<'a>,
}

/// The signature scheme with its inputs for one request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Signing<'a> {
    /// No signature header.
    None,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64>`.
    Standard {
        /// The delivery's id, identical on every attempt so receivers can deduplicate.
        msg_id: &'a str,
        /// Unix seconds, the value of `webhook-timestamp` (signed along with the id and body).
        timestamp: i64,
        /// The current `whsec_…` secret, or `whsk_…` ed25519 signing key (`v1a`).
        secret: &'a str,
        /// The previous secret during a rotation: its signature is sent as well.
        previous: Option<&'a str>,
    },
    /// Customer.io: `X-Signature: <hex HMAC-SHA1(secret, raw body)>`.
    HmacSha1 {
        /// The shared secret, used as typed.
        secret: &'a str,
    },
}

impl std::fmt::Debug for Signing<'_> {
    /// Secrets are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Standard { msg_id, timestamp, .. } => f
                .debug_struct("Standard")
                .field("msg_id", msg_id)
                .field("timestamp", timestamp)
                .finish_non_exhaustive(),
            Self::HmacSha1 { .. } => f.debug_struct("HmacSha1").finish_non_exhaustive(),
        }
    }
}

/// The shared HTTP sender. Cheap to clone (the client is reference-counted).
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    user_agent: HeaderValue,
}

impl Sender {
    /// Builds the one client: no redirects, no proxy, 3 s connect timeout, the guarded resolver
    /// (guard lifted when `allow_private_targets`), and the user agent.
    ///
    /// # Errors
    /// An invalid user agent, or a client reqwest cannot build.
    pub fn new(cfg: SenderConfig) -> Result<Self, SendSetupError> {
        let SenderConfig {
            allow_private_targets,
            user_agent,
        } = cfg;
        let Ok(user_agent) = HeaderValue::from_str(&user_agent) else {
            return Err(SendSetupError::UserAgent(user_agent));
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .dns_resolver(std::sync::Arc::new(GuardedResolver {
                allow_private: allow_private_targets,
            }))
            .user_agent(user_agent.clone())
            .build()
            .map_err(SendSetupError::Client)?;
        Ok(Self {
            client,
            allow_private: allow_private_targets,
            user_agent,
        })
    }

    /// Makes one attempt. Never fails: every outcome, including a refusal before any network
    /// access, is an [`Attempt`] with its [`Verdict`].
    pub async fn send(&self, req: &OutboundRequest<'_>) -> Attempt {
        let mut draft = Draft {
            started_at_ms: unix_ms(SystemTime::now()),
            clock: Instant::now(),
            request_headers: Vec::new(),
        };
        let deadline = tokio::time::Instant::now() + req.timeout;
        let headers = match headers::outgoing(&self.user_agent, req) {
            Ok(outgoing) => {
                draft.request_headers = outgoing.shown;
                outgoing.map
            }
            Err(error) => return draft.failed(error),
        };
        let url = match check_url(req.url, self.allow_private) {
            Ok(url) => url,
            Err(refusal) => return draft.failed(SendError::new(ErrorKind::Blocked, refusal.to_string())),
        };
        let request = self
            .client
            .request(reqwest_method(req.method), url)
            .headers(headers)
            .body(req.body.to_vec());
        let response = match tokio::time::timeout_at(deadline, request.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return draft.failed(classify::classify(e)),
            Err(_) => {
                let message = format!("no response within {} ms", req.timeout.as_millis());
                return draft.failed(SendError::new(ErrorKind::Timeout, message));
            }
        };
        let status = response.status();
        let response_headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let response_body = read_capped(response, deadline).await;
        let verdict = verdict_for_status(status.as_u16(), retry_after.as_deref(), SystemTime::now());
        let error = (verdict != Verdict::Delivered).then(|| {
            let reason = status.canonical_reason().unwrap_or("");
            let message = format!("the receiver answered {} {reason}", status.as_u16());
            SendError::new(ErrorKind::HttpStatus, message.trim_end())
        });
        Attempt {
            started_at_ms: draft.started_at_ms,
            duration_ms: elapsed_ms(draft.clock),
            request_headers: draft.request_headers,
            status: Some(status.as_u16()),
            response_headers,
            response_body,
            error,
            verdict,
        }
    }
}

/// An attempt under way: what is known before a response.
struct Draft {
    started_at_ms: i64,
    clock: Instant,
    request_headers: Vec<(String, String)>,
}

impl Draft {
    /// The attempt when no response arrived: `Blocked` refusals are final, all else is retried.
    fn failed(self, error: SendError) -> Attempt {
        let verdict = if error.kind == ErrorKind::Blocked {
            Verdict::Blocked
        } else {
            Verdict::Retry
        };
        Attempt {
            started_at_ms: self.started_at_ms,
            duration_ms: elapsed_ms(self.clock),
            request_headers: self.request_headers,
            status: None,
            response_headers: Vec::new(),
            response_body: String::new(),
            error: Some(error),
            verdict,
        }
    }
}

/// Reads at most [`MAX_RESPONSE_BODY_BYTES`] of the body, stopping at the limit, at the end, on
/// an error or at the deadline (the status is what decides the verdict; the body is for people).
async fn read_capped(mut response: reqwest::Response, deadline: tokio::time::Instant) -> String {
    let mut buf: Vec<u8> = Vec::new();
    while buf.len() < MAX_RESPONSE_BODY_BYTES {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await else {
            break;
        };
        let take = chunk.len().min(MAX_RESPONSE_BODY_BYTES - buf.len());
        buf.extend_from_slice(&chunk[..take]);
    }
    let kept = if buf.len() == MAX_RESPONSE_BODY_BYTES {
        without_partial_char(&buf)
    } else {
        &buf[..]
    };
    String::from_utf8_lossy(kept).into_owned()
}

/// `bytes` without a UTF-8 sequence cut short at its end (the cut made by the size limit).
fn without_partial_char(bytes: &[u8]) -> &[u8] {
    for back in 1..=bytes.len().min(4) {
        let b = bytes[bytes.len() - back];
        if b & 0xc0 == 0x80 {
            continue;
        }
        let needed = match b {
            0xf0.. => 4,
            0xe0.. => 3,
            0xc0.. => 2,
            _ => 1,
        };
        return if needed > back {
            &bytes[..bytes.len() - back]
        } else {
            bytes
        };
    }
    bytes
}

fn reqwest_method(method: Method) -> reqwest::Method {
    match method {
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

fn unix_ms(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn elapsed_ms(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_cut_by_the_limit_is_dropped() {
        assert_eq!(without_partial_char(b"abc"), b"abc");
        assert_eq!(without_partial_char("aé".as_bytes()), "aé".as_bytes());
        assert_eq!(without_partial_char(&"aé".as_bytes()[..2]), b"a");
        assert_eq!(without_partial_char(&"a€".as_bytes()[..3]), b"a");
        assert_eq!(without_partial_char(&"a😀".as_bytes()[..4]), b"a");
        assert_eq!(without_partial_char("a😀".as_bytes()), "a😀".as_bytes());
    }

    #[test]
    fn the_default_user_agent_names_herald_and_its_version() {
        assert_eq!(default_user_agent(), format!("Herald/{}", env!("CARGO_PKG_VERSION")));
        assert!(!SenderConfig::default().allow_private_targets);
    }

    #[test]
    fn signing_debug_output_hides_secrets() {
        let s = Signing::Standard {
            msg_id: "msg_1",
            timestamp: 1,
            secret: "whsec_c2VjcmV0",
            previous: Some("whsec_b2xk"),
        };
        let shown = format!(
            "{s:?} {:?}",
            Signing::HmacSha1 {
                secret: "shared-secret"
            }
        );
        assert!(shown.contains("msg_1") && !shown.contains("whsec") && !shown.contains("shared-secret"));
    }
}
