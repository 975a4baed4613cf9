//! Delivery lists in the dashboard: the rows and filters shared by a webhook's Deliveries tab and
//! the account-wide log, the tab itself (with the webhook's health and chart), the Send Test
//! result, and Replay (with a confirmation).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use entity::delivery_attempt::ErrorKind;

use super::health::HealthView;
use super::{Chrome, render, see_other};
use crate::domain::DomainResult;
use crate::domain::deliveries::{self, Filter, Progress, Range, RawFilter, Row, Scope, Stage, TestOutcome};
use crate::domain::page::{Page, PageRequest};
use crate::web::AppState;
use crate::web::chart::ChartView;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::format::When;
use crate::web::session::CurrentUser;

/// The badge colour of a stage: green delivered, red failed, amber retrying, grey the rest.
pub fn badge(stage: Stage) -> &'static str {
    match stage {
        Stage::Succeeded => "green",
        Stage::Failed => "red",
        Stage::Retrying => "amber",
        _ => "grey",
    }
}

/// The JSON text `s` indented for reading; other text as it is.
pub fn pretty(s: &str) -> String {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| s.to_owned())
}

/// `HTTP 500`, `timeout`, or `—` before any attempt.
pub fn last_outcome(status: Option<i32>, error: Option<&str>) -> String {
    match (status, error) {
        (_, Some(e)) if e != "http_status" => e.to_owned(),
        (Some(s), _) => format!("HTTP {s}"),
        _ => "—".to_owned(),
    }
}

/// Where a delivery stands, as a badge and (for a retrying one) its next attempt.
pub struct StageView {
    pub label: &'static str,
    pub badge: &'static str,
    /// "attempt 3 of 8", for a retrying delivery.
    pub next_attempt: Option<String>,
    /// When that attempt is due.
    pub next_at: Option<When>,
}

impl StageView {
    /// `schedule_len`: how many attempts the retry schedule allows.
    #[must_use]
    pub fn new(d: &entity::delivery::Model, schedule_len: usize) -> Self {
        let stage = Stage::of(d);
        let retrying = stage == Stage::Retrying;
        Self {
            label: stage.label(),
            badge: badge(stage),
            next_attempt: retrying.then(|| deliveries::next_attempt(d, schedule_len)),
            next_at: retrying.then(|| When::at(d.next_attempt_at)),
        }
    }
}

/// A row of a delivery list.
pub struct DeliveryRow {
    pub id: i64,
    pub stage: StageView,
    pub event: String,
    pub webhook_id: String,
    pub webhook_name: String,
    pub trigger: String,
    pub attempts: i32,
    pub last: String,
    pub duration: String,
    pub when: When,
}

impl DeliveryRow {
    #[must_use]
    pub fn new(r: Row, schedule_len: usize) -> Self {
        let d = r.delivery;
        Self {
            id: d.id,
            stage: StageView::new(&d, schedule_len),
            last: last_outcome(d.last_status, d.last_error.as_deref()),
            event: d.event_name.unwrap_or_else(|| format!("{} events", d.event_count)),
            webhook_id: r.webhook_id,
            webhook_name: r.webhook_name,
            trigger: d.trigger,
            attempts: d.attempts,
            duration: r.duration_ms.map_or_else(|| "—".to_owned(), |ms| format!("{ms} ms")),
            when: When::at(d.created_at),
        }
    }
}

/// A delivery list's filter as typed, to keep it in the form.
#[derive(Debug, Default, Deserialize)]
pub struct FilterForm {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub webhook: String,
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
}

impl FilterForm {
    fn fields(&self) -> [(&'static str, &str); 7] {
        [
            ("status", &self.status),
            ("webhook", &self.webhook),
            ("event", &self.event),
            ("user", &self.user),
            ("message", &self.message),
            ("since", &self.since),
            ("until", &self.until),
        ]
    }

    /// The query string of this filter, for pagination links (`&status=…`).
    #[must_use]
    pub fn query(&self) -> String {
        self.fields()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("&{k}={}", urlencoding(v)))
            .collect()
    }

