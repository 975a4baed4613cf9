//! `/overview`, the landing page: the account's attempts per hour (24 h or 7 d), what waits for a
//! retry, and its webhooks with their health, failing first.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::health::SummaryView;
use super::{Chrome, render};
use crate::domain::deliveries::{self, Range, State};
use crate::web::AppState;
use crate::web::chart::ChartView;
use crate::web::error::PageError;
use crate::web::session::CurrentUser;

/// A webhook row of the overview.
struct WebhookRow {
    id: String,
    name: String,
    url: String,
    health: SummaryView,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    chart: ChartView,
    range: &'static str,
    retrying: u64,
    failing: usize,
    webhooks: Vec<WebhookRow>,
    more_webhooks: bool,
}

#[derive(Debug, Deserialize)]
pub struct OverviewQuery {
    range: Option<String>,
}

/// `GET /overview`.
#[tracing::instrument(skip_all)]
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<OverviewQuery>,
) -> Result<HttpResponse, PageError> {
    let range = Range::parse(q.range.as_deref())?;
    let o = deliveries::overview(&state.db, user.account.id, range).await?;
    let failing = o
        .webhooks
        .iter()
        .filter(|(_, s)| matches!(s.state, State::Failing { .. }))
        .count();
    let webhooks: Vec<WebhookRow> = o
        .webhooks
        .into_iter()
        .map(|(w, s)| WebhookRow {
            id: w.model.public_id,
            name: w.model.name,
            url: w.model.url,
            health: s.into(),
        })
        .collect();
    let page = OverviewPage {
        chrome: Chrome::new(&req, &user, "overview"),
        chart: ChartView::new(&o.series, range),
        range: range.as_str(),
        retrying: o.retrying,
        failing,
        webhooks,
        more_webhooks: o.more_webhooks,
    };
    render(StatusCode::OK, &page)
}
