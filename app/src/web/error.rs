//! The HTTP edge of the error policy: [`DomainError`]s (and request-format problems) become a
//! status and a body exactly once, here. JSON for the API, an HTML page for the dashboard.
//! Internal errors are logged with their cause and answered with an opaque message.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde_json::json;

use crate::db::fault::{self, unavailable};
use crate::domain::DomainError;

/// The status for each kind of domain error.
fn status_of(e: &DomainError) -> StatusCode {
    match e {
        DomainError::Invalid(_) => StatusCode::BAD_REQUEST,
        DomainError::Conflict(_) => StatusCode::CONFLICT,
        DomainError::NotFound => StatusCode::NOT_FOUND,
        DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
        DomainError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        DomainError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        DomainError::Db(e) if unavailable(e).is_some() => StatusCode::SERVICE_UNAVAILABLE,
        DomainError::Db(_) | DomainError::Hashing => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `Retry-After` on a 503 (the database is unavailable; see [`fault`]).
fn retry_after(res: &mut actix_web::HttpResponseBuilder, status: StatusCode) {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.insert_header((header::RETRY_AFTER, fault::RETRY_AFTER_SECS.to_string()));
    }
}

/// The message a client may see: the domain's sentence, or an opaque one for internal errors
/// (which are logged here, once, with their cause).
fn public_message(e: &DomainError) -> String {
    match e {
        DomainError::Db(cause) => match unavailable(cause) {
            Some(why) => {
                tracing::warn!(error = %cause, "database unavailable");
                why.message().to_owned()
            }
            None => {
                tracing::error!(error = %cause, "database error");
                "Something went wrong on our side; please try again.".to_owned()
            }
        },
        DomainError::Hashing => {
            tracing::error!("password hashing failed");
            "Something went wrong on our side; please try again.".to_owned()
        }
        DomainError::NotFound => "Not found.".to_owned(),
        other => other.to_string(),
    }
}

/// An error answered as `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The body could not be read as the expected JSON.
    #[error("{message}")]
    BadBody {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// The body exceeds the route's size limit.
    #[error("{0}")]
    TooLarge(String),
    /// The body arrived too slowly (`web::client_limits`).
    #[error("{0}")]
    TooSlow(String),
    /// The account sent more events per second than its quota: 429 with `Retry-After`.
    #[error("This account is sending more events per second than its quota; retry after {} s.", retry_after.as_secs())]
    OverQuota { retry_after: std::time::Duration },
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Domain(e) => status_of(e),
            ApiError::BadBody { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::OverQuota { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (code, message, field, details) = match self {
            ApiError::Domain(e) => {
                let code = match e {
                    DomainError::Invalid(_) => "invalid_field",
                    DomainError::Conflict(_) => "conflict",
                    DomainError::NotFound => "not_found",
                    DomainError::Forbidden(_) => "forbidden",
                    DomainError::Unauthorized(_) => "unauthorized",
                    DomainError::RateLimited(_) => "rate_limited",
                    DomainError::Db(e) if unavailable(e).is_some() => "unavailable",
                    DomainError::Db(_) | DomainError::Hashing => "internal",
                };
                let errors = e.field_errors();
                let field = errors.first().map(|f| f.field.clone());
                (code, public_message(e), field, (errors.len() > 1).then_some(errors))
            }
            ApiError::BadBody { code, message, field } => (*code, message.clone(), field.clone(), None),
            ApiError::TooLarge(message) => ("payload_too_large", message.clone(), None, None),
            ApiError::TooSlow(message) => ("request_timeout", message.clone(), None, None),
            ApiError::OverQuota { .. } => ("over_quota", self.to_string(), None, None),
        };
        let mut error = json!({ "code": code, "message": message });
        if let Some(field) = field {
            error["field"] = json!(field);
        }
        if let Some(details) = details {
            error["details"] = json!(details);
        }
        let mut res = HttpResponse::build(self.status_code());
        retry_after(&mut res, self.status_code());
        if self.status_code() == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let ApiError::OverQuota { retry_after } = self {
            res.insert_header((header::RETRY_AFTER, retry_after.as_secs().to_string()));
        }
        res.json(json!({ "error": error }))
    }
}

/// What an error page says; [`PageError`] attaches it to its response for
/// [`super::error_pages::with_navigation`].
#[derive(Clone, Debug)]
pub struct Shown {
    pub title: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct Anonymous<'a> {
    status: u16,
    shown: &'a Shown,
}

/// The page without navigation beyond a link home (or the message alone, should the template
/// fail).
#[must_use]
fn anonymous(status: StatusCode, shown: &Shown) -> String {
    Anonymous {
        status: status.as_u16(),
        shown,
    }
    .render()
    .unwrap_or_else(|_| shown.message.clone())
}

/// An error answered as an HTML page (or, for a missing login, a redirect to `/login`); see
/// [`super::error_pages`] for how the page gets its navigation.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// No valid session: send the browser to the login page.
    #[error("login required")]
    LoginRequired,
    /// The password was right; the two-factor code is still to come.
    #[error("two-factor code required")]
    SecondFactorRequired,
    /// The account requires two-factor and this member has not set it up: to Settings → Security.
    #[error("two-factor setup required")]
    TwoFactorSetupRequired,
    /// A form without a valid CSRF token.
    #[error("The form was missing its security token or it did not match. Reload the page and try again.")]
    Csrf,
    /// A form body that could not be read.
    #[error("{0}")]
    BadForm(String),
    /// A query string that could not be read.
    #[error("{0}")]
    BadQuery(String),
    /// A template failed to render: a bug on our side (logged where it happened), never the
    /// request's fault.
    #[error("Something went wrong on our side; please try again.")]
    Render,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Domain(e) => status_of(e),
            PageError::LoginRequired | PageError::SecondFactorRequired | PageError::TwoFactorSetupRequired => {
                StatusCode::SEE_OTHER
            }
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::BadForm(_) | PageError::BadQuery(_) => StatusCode::BAD_REQUEST,
            PageError::Render => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let redirect = match self {
            PageError::LoginRequired => Some("/login"),
            PageError::SecondFactorRequired => Some("/login/two-factor"),
            PageError::TwoFactorSetupRequired => Some("/settings/security?setup=required"),
            _ => None,
        };
        if let Some(location) = redirect {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let status = self.status_code();
        let message = match self {
            PageError::Domain(DomainError::NotFound) => {
                "There is nothing at this address: it may have been deleted, or the link is mistyped.".to_owned()
            }
            PageError::Domain(e) => public_message(e),
            other => other.to_string(),
        };
        let shown = Shown {
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message,
        };
        let mut res = HttpResponse::build(status);
        retry_after(&mut res, status);
        let mut res = res
            .content_type("text/html; charset=utf-8")
            .body(anonymous(status, &shown));
        res.extensions_mut().insert(shown);
        res
    }
}