    /// The filter, or the message saying which fields are wrong (the list is then unfiltered).
    #[must_use]
    pub fn parse(&self) -> (Filter, Option<String>) {
        let raw = RawFilter {
            status: Some(&self.status),
            webhook: Some(&self.webhook),
            event: Some(&self.event),
            user: Some(&self.user),
            message: Some(&self.message),
            since: Some(&self.since),
            until: Some(&self.until),
        };
        match Filter::parse(raw) {
            Ok(f) => (f, None),
            Err(e) => (
                Filter::default(),
                Some(
                    e.field_errors()
                        .into_iter()
                        .map(|f| f.message)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            ),
        }
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

/// The stages a filter offers.
#[must_use]
pub fn stage_names() -> [&'static str; 7] {
    Stage::ALL.map(Stage::as_str)
}

/// Everything the Deliveries tab shows.
pub struct DeliveriesTab {
    pub health: HealthView,
    pub chart: ChartView,
    pub rows: Page<DeliveryRow>,
    pub filter: FilterForm,
    pub filter_error: Option<String>,
    pub statuses: [&'static str; 7],
    /// "N of M done" of the latest replay, when one started in the last 24 hours.
    pub progress: Option<(u64, u64, When)>,
    /// A replay started in the last minutes is still going: the page refreshes itself.
    pub replay_running: bool,
}

/// How long after a replay starts its page keeps refreshing itself (replayed deliveries that
/// fail again wait hours for their retries; nobody should watch a page reload that long).
const REFRESH_FOR_MS: i64 = 5 * 60_000;

/// What the Deliveries tab was asked for: the filter, the page and the chart's range.
#[derive(Debug, Default)]
pub struct TabQuery {
    pub filter: FilterForm,
    pub cursor: Option<String>,
    pub range: Range,
}

/// Loads the Deliveries tab of webhook `hook` (row id, public id; already known to be in the
/// account).
///
/// # Errors
/// Database failure or `NotFound`.
pub async fn tab(state: &AppState, account_id: i64, hook: (i64, &str), q: TabQuery) -> DomainResult<DeliveriesTab> {
    let (row_id, id) = hook;
    let TabQuery { filter, cursor, range } = q;
    let cursor = cursor.as_deref();
    let health = deliveries::health(&state.db, account_id, id).await?.into();
    let chart = ChartView::new(
        &deliveries::series(&state.db, Scope::Webhook(row_id), range).await?,
        range,
    );
    let (parsed, filter_error) = filter.parse();
    let schedule = state.queue.config().retry_schedule.len();
    let rows = deliveries::list(&state.db, account_id, id, &parsed, PageRequest::parse(None, cursor)?)
        .await?
        .map(|r| DeliveryRow::new(r, schedule));
    let now = crate::timestamps::now_ms();
    let latest = deliveries::replay_progress(&state.db, account_id, id)
        .await?
        .filter(|p: &Progress| p.started_at >= now - 24 * 3_600_000);
    let replay_running = latest.is_some_and(|p| p.done < p.total && p.started_at >= now - REFRESH_FOR_MS);
    let progress = latest.map(|p| (p.done, p.total, When::at(p.started_at)));
    Ok(DeliveriesTab {
        health,
        chart,
        rows,
        filter,
        filter_error,
        statuses: stage_names(),
        progress,
        replay_running,
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

#[derive(Template)]
#[template(path = "webhook_replay.html")]
struct ReplayPage {
    chrome: Chrome,
    id: String,
    name: String,
    since: String,
    since_shown: When,
    include_retrying: bool,
    count: u64,
}

/// `?since=&retrying=` of the replay confirmation, and the confirmed form.
#[derive(Debug, Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    since: String,
    /// Present (any value) to send deliveries waiting for a retry now as well.
    #[serde(default)]
    retrying: Option<String>,
}

/// `GET /settings/webhooks/{id}/replay?since=…`: how many failed deliveries would be sent.
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn confirm_replay(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    q: web::Query<ReplayForm>,
) -> Result<HttpResponse, PageError> {
    let since = deliveries::parse_time("since", &q.since)?;
    let include_retrying = q.retrying.is_some();
    let count = deliveries::replay_count(&state.db, user.account.id, &id, since, include_retrying).await?;
    let w = crate::domain::webhooks::get(&state.db, user.account.id, &id).await?;
    let page = ReplayPage {
        chrome: Chrome::new(&req, &user, "webhooks"),
        id: w.model.public_id,
        name: w.model.name,
        since: q.since.clone(),
        since_shown: When::at(since),
        include_retrying,
        count,
    };
    render(StatusCode::OK, &page)
}

/// `POST /settings/webhooks/{id}/replay`.
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn replay(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<ReplayForm>,
) -> Result<HttpResponse, PageError> {
    let since = deliveries::parse_time("since", &form.since)?;
    deliveries::replay(
        &state.db,
        &state.queue,
        &user.actor(),
        &id,
        since,
        form.retrying.is_some(),
    )
    .await?;
    Ok(see_other(&format!("/settings/webhooks/{id}?replayed=1")))
}
