//! Dashboard pages (server-rendered with askama). Every form posts with a CSRF token
//! ([`super::csrf::CsrfForm`]) and re-renders with inline errors and the typed values kept.

mod account;
mod apps;
mod audit;
mod auth;
mod deliveries;
mod delivery;
mod delivery_log;
mod event_types;
mod health;
mod members;
mod overview;
mod tokens;
mod webhook_form;
mod webhooks;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::PageError;
use super::session::CurrentUser;
use crate::domain::FieldError;

/// Routes of the dashboard.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/overview", web::get().to(overview::page))
        .route("/deliveries", web::get().to(delivery_log::page))
        .route("/signup", web::get().to(auth::signup_page))
        .route("/signup", web::post().to(auth::signup))
        .route("/login", web::get().to(auth::login_page))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/invite/{secret}", web::get().to(auth::invite_page))
        .route("/invite/{secret}", web::post().to(auth::accept_invite))
        .route("/account/switch", web::post().to(auth::switch_account))
        .route("/settings", web::get().to(settings))
        .route("/settings/", web::get().to(settings))
        .route("/settings/webhooks", web::get().to(webhooks::list))
        .route("/settings/webhooks", web::post().to(webhooks::create))
        .route("/settings/webhooks/new", web::get().to(webhooks::new))
        .route("/settings/webhooks/{id}", web::get().to(webhooks::detail))
        .route("/settings/webhooks/{id}", web::post().to(webhooks::update))
        .route("/settings/webhooks/{id}/enable", web::post().to(webhooks::enable))
        .route("/settings/webhooks/{id}/disable", web::post().to(webhooks::disable))
        .route(
            "/settings/webhooks/{id}/delete",
            web::get().to(webhooks::confirm_delete),
        )
        .route("/settings/webhooks/{id}/delete", web::post().to(webhooks::delete))
        .route(
            "/settings/webhooks/{id}/secret/reveal",
            web::post().to(webhooks::reveal),
        )
        .route(
            "/settings/webhooks/{id}/secret/rotate",
            web::post().to(webhooks::rotate),
        )
        .route("/settings/webhooks/{id}/test", web::post().to(webhooks::send_test))
        .route(
            "/settings/webhooks/{id}/replay",
            web::get().to(deliveries::confirm_replay),
        )
        .route("/settings/webhooks/{id}/replay", web::post().to(deliveries::replay))
        .route("/settings/deliveries/{id}", web::get().to(delivery::page))
        .route("/settings/deliveries/{id}/retry", web::post().to(delivery::retry))
        .route("/settings/tokens", web::get().to(tokens::page))
        .route("/settings/tokens", web::post().to(tokens::create))
        .route("/settings/tokens/{id}/revoke", web::post().to(tokens::revoke))
        .route("/settings/apps", web::get().to(apps::page))
        .route("/settings/apps", web::post().to(apps::create))
        .route("/settings/apps/{id}/rename", web::post().to(apps::rename))
        .route("/settings/account", web::get().to(account::page))
        .route("/settings/account", web::post().to(account::update))
        .route("/settings/members", web::get().to(members::page))
        .route("/settings/members/invite", web::post().to(members::invite))
        .route("/settings/members/{id}/role", web::post().to(members::change_role))
        .route("/settings/members/{id}/remove", web::post().to(members::remove))
        .route(
            "/settings/invitations/{id}/revoke",
            web::post().to(members::revoke_invitation),
        )
        .route("/settings/event-types", web::get().to(event_types::page))
        .route("/settings/event-types", web::post().to(event_types::create))
        .route(
            "/settings/event-types/{id}/archive",
            web::post().to(event_types::archive),
        )
        .route(
            "/settings/event-types/{id}/restore",
            web::post().to(event_types::restore),
        )
        .route("/settings/audit-log", web::get().to(audit::page));
}

async fn home(user: Option<CurrentUser>) -> HttpResponse {
    see_other(if user.is_some() { "/overview" } else { "/login" })
}

/// `/settings` has no page of its own: its first section is webhooks.
async fn settings() -> HttpResponse {
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
/// A template that fails to render (a bug), answered as 500.
pub fn render(status: actix_web::http::StatusCode, tpl: &impl Template) -> Result<HttpResponse, PageError> {
    let html = tpl.render().map_err(|e| {
        tracing::error!(error = %e, "template failed to render");
        PageError::BadForm("The page could not be rendered.".into())
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
