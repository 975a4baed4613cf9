//! The dashboard's error pages: every 400/403/404/500 under the dashboard is an HTML page with
//! a way on — the settings layout (top bar and sidebar) for a signed-in person, a link home
//! otherwise. [`super::error::PageError`] renders the page without navigation (it has no
//! request); [`with_navigation`] re-renders it inside the layout when the request has a session.
//! [`configure`] makes actix's own extractor failures (an unparsable id, a bad query string)
//! and unknown paths `PageError`s too, so no dashboard route answers plain text (forms are read
//! by [`super::csrf::CsrfForm`], whose failures are `PageError`s already).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, web};
use askama::Template;

use super::error::{PageError, Shown};
use super::pages::Chrome;
use super::session::CurrentUser;
use crate::domain::DomainError;

#[derive(Template)]
#[template(path = "error_signed_in.html")]
struct SignedIn<'a> {
    chrome: Chrome,
    status: u16,
    shown: &'a Shown,
}

/// Middleware for the dashboard scope: an error page answered to a signed-in person is drawn
/// again inside the settings layout. Status and headers stay as the error set them; other
/// responses pass untouched.
///
/// # Errors
/// Whatever the inner service returns.
pub async fn with_navigation(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let Some(shown) = res.response().extensions().get::<Shown>().cloned() else {
        return Ok(res);
    };
    let (req, res) = res.into_parts();
    let Ok(user) = CurrentUser::extract(&req).await else {
        return Ok(ServiceResponse::new(req, res));
    };
    let page = SignedIn {
        chrome: Chrome::new(&req, &user, ""),
        status: res.status().as_u16(),
        shown: &shown,
    };
    match page.render() {
        Ok(html) => Ok(ServiceResponse::new(req, res.set_body(BoxBody::new(html)))),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            Ok(ServiceResponse::new(req, res))
        }
    }
}

/// Registers the dashboard's extractor error handlers: an id that does not parse names nothing
/// (404); a query string that does not parse is a bad request (400).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| PageError::Domain(DomainError::NotFound).into()))
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| PageError::BadQuery(format!("The address could not be read: {e}")).into()),
        );
}

/// The dashboard's answer to a path nothing else matched.
///
/// # Errors
/// Always: 404.
pub async fn not_found() -> Result<actix_web::HttpResponse, PageError> {
    Err(PageError::Domain(DomainError::NotFound))
}
