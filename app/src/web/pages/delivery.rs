//! The delivery page (every attempt with its request and response, the frozen body) and its
//! Retry / Resend. After a retry the page refreshes itself until the new attempt has settled.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use entity::delivery_attempt::{self, ErrorKind};

use super::auth::Empty;
use super::deliveries::{StageView, pretty};
use super::{Chrome, render, see_other};
use crate::domain::deliveries::{self, Stage};
use crate::domain::{DomainError, stored_json};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::format::When;
use crate::web::session::CurrentUser;

/// `name: value` lines of stored headers.
fn header_lines(column: &str, row_id: i64, text: Option<&str>) -> Result<String, DomainError> {
    Ok(stored_json::parse_opt::<Vec<(String, String)>>(column, row_id, text)?
        .unwrap_or_default()
        .into_iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// An attempt row of the delivery page.
pub struct AttemptRow {
    pub attempt: i32,
    pub when: When,
    pub duration: String,
    pub outcome: String,
    pub badge: &'static str,
    pub trigger: String,
    pub error_message: Option<String>,
    pub request_headers: String,
    pub request_body: String,
    pub response_headers: String,
    pub response_body: String,
}

impl TryFrom<delivery_attempt::Model> for AttemptRow {
    type Error = DomainError;

    fn try_from(a: delivery_attempt::Model) -> Result<Self, DomainError> {
        let ok = a.error_kind.is_none() && a.response_status.is_some_and(|s| (200..300).contains(&s));
        Ok(Self {
            attempt: a.attempt,
            when: When::at(a.started_at),
            duration: format!("{} ms", a.duration_ms),
            outcome: match (a.response_status, a.error_kind.map(ErrorKind::as_str)) {
                (Some(s), _) => format!("HTTP {s}"),
                (None, Some(k)) => k.to_owned(),
                (None, None) => "no response".to_owned(),
            },
            badge: if ok { "green" } else { "red" },
            trigger: a.trigger,
            error_message: a.error_message,
            request_headers: header_lines("delivery_attempts.request_headers", a.id, Some(&a.request_headers))?,
            request_body: a.request_body.as_deref().map(pretty).unwrap_or_default(),
            response_headers: header_lines(
                "delivery_attempts.response_headers",
                a.id,
                a.response_headers.as_deref(),
            )?,
            response_body: a.response_body.as_deref().map(pretty).unwrap_or_default(),
        })
    }
}

#[derive(Template)]
#[template(path = "delivery.html")]
struct DeliveryPage {
    chrome: Chrome,
    id: i64,
    webhook_id: String,
    webhook_name: String,
    stage: StageView,
    event: String,
    trigger: String,
    created: When,
    /// "Resend" for a delivered one, "Retry now" otherwise; `None` while it cannot be sent.
    send_again: Option<&'static str>,
    body: Option<String>,
    attempts: Vec<AttemptRow>,
    notice: Option<&'static str>,
    /// Reload in a few seconds: a retry was asked for and has not settled yet.
    refresh: bool,
}

#[derive(Debug, Deserialize)]
pub struct DeliveryQuery {
    retried: Option<String>,
}

/// `GET /settings/deliveries/{id}`.
#[tracing::instrument(skip_all, fields(delivery.id = *id))]
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    q: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, PageError> {
    let d = deliveries::get(&state.db, user.account.id, *id).await?;
    let stage = Stage::of(&d.delivery);
    let retried = q.retried.is_some();
    let send_again = match stage {
        _ if d.delivery.body.is_none() => None,
        Stage::InFlight | Stage::Collecting => None,
        Stage::Succeeded => Some("Resend"),
        _ => Some("Retry now"),
    };
    let page = DeliveryPage {
        chrome: Chrome::new(&req, &user, "deliveries"),
        id: d.delivery.id,
        webhook_id: d.webhook.model.public_id,
        webhook_name: d.webhook.model.name,
        stage: StageView::new(&d.delivery, state.queue.config().retry_schedule.len()),
        send_again,
        refresh: retried && stage.is_moving(),
        event: d
            .delivery
            .event_name
            .unwrap_or_else(|| format!("{} events", d.delivery.event_count)),
        trigger: d.delivery.trigger,
        created: When::at(d.delivery.created_at),
        body: d.delivery.body.as_deref().map(pretty),
        attempts: d
            .attempts
            .into_iter()
            .map(AttemptRow::try_from)
            .collect::<Result<_, _>>()?,
        notice: retried.then_some(if stage.is_moving() {
            "Sent again: waiting for the new attempt (this page refreshes by itself)."
        } else {
            "Sent again: the new attempt is below."
        }),
    };
    render(StatusCode::OK, &page)
}

/// `POST /settings/deliveries/{id}/retry`.
#[tracing::instrument(skip_all, fields(delivery.id = *id))]
pub async fn retry(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    deliveries::retry(&state.db, &state.queue, &user.actor(), *id).await?;
    Ok(see_other(&format!("/settings/deliveries/{id}?retried=1")))
}
