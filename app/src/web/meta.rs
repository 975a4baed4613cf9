//! Where a request came from, for audit rows.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::domain::auth::Origin;

/// The peer address and user agent of a request. The peer address is used rather than
/// `X-Forwarded-For`, which any client can set.
#[must_use]
pub fn origin(req: &HttpRequest) -> Origin {
    Origin {
        ip: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}
