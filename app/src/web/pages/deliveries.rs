//! Delivery history in the dashboard: the Deliveries tab and health header of a webhook's page,
//! the delivery page with every attempt, Retry, Replay (with a confirmation) and Send Test.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use entity::delivery::DeliveryStatus;
use entity::delivery_attempt::ErrorKind;
use entity::{delivery, delivery_attempt};

use super::auth::Empty;
use super::{Chrome, render, see_other};
use crate::domain::DomainResult;
use crate::domain::deliveries::{self, Filter, Health, Progress, TestOutcome, Window};
use crate::domain::page::{Page, PageRequest};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::format::short;
use crate::web::session::CurrentUser;

/// The badge colour of a delivery status or an attempt: green delivered, red failed, grey
/// anything still going or stopped.
fn badge(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Succeeded => "green",
        DeliveryStatus::Failed => "red",
        _ => "grey",
    }
}

/// The JSON text `s` indented for reading; other text as it is.
fn pretty(s: &str) -> String {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| s.to_owned())
}

/// `name: value` lines of stored headers.
fn header_lines(text: Option<&str>) -> String {
    text.and_then(|t| serde_json::from_str::<Vec<(String, String)>>(t).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A row of the Deliveries tab.
pub struct DeliveryRow {
    pub id: i64,
    pub status: String,
    pub badge: &'static str,
    pub event: String,
    pub trigger: String,
    pub attempts: i32,
    pub last: String,
    pub when: String,
}

fn last_outcome(status: Option<i32>, error: Option<&str>) -> String {
    match (status, error) {
        (_, Some(e)) if e != "http_status" => e.to_owned(),
        (Some(s), _) => format!("HTTP {s}"),
        _ => "—".to_owned(),
    }
}

impl From<delivery::Model> for DeliveryRow {
    fn from(d: delivery::Model) -> Self {
        Self {
            id: d.id,
            badge: badge(d.status),
            status: d.status.label().to_owned(),
            event: d.event_name.unwrap_or_else(|| format!("{} events", d.event_count)),
            trigger: d.trigger,
            attempts: d.attempts,
            last: last_outcome(d.last_status, d.last_error.as_deref()),
            when: short(d.created_at),
        }
    }
}

/// One window of the health header, formatted.
pub struct WindowView {
    pub rate: String,
    pub rate_badge: &'static str,
    pub p50: String,
    pub p95: String,
    pub failed: u64,
}

impl From<Window> for WindowView {
    fn from(w: Window) -> Self {
        let ms = |v: Option<i64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v} ms"));
        Self {
            rate: w.success_rate.map_or_else(|| "—".to_owned(), |r| format!("{r:.1}%")),
            rate_badge: match w.success_rate {
                None => "grey",
                Some(r) if r >= 99.0 => "green",
                Some(r) if r >= 90.0 => "amber",
                Some(_) => "red",
            },
            p50: ms(w.p50_ms),
            p95: ms(w.p95_ms),
            failed: w.failed,
        }
    }
}

/// The health header of a webhook's page.
pub struct HealthView {
    pub day: WindowView,
    pub week: WindowView,
    pub last_success: String,
}

impl From<Health> for HealthView {
    fn from(h: Health) -> Self {
        Self {
            day: h.day.into(),
            week: h.week.into(),
            last_success: h.last_success_at.map_or_else(|| "never".to_owned(), short),
        }
    }
}

/// The Deliveries tab's filter as typed, to keep it in the form.
#[derive(Debug, Default, Deserialize)]
pub struct FilterForm {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
}

impl FilterForm {
    /// The query string of this filter, for pagination links (`&status=…`).
    #[must_use]
    pub fn query(&self) -> String {
        let mut out = String::new();
        for (k, v) in [
            ("status", &self.status),
            ("event", &self.event),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if !v.is_empty() {
                out.push_str(&format!("&{k}={}", urlencoding(v)));
            }
        }
        out
    }
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Everything the Deliveries tab shows.
pub struct DeliveriesTab {
    pub health: HealthView,
    pub rows: Page<DeliveryRow>,
    pub filter: FilterForm,
    pub filter_error: Option<String>,
    pub statuses: [&'static str; 6],
    /// "N of M done" of the latest replay, when one started in the last 24 hours.
    pub progress: Option<(u64, u64, String)>,
}

/// Loads the Deliveries tab of webhook `id` (already known to be in the account).
///
/// # Errors
/// Database failure or `NotFound`.
pub async fn tab(
    state: &AppState,
    account_id: i64,
    id: &str,
    filter: FilterForm,
    cursor: Option<&str>,
) -> DomainResult<DeliveriesTab> {
    let health = deliveries::health(&state.db, account_id, id).await?.into();
    let (parsed, filter_error) = match Filter::parse(
        Some(&filter.status),
        Some(&filter.event),
        Some(&filter.since),
        Some(&filter.until),
    ) {
        Ok(f) => (f, None),
        Err(e) => (Filter::default(), Some(e.to_string())),
    };
    let rows = deliveries::list(&state.db, account_id, id, &parsed, PageRequest::parse(None, cursor)?)
        .await?
        .map(DeliveryRow::from);
    let day_ago = crate::db::now_ms() - 24 * 3_600_000;
    let progress = deliveries::replay_progress(&state.db, account_id, id)
        .await?
        .filter(|p: &Progress| p.started_at >= day_ago)
        .map(|p| (p.done, p.total, short(p.started_at)));
    Ok(DeliveriesTab {
        health,
        rows,
        filter,
        filter_error,
        statuses: DeliveryStatus::ALL.map(DeliveryStatus::as_str),
        progress,
    })
}

/// The result box of a Send Test.
pub struct TestResultView {
    pub delivery_id: i64,
    pub ok: bool,
    pub outcome: String,
    pub duration: String,
    pub body: String,
}

impl From<TestOutcome> for TestResultView {
    fn from(t: TestOutcome) -> Self {
        match t.attempt {
            Some(a) => Self {
                delivery_id: t.delivery.id,
                ok: a.error_kind.is_none() && a.response_status.is_some_and(|s| (200..300).contains(&s)),
                outcome: match (a.response_status, a.error_kind.map(ErrorKind::as_str)) {
                    (Some(s), _) => format!("HTTP {s}"),
                    (None, Some(k)) => format!("{k}: {}", a.error_message.unwrap_or_default()),
                    (None, None) => "no response".to_owned(),
                },
                duration: format!("{} ms", a.duration_ms),
                body: a.response_body.as_deref().map(pretty).unwrap_or_default(),
            },
            None => Self {
                delivery_id: t.delivery.id,
                ok: false,
                outcome: format!("no answer yet (delivery {})", t.delivery.status.label()),
                duration: "—".to_owned(),
                body: String::new(),
            },
        }
    }
}

/// The form of Send Test (list and detail page).
#[derive(Debug, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    pub event_name: String,
}

/// An attempt row of the delivery page.
pub struct AttemptRow {
    pub attempt: i32,
    pub when: String,
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

impl From<delivery_attempt::Model> for AttemptRow {
    fn from(a: delivery_attempt::Model) -> Self {
        let ok = a.error_kind.is_none() && a.response_status.is_some_and(|s| (200..300).contains(&s));
        Self {
            attempt: a.attempt,
            when: crate::web::format::rfc3339(a.started_at),
            duration: format!("{} ms", a.duration_ms),
            outcome: match (a.response_status, a.error_kind.map(ErrorKind::as_str)) {
                (Some(s), _) => format!("HTTP {s}"),
                (None, Some(k)) => k.to_owned(),
                (None, None) => "no response".to_owned(),
            },
            badge: if ok { "green" } else { "red" },
            trigger: a.trigger,
            error_message: a.error_message,
            request_headers: header_lines(Some(&a.request_headers)),
            request_body: a.request_body.as_deref().map(pretty).unwrap_or_default(),
            response_headers: header_lines(a.response_headers.as_deref()),
            response_body: a.response_body.as_deref().map(pretty).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "delivery.html")]
struct DeliveryPage {
    chrome: Chrome,
    id: i64,
    webhook_id: String,
    webhook_name: String,
    status: String,
    badge: &'static str,
    event: String,
    trigger: String,
    created: String,
    can_retry: bool,
    body: Option<String>,
    attempts: Vec<AttemptRow>,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct DeliveryQuery {
    retried: Option<String>,
}

/// `GET /settings/deliveries/{id}`.
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    q: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, PageError> {
    let d = deliveries::get(&state.db, user.account.id, *id).await?;
    let page = DeliveryPage {
        chrome: Chrome::new(&req, &user, "webhooks"),
        id: d.delivery.id,
        webhook_id: d.webhook.model.public_id,
        webhook_name: d.webhook.model.name,
        badge: badge(d.delivery.status),
        can_retry: !matches!(d.delivery.status, DeliveryStatus::InFlight | DeliveryStatus::Collecting)
            && d.delivery.body.is_some(),
        status: d.delivery.status.label().to_owned(),
        event: d
            .delivery
            .event_name
            .unwrap_or_else(|| format!("{} events", d.delivery.event_count)),
        trigger: d.delivery.trigger,
        created: short(d.delivery.created_at),
        body: d.delivery.body.as_deref().map(pretty),
        attempts: d.attempts.into_iter().map(AttemptRow::from).collect(),
        notice: q
            .retried
            .is_some()
            .then_some("Retry queued. Refresh to see the new attempt."),
    };
    render(StatusCode::OK, &page)
}

/// `POST /settings/deliveries/{id}/retry`.
pub async fn retry(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
    deliveries::retry(&state.db, &state.queue, &user.actor(), *id).await?;
    Ok(see_other(&format!("/settings/deliveries/{id}?retried=1")))
}

#[derive(Template)]
#[template(path = "webhook_replay.html")]
struct ReplayPage {
    chrome: Chrome,
    id: String,
    name: String,
    since: String,
    since_shown: String,
    count: u64,
}

/// `?since=` of the replay confirmation, and the confirmed form.
#[derive(Debug, Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    since: String,
}

/// `GET /settings/webhooks/{id}/replay?since=…`: how many failed deliveries would be sent.
pub async fn confirm_replay(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    q: web::Query<ReplayForm>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
    let since = deliveries::parse_time("since", &q.since)?;
    let count = deliveries::replay_count(&state.db, user.account.id, &id, since).await?;
    let w = crate::domain::webhooks::get(&state.db, user.account.id, &id).await?;
    let page = ReplayPage {
        chrome: Chrome::new(&req, &user, "webhooks"),
        id: w.model.public_id,
        name: w.model.name,
        since: q.since.clone(),
        since_shown: short(since),
        count,
    };
    render(StatusCode::OK, &page)
}

/// `POST /settings/webhooks/{id}/replay`.
pub async fn replay(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<ReplayForm>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
    let since = deliveries::parse_time("since", &form.since)?;
    deliveries::replay(&state.db, &state.queue, &user.actor(), &id, since).await?;
    Ok(see_other(&format!("/settings/webhooks/{id}?replayed=1")))
}
