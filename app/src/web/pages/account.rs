//! Settings → Account: name, HIPAA mode and the visit timeout.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Chrome, FormErrors, form_status, is_form_error, render, see_other};
use crate::domain::accounts::{self, AccountUpdate};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::format::When;
use crate::web::session::CurrentUser;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    name: String,
    hipaa_mode: bool,
    visit_timeout_minutes: String,
    slug: String,
    created: When,
    saved: bool,
    errors: FormErrors,
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

fn view(req: &HttpRequest, user: &CurrentUser) -> AccountPage {
    AccountPage {
        chrome: Chrome::new(req, user, "account"),
        name: user.account.name.clone(),
        hipaa_mode: user.account.hipaa_mode,
        visit_timeout_minutes: user.account.visit_timeout_minutes.to_string(),
        slug: user.account.slug.clone(),
        created: When::at(user.account.created_at),
        saved: false,
        errors: FormErrors::default(),
    }
}

#[tracing::instrument(skip_all)]
pub async fn page(req: HttpRequest, user: CurrentUser, q: web::Query<SavedQuery>) -> Result<HttpResponse, PageError> {
    let mut page = view(&req, &user);
    page.saved = q.saved.is_some();
    render(StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    hipaa_mode: Option<String>,
    #[serde(default)]
    visit_timeout_minutes: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let input = AccountUpdate {
        name: form.name,
        hipaa_mode: form.hipaa_mode.is_some(),
        visit_timeout_minutes: form.visit_timeout_minutes,
    };
    match accounts::update(&state.db, &user.actor(), user.role, &input).await {
        Ok(_) => Ok(see_other("/settings/account?saved=1")),
        Err(e) if is_form_error(&e) => {
            let mut page = view(&req, &user);
            page.name = input.name;
            page.hipaa_mode = input.hipaa_mode;
            if let Some(typed) = input.visit_timeout_minutes {
                page.visit_timeout_minutes = typed;
            }
            page.errors = e.field_errors().into();
            render(form_status(&e), &page)
        }
        Err(e) => Err(e.into()),
    }
}
