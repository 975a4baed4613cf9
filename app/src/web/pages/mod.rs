//! Dashboard pages (server-rendered with askama). Every form posts with a CSRF token
//! ([`super::csrf::CsrfForm`]) and re-renders with inline errors and the typed values kept.
//! Their routes, and the role each needs, are in [`super::routes`].

pub mod account;
pub mod apps;
pub mod audit;
pub mod auth;
pub mod deliveries;
pub mod delivery;
pub mod delivery_log;
pub mod event_types;
mod health;
pub mod members;
pub mod overview;
pub mod security;
pub mod tokens;
mod webhook_form;
pub mod webhooks;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::error::PageError;
use super::session::CurrentUser;
use crate::domain::FieldError;
use crate::domain::roles::RoleRules;

/// `/`: the overview when signed in, the login otherwise.
#[tracing::instrument(skip_all)]
pub async fn home(user: Option<CurrentUser>) -> HttpResponse {
    see_other(if user.is_some() { "/overview" } else { "/login" })
}

/// `/settings` has no page of its own: its first section is webhooks.
#[tracing::instrument(skip_all)]
pub async fn settings() -> HttpResponse {
    see_other("/settings/webhooks")
}

/// The layout's data: who is logged in, in which account, and the CSRF token for its forms.
pub struct Chrome {
    pub csrf: String,
    pub email: String,
    pub account_id: i64,
    pub account_name: String,
    pub role: &'static str,
    pub can_write: bool,
    pub accounts: Vec<(i64, String)>,
    /// Which sidebar entry is highlighted.
    pub section: &'static str,
}

impl Chrome {
    /// Builds the layout data for `section`.
    #[must_use]
    pub fn new(req: &HttpRequest, user: &CurrentUser, section: &'static str) -> Self {
        Self {
            csrf: super::csrf::token_for(req),
            email: user.user.email.clone(),
            account_id: user.account.id,
            account_name: user.account.name.clone(),
            role: user.role.as_str(),
            can_write: user.role.require_write().is_ok(),
            accounts: user.accounts.iter().map(|(a, _)| (a.id, a.name.clone())).collect(),
            section,
        }
    }
}

/// Field errors for inline display.
#[derive(Debug, Default)]
pub struct FormErrors(Vec<FieldError>);

impl FormErrors {
    /// The message for `field`, if it has one.
    #[must_use]
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for field `field` of row `index` of list `list` (`headers[2].name`).
    #[must_use]
    pub fn row(&self, list: &str, index: &usize, field: &str) -> Option<&str> {
        self.get(&format!("{list}[{index}].{field}"))
    }

    /// Messages of the rows of a list of plain values (`properties[3]`).
    #[must_use]
    pub fn rows(&self, list: &str) -> Vec<&str> {
        let prefix = format!("{list}[");
        self.0
            .iter()
            .filter(|e| e.field.starts_with(&prefix))
            .map(|e| e.message.as_str())
            .collect()
    }

    /// Whether any row of `list` has an error.
    #[must_use]
    pub fn any_row(&self, list: &str) -> bool {
        !self.rows(list).is_empty()
    }
}

impl From<Vec<FieldError>> for FormErrors {
    fn from(v: Vec<FieldError>) -> Self {
        Self(v)
    }
}

/// Renders a template with a status (askama's responder always answers 200).
///
/// # Errors
/// A template that fails to render (a bug), logged here and answered as 500.
pub fn render(status: actix_web::http::StatusCode, tpl: &impl Template) -> Result<HttpResponse, PageError> {
    let html = tpl.render().map_err(|e| {
        tracing::error!(error = %e, "template failed to render");
        PageError::Render
    })?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// `303 See Other` to `location` (after a successful form post).
#[must_use]
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `303 See Other` that also sets (or removes) a cookie: login and logout.
#[must_use]
pub fn redirect_with_cookie(location: &str, cookie: actix_web::cookie::Cookie<'static>) -> HttpResponse {
    HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Status for a form re-rendered with errors: 422, or 409 for a conflict.
#[must_use]
pub fn form_status(e: &crate::domain::DomainError) -> actix_web::http::StatusCode {
    match e {
        crate::domain::DomainError::Conflict(_) => actix_web::http::StatusCode::CONFLICT,
        _ => actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Whether a domain error belongs inline on the form (field errors) rather than on an error page.
#[must_use]
pub fn is_form_error(e: &crate::domain::DomainError) -> bool {
    !e.field_errors().is_empty()
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;
    use askama::Template;

    /// A value whose display fails, as a template bug would.
    struct Failing;

    impl std::fmt::Display for Failing {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            Err(std::fmt::Error)
        }
    }

    #[derive(Template)]
    #[template(source = "<p>{{ value }}</p>", ext = "html")]
    struct Broken {
        value: Failing,
    }

    #[test]
    fn a_template_that_fails_to_render_answers_500_not_400() {
        let err = super::render(StatusCode::OK, &Broken { value: Failing }).unwrap_err();
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
