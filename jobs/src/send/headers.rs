//! The request headers of an attempt, in the order they go on the wire, with the redacted copy
//! kept in the attempt log.

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use super::attempt::{ErrorKind, SendError};
use super::{OutboundRequest, REDACTED, Signing};
use crate::signing;

/// The headers to send and what the attempt log shows of them.
pub(crate) struct Outgoing {
    /// For reqwest; insertion order is wire order.
    pub(crate) map: HeaderMap,
    /// `(name, value)` as sent, names spelled as written, secret values replaced by [`REDACTED`].
    pub(crate) shown: Vec<(String, String)>,
}

impl Outgoing {
    fn push(&mut self, shown_name: &str, name: HeaderName, value: HeaderValue, secret: bool) {
        let shown = if secret {
            REDACTED.to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        self.shown.push((shown_name.to_owned(), shown));
        self.map.append(name, value);
    }
}

/// `User-Agent`, `Content-Type: application/json`, the custom headers (values redacted in the
/// log: they often carry credentials), then the signature headers (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`, or `X-Signature`; signatures redacted).
///
/// # Errors
/// A `Blocked` error when the request cannot be built: an unusable stored secret, or a header
/// the spec should have refused. Retrying cannot fix either, so nothing is sent.
pub(crate) fn outgoing(user_agent: &HeaderValue, req: &OutboundRequest<'_>) -> Result<Outgoing, SendError> {
    let refuse = |message: String| SendError::new(ErrorKind::Blocked, message);
    let mut out = Outgoing {
        map: HeaderMap::new(),
        shown: Vec::new(),
    };
    out.push("User-Agent", USER_AGENT, user_agent.clone(), false);
    out.push(
        "Content-Type",
        CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
        false,
    );
    for header in req.headers {
        let name = HeaderName::from_bytes(header.name().as_bytes());
        let value = HeaderValue::from_str(header.value());
        let (Ok(name), Ok(value)) = (name, value) else {
            return Err(refuse(format!(
                "the custom header “{}” cannot be sent as written",
                header.name()
            )));
        };
        out.push(header.name(), name, value, true);
    }
    match req.signing {
        Signing::None => {}
        Signing::Standard {
            msg_id,
            timestamp,
            secret,
            previous,
        } => {
            let id = HeaderValue::from_str(msg_id)
                .map_err(|_| refuse(format!("the message id “{msg_id}” cannot be sent as a header")))?;
            let signature = signing::standard_signature_header(secret, previous, msg_id, timestamp, req.body)
                .map_err(|e| refuse(format!("the webhook's secret cannot be used to sign: {e}")))?;
            out.push("webhook-id", HeaderName::from_static("webhook-id"), id, false);
            out.push(
                "webhook-timestamp",
                HeaderName::from_static("webhook-timestamp"),
                HeaderValue::from(timestamp),
                false,
            );
            out.push(
                "webhook-signature",
                HeaderName::from_static("webhook-signature"),
                signature_value(&signature)?,
                true,
            );
        }
        Signing::HmacSha1 { secret } => {
            let signature = signing::sign_hmac_sha1_hex(secret, req.body);
            out.push(
                "X-Signature",
                HeaderName::from_static("x-signature"),
                signature_value(&signature)?,
                true,
            );
        }
    }
    Ok(out)
}

/// Base64 and hex signatures are always valid header values; the check only avoids a panic path.
fn signature_value(signature: &str) -> Result<HeaderValue, SendError> {
    HeaderValue::from_str(signature)
        .map_err(|_| SendError::new(ErrorKind::Blocked, "the signature is not a valid header value"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use entity::spec::{CustomHeaders, Method};

    use super::*;

    fn request<'a>(headers: &'a CustomHeaders, signing: Signing<'a>) -> OutboundRequest<'a> {
        OutboundRequest {
            url: "https://example.com/",
            method: Method::Post,
            headers,
            body: b"{}",
            timeout: Duration::from_secs(5),
            signing,
        }
    }

    #[test]
    fn unsigned_requests_carry_ours_then_the_custom_headers() {
        let custom = CustomHeaders::parse([("X-Token", "t0p")]).expect("valid");
        let ua = HeaderValue::from_static("Herald/test");
        let out = outgoing(&ua, &request(&custom, Signing::None)).expect("built");
        let names: Vec<&str> = out.map.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["user-agent", "content-type", "x-token"]);
        assert_eq!(out.shown[2], ("X-Token".to_owned(), REDACTED.to_owned()));
    }

    #[test]
    fn an_unusable_secret_is_a_refusal() {
        let none = CustomHeaders::default();
        let signing = Signing::Standard {
            msg_id: "m",
            timestamp: 1,
            secret: "whsec_",
            previous: None,
        };
        let err = outgoing(&HeaderValue::from_static("x"), &request(&none, signing))
            .err()
            .expect("refused");
        assert_eq!(err.kind, ErrorKind::Blocked);
    }
}
