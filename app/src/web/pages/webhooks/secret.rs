//! A webhook's signing secret: shown once on request, rotated with a grace period.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::detail::settings_with_errors;
use crate::domain::DomainError;
use crate::domain::webhooks;
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::flash::{self, Flash};
use crate::web::pages::auth::Empty;
use crate::web::pages::{render, see_other};
use crate::web::session::CurrentUser;

/// Checks the secret can be opened, then redirects to the webhook's page, which shows it once
/// (a one-time flash names the webhook; the secret is read again there and never travels in a
/// URL or cookie).
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn reveal(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    webhooks::reveal_secret(&state.db, &state.secrets, user.account.id, &id).await?;
    let flash = Flash::SecretRevealed {
        webhook: id.to_string(),
    };
    Ok(flash::redirect(
        &state,
        &user,
        &format!("/settings/webhooks/{id}?tab=settings"),
        &flash,
    ))
}

#[derive(Debug, Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    secret: String,
}

#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<RotateForm>,
) -> Result<HttpResponse, PageError> {
    match webhooks::rotate_secret(&state.db, &state.secrets, &user.actor(), &id, Some(&form.secret)).await {
        Ok(_) => Ok(see_other(&format!("/settings/webhooks/{id}?tab=settings&rotated=1"))),
        Err(e @ DomainError::Invalid(_)) => {
            let page = settings_with_errors(&req, &state, &user, &id, &e).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}
