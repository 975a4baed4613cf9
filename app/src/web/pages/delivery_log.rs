//! `/deliveries`: every delivery of the account across its webhooks, newest first, filtered by
//! status, webhook, event name prefix, user id, message id and time; older and newer pages.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::deliveries::{DeliveryRow, FilterForm, stage_names};
use super::{Chrome, render};
use crate::domain::deliveries;
use crate::domain::page::{Page, PageRequest};
use crate::domain::webhooks;
use crate::web::AppState;
use crate::web::error::PageError;
use crate::web::session::CurrentUser;

#[derive(Template)]
#[template(path = "deliveries.html")]
struct LogPage {
    chrome: Chrome,
    rows: Page<DeliveryRow>,
    filter: FilterForm,
    filter_error: Option<String>,
    statuses: [&'static str; 7],
    /// `(public id, name)` of the account's webhooks, for the webhook filter.
    webhooks: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    cursor: Option<String>,
    #[serde(flatten)]
    filter: FilterForm,
}

/// `GET /deliveries`.
#[tracing::instrument(skip_all)]
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<LogQuery>,
) -> Result<HttpResponse, PageError> {
    let q = q.into_inner();
    let (filter, mut filter_error) = q.filter.parse();
    let request = PageRequest::parse(None, q.cursor.as_deref())?;
    let schedule = state.queue.config().retry_schedule.len();
    let rows = match deliveries::log(&state.db, user.account.id, &filter, request).await {
        Ok(rows) => rows,
        Err(e) if super::is_form_error(&e) => {
            filter_error = Some(e.to_string());
            deliveries::log(&state.db, user.account.id, &deliveries::Filter::default(), request).await?
        }
        Err(e) => return Err(e.into()),
    };
    let webhooks = webhooks::list(&state.db, user.account.id, PageRequest::parse(Some("200"), None)?)
        .await?
        .items
        .into_iter()
        .map(|w| (w.model.public_id, w.model.name))
        .collect();
    let page = LogPage {
        chrome: Chrome::new(&req, &user, "deliveries"),
        rows: rows.map(|r| DeliveryRow::new(r, schedule)),
        filter: q.filter,
        filter_error,
        statuses: stage_names(),
        webhooks,
    };
    render(StatusCode::OK, &page)
}
