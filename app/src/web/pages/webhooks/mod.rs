//! Settings → Webhooks: the list and the create form here; the detail page with its tabs and
//! the edit form in [`detail`]; enable/disable and delete in [`status`]; secret reveal/rotate in
//! [`secret`]; Send Test in [`test_send`].

pub mod detail;
pub mod secret;
pub mod status;
pub mod test_send;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use entity::spec::EventType;

use super::health::SummaryView;
use super::tokens::CursorQuery;
use super::webhook_form::{FormView, WebhookFormData};
use super::{Chrome, FormErrors, is_form_error, render, see_other};
use crate::domain::page::{Page, PageRequest};
use crate::domain::webhooks::{self, Webhook};
use crate::domain::{apps, event_types};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::session::CurrentUser;

/// A row of the list.
struct ListRow {
    id: String,
    name: String,
    method: String,
    url: String,
    events: String,
    enabled: bool,
    disabled_reason: Option<String>,
    health: SummaryView,
}

/// "track: flows.*, email_opened (1 paused) · identify" — what a webhook takes, at a glance.
fn event_summary(w: &Webhook) -> String {
    let triggers = w.spec.triggers.as_slice();
    let live: Vec<String> = triggers
        .iter()
        .filter(|t| t.enabled)
        .map(|t| String::from(t.pattern.clone()))
        .collect();
    let paused = triggers.len() - live.len();
    w.spec
        .event_types
        .iter()
        .map(|t| {
            if t != EventType::Track {
                return t.as_str().to_owned();
            }
            let names = if live.iter().any(|p| p == "*") {
                "all events".to_owned()
            } else if live.is_empty() {
                "no live names".to_owned()
            } else {
                live.join(", ")
            };
            if paused > 0 {
                format!("track: {names} ({paused} paused)")
            } else {
                format!("track: {names}")
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    chrome: Chrome,
    page: Page<ListRow>,
}

#[tracing::instrument(skip_all)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<CursorQuery>,
) -> Result<HttpResponse, PageError> {
    let page = webhooks::list(
        &state.db,
        user.account.id,
        PageRequest::parse(None, q.cursor.as_deref())?,
    )
    .await?;
    let mut summaries = crate::domain::deliveries::summaries(&state.db, &page.items)
        .await?
        .into_iter();
    let page = page.map(|w| ListRow {
        health: summaries
            .next()
            .map(SummaryView::from)
            .expect("one summary per webhook"),
        events: event_summary(&w),
        id: w.model.public_id,
        name: w.model.name,
        method: w.model.method,
        url: w.model.url,
        enabled: w.model.enabled,
        disabled_reason: w.model.disabled_reason,
    });
    render(
        StatusCode::OK,
        &ListPage {
            chrome: Chrome::new(&req, &user, "webhooks"),
            page,
        },
    )
}

#[derive(Template)]
#[template(path = "webhook_new.html")]
struct NewPage {
    chrome: Chrome,
    form: FormView,
    errors: FormErrors,
    apps: Vec<(i64, String)>,
    known_events: Vec<String>,
}

async fn pickers(state: &AppState, account_id: i64) -> Result<(Vec<(i64, String)>, Vec<String>), PageError> {
    let apps = apps::all(&state.db, account_id)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let known = event_types::active_names(&state.db, account_id).await?;
    Ok((apps, known))
}

#[tracing::instrument(skip_all)]
pub async fn new(req: HttpRequest, state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, PageError> {
    let (apps, known_events) = pickers(&state, user.account.id).await?;
    let page = NewPage {
        chrome: Chrome::new(&req, &user, "webhooks"),
        form: FormView::new_webhook(),
        errors: FormErrors::default(),
        apps,
        known_events,
    };
    render(StatusCode::OK, &page)
}

#[tracing::instrument(skip_all)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<WebhookFormData>,
) -> Result<HttpResponse, PageError> {
    let input = form.into_input();
    match webhooks::create(&state.db, &state.secrets, &user.actor(), &input).await {
        Ok(created) => Ok(see_other(&format!(
            "/settings/webhooks/{}?tab=settings&created=1",
            created.webhook.model.public_id
        ))),
        Err(e) if is_form_error(&e) => {
            let (apps, known_events) = pickers(&state, user.account.id).await?;
            let page = NewPage {
                chrome: Chrome::new(&req, &user, "webhooks"),
                form: FormView::from_input(&input, "/settings/webhooks".into(), true),
                errors: e.field_errors().into(),
                apps,
                known_events,
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}
