//! The HTTP edge of the error policy: [`DomainError`]s (and request-format problems) become a
//! status and a body exactly once, here. JSON for the API, an HTML page for the dashboard.
//! Internal errors are logged with their cause and answered with an opaque message.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::error_pages::{self, Shown};
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
        DomainError::Db(_) | DomainError::Hashing => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The message a client may see: the domain's sentence, or an opaque one for internal errors
/// (which are logged here, once, with their cause).
fn public_message(e: &DomainError) -> String {
    match e {
        DomainError::Db(cause) => {
            tracing::error!(error = %cause, "database error");
            "Something went wrong on our side; please try again.".to_owned()
        }
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
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Domain(e) => status_of(e),
            ApiError::BadBody { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
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
                    DomainError::Db(_) | DomainError::Hashing => "internal",
                };
                let errors = e.field_errors();
                let field = errors.first().map(|f| f.field.clone());
                (code, public_message(e), field, (errors.len() > 1).then_some(errors))
            }
            ApiError::BadBody { code, message, field } => (*code, message.clone(), field.clone(), None),
            ApiError::TooLarge(message) => ("payload_too_large", message.clone(), None, None),
        };
        let mut error = json!({ "code": code, "message": message });
        if let Some(field) = field {
            error["field"] = json!(field);
        }
        if let Some(details) = details {
            error["details"] = json!(details);
        }
        let mut res = HttpResponse::build(self.status_code());
        if self.status_code() == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.json(json!({ "error": error }))
    }
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
    /// A form without a valid CSRF token.
    #[error("The form was missing its security token or it did not match. Reload the page and try again.")]
    Csrf,
    /// A form body that could not be read.
    #[error("{0}")]
    BadForm(String),
    /// A query string that could not be read.
    #[error("{0}")]
    BadQuery(String),
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Domain(e) => status_of(e),
            PageError::LoginRequired => StatusCode::SEE_OTHER,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::BadForm(_) | PageError::BadQuery(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self, PageError::LoginRequired) {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login"))
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
        let mut res = HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(error_pages::anonymous(status, &shown));
        res.extensions_mut().insert(shown);
        res
    }
}
