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
use futures_util::StreamExt;

/// How long a connection that Herald is closing waits for the client to go (actix-web's
/// `client_disconnect_timeout`; set in `startup` with the head and keep-alive timeouts).
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

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
