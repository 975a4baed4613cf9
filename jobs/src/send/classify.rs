//! Turning a reqwest error into an [`ErrorKind`] and a readable message, by walking its source
//! chain for the error types that say what really happened.

use std::error::Error;

use super::attempt::{ErrorKind, SendError};
use super::guard::{LookupFailed, Refusal};

/// The kind and message of a failed request. The chain is searched for our resolver's
/// [`Refusal`] (→ `Blocked`) and [`LookupFailed`] (→ `Dns`), and for `rustls::Error` (→ `Tls`);
/// otherwise a timeout anywhere in it gives `Timeout`, and anything else `Connect` (refused, reset,
/// closed mid-response: all worth retrying).
pub(crate) fn classify(err: reqwest::Error) -> SendError {
    let err = err.without_url();
    if let Some(found) = kind_in_chain(&err) {
        return found;
    }
    let kind = if err.is_timeout() {
        ErrorKind::Timeout
    } else if err.is_dns() {
        ErrorKind::Dns
    } else {
        ErrorKind::Connect
    };
    SendError::new(kind, chain_message(&err))
}

/// The kind named by a specific error type found in the chain, with that error's own message
/// (the wrappers around it add only noise).
pub(crate) fn kind_in_chain(err: &(dyn Error + 'static)) -> Option<SendError> {
    chain(err).find_map(|e| {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return Some(SendError::new(ErrorKind::Blocked, refusal.to_string()));
        }
        if let Some(lookup) = e.downcast_ref::<LookupFailed>() {
            return Some(SendError::new(ErrorKind::Dns, lookup.to_string()));
        }
        e.downcast_ref::<rustls::Error>()
            .map(|tls| SendError::new(ErrorKind::Tls, format!("TLS handshake failed: {tls}")))
    })
}

/// Every error in the chain, starting with `err`. Unlike `source()` alone, this steps *into* an
/// `io::Error` that wraps another error (its `source()` skips the wrapped error itself, which is
/// exactly where TLS failures hide).
fn chain<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |&e| {
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            let inner: &(dyn Error + 'static) = inner;
            return Some(inner);
        }
        e.source()
    })
    .take(32)
}

/// The messages of the chain joined with `: `, repeats dropped (wrappers often print their cause).
fn chain_message(err: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in chain(err) {
        let text = e.to_string();
        if !text.is_empty() && parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn errors_wrapped_in_io_errors_are_found() {
        let refusal = Refusal::InvalidUrl("nope".into());
        let err = Outer(std::io::Error::other(refusal));
        assert_eq!(
            kind_in_chain(&err).map(|e| (e.kind, e.message)),
            Some((ErrorKind::Blocked, "nope".into()))
        );
        let lookup = LookupFailed {
            host: "x.invalid".into(),
            reason: "not found".into(),
        };
        let err = Outer(std::io::Error::other(lookup));
        let found = kind_in_chain(&err).expect("found");
        assert_eq!(found.kind, ErrorKind::Dns);
        assert_eq!(found.message, "DNS lookup of x.invalid failed: not found");
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::DecryptError,
        ));
        assert_eq!(kind_in_chain(&err).map(|e| e.kind), Some(ErrorKind::Tls));
        let err = Outer(std::io::Error::other("reset"));
        assert!(kind_in_chain(&err).is_none());
    }

    #[test]
    fn messages_join_the_chain_without_repeats() {
        let err = Outer(std::io::Error::other("connection reset"));
        assert_eq!(chain_message(&err), "outer: connection reset");
    }
}
