//! Turning a webhook on and off, and deleting it after a confirmation page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::webhooks;
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::pages::auth::Empty;
use crate::web::pages::{Chrome, render, see_other};
use crate::web::session::CurrentUser;

/// Where a toggle returns to: the list or the webhook's page (only these two, never a URL
/// from the form).
#[derive(Debug, Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    back: String,
}

async fn toggle(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    back: &str,
    enabled: bool,
) -> Result<HttpResponse, PageError> {
    webhooks::set_enabled(&state.db, &user.actor(), id, enabled).await?;
    Ok(see_other(&if back == "detail" {
        format!("/settings/webhooks/{id}?tab=settings")
    } else {
        "/settings/webhooks".to_owned()
    }))
}

#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn enable(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(f): CsrfForm<ToggleForm>,
) -> Result<HttpResponse, PageError> {
    toggle(&state, &user, &id, &f.back, true).await
}

#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn disable(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(f): CsrfForm<ToggleForm>,
) -> Result<HttpResponse, PageError> {
    toggle(&state, &user, &id, &f.back, false).await
}

#[derive(Template)]
#[template(path = "webhook_delete.html")]
struct DeletePage {
    chrome: Chrome,
    id: String,
    name: String,
    url: String,
}

#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn confirm_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let w = webhooks::get(&state.db, user.account.id, &id).await?;
    let page = DeletePage {
        chrome: Chrome::new(&req, &user, "webhooks"),
        id: w.model.public_id,
        name: w.model.name,
        url: w.model.url,
    };
    render(StatusCode::OK, &page)
}

#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn delete(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    webhooks::delete(&state.db, &user.actor(), &id).await?;
    Ok(see_other("/settings/webhooks"))
}
