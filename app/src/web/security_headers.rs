//! Security headers on every dashboard response. The contract: pages load scripts, styles and
//! images only from Herald itself (no inline `<script>`, `style=` or `on…=` attributes anywhere
//! in `templates/`; behaviour is wired by attributes in `static/ui.js`), cannot be framed, are
//! never sniffed as another type, leak no path in `Referer` to other sites, and, when the base
//! URL is https, tell browsers to use https only (HSTS, which must never be sent over plain http:
//! it would lock a self-hosted http dashboard out).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use super::AppState;

/// The policy: everything from our own origin, nothing inline, no plugins, no framing, forms
/// post only to us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// One year, with subdomains: the usual value once a site is https only.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// Middleware for the dashboard scope: adds the headers to whatever the inner service answered
/// (pages, redirects, error pages).
///
/// # Errors
/// Whatever the inner service returns.
pub async fn add(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let https = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.secure_cookies);
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    Ok(res)
}
