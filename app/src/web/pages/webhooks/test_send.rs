//! Send Test: a sample event to one webhook, and its first attempt shown on the webhook's page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::detail::detail_view;
use crate::domain::{DomainError, deliveries, webhooks};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::pages::deliveries::{TabQuery, TestForm};
use crate::web::pages::render;
use crate::web::pages::see_other;
use crate::web::session::CurrentUser;

/// `POST /settings/webhooks/{id}/test` (from the list or the page): sends a sample event, waits
/// briefly for its first attempt, and redirects to the webhook's page with `?test=<delivery id>`,
/// which shows the result; reloading that page shows it again without sending again. A test
/// that can't be sent (a disabled webhook) is shown on the page with 422.
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn send(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<TestForm>,
) -> Result<HttpResponse, PageError> {
    let sent = deliveries::send_test(
        &state.db,
        &state.queue,
        user.account.id,
        &id,
        Some(form.event_name.as_str()),
    )
    .await;
    match sent {
        Ok(outcome) => Ok(see_other(&format!(
            "/settings/webhooks/{id}?test={}",
            outcome.delivery.id
        ))),
        Err(e @ DomainError::Invalid(_)) => {
            let w = webhooks::get(&state.db, user.account.id, &id).await?;
            let mut page = detail_view(&req, &state, &user, w, "deliveries", TabQuery::default()).await?;
            page.test_error = Some(e.to_string());
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}
