//! CSRF protection for dashboard forms.
//!
//! Every browser gets a random `herald_csrf` cookie (HttpOnly, SameSite=Lax). Forms carry
//! `csrf` = HMAC(server key, cookie value), so a page from another site can neither read nor
//! forge it, and a cookie planted by a sibling domain is useless without the server key.
//! [`CsrfForm`] is the only way handlers read a form, so no POST can skip the check.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::PageError;
use crate::crypto::{self, constant_time_eq};

const COOKIE: &str = "herald_csrf";
const FORM_LIMIT: usize = 256 * 1024;

/// The browser's CSRF seed, when the middleware had to create it on this request.
#[derive(Clone)]
struct NewSeed(String);

/// Middleware: makes sure the browser has a CSRF seed cookie.
///
/// # Errors
/// Whatever the inner service returns.
pub async fn ensure_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let fresh = if req.cookie(COOKIE).is_none() {
        let seed = crypto::random_hex(16);
        req.extensions_mut().insert(NewSeed(seed.clone()));
        Some(seed)
    } else {
        None
    };
    let secure = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.secure_cookies);
    let mut res = next.call(req).await?;
    if let Some(seed) = fresh {
        let cookie = Cookie::build(COOKIE, seed)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}

fn seed(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .or_else(|| req.extensions().get::<NewSeed>().map(|s| s.0.clone()))
}

/// The token to put in a form's hidden `csrf` field.
#[must_use]
pub fn token_for(req: &HttpRequest) -> String {
    let state = req.app_data::<web::Data<AppState>>();
    match (state, seed(req)) {
        (Some(state), Some(seed)) => state.key.sign("csrf", &seed),
        _ => String::new(),
    }
}

fn check(req: &HttpRequest, submitted: Option<&str>) -> Result<(), PageError> {
    let cookie = req.cookie(COOKIE).ok_or(PageError::Csrf)?;
    let state = req.app_data::<web::Data<AppState>>().ok_or(PageError::Csrf)?;
    let expected = state.key.sign("csrf", cookie.value());
    match submitted {
        Some(token) if constant_time_eq(token, &expected) => Ok(()),
        _ => Err(PageError::Csrf),
    }
}

#[derive(serde::Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// A url-encoded form whose CSRF token has been checked. Repeated keys fill `Vec` fields.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let bytes = body
                .await
                .map_err(|_| PageError::BadForm("The form could not be read (is it too large?).".into()))?;
            if bytes.len() > FORM_LIMIT {
                return Err(PageError::BadForm("The form is too large.".into()));
            }
            let field: CsrfField = serde_html_form::from_bytes(&bytes).map_err(|_| PageError::Csrf)?;
            check(&req, field.csrf.as_deref())?;
            serde_html_form::from_bytes(&bytes)
                .map(CsrfForm)
                .map_err(|e| PageError::BadForm(format!("The form could not be read: {e}")))
        })
    }
}
