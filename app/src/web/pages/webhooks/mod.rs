//! Settings → Webhooks: list, create/edit form, detail page with history, status toggle,
//! secret reveal/rotate, delete with confirmation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use herald_jobs::spec::EventType;

use super::audit::AuditRow;
use super::auth::Empty;
use super::deliveries::{self as delivery_pages, DeliveriesTab, FilterForm, TabQuery, TestForm, TestResultView};
use super::health::SummaryView;
use super::tokens::CursorQuery;
use super::webhook_form::{FormView, WebhookFormData};
use super::{Chrome, FormErrors, is_form_error, render, see_other};
use crate::domain::audit::{self, Filter};
use crate::domain::deliveries::Range;
use crate::domain::page::{Page, PageRequest};
use crate::domain::webhooks::{self, Secrets, Webhook};
use crate::domain::{DomainError, apps, deliveries, event_types};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::flash::{self, Flash};
use crate::web::format::When;
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

pub async fn new(req: HttpRequest, state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
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

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<WebhookFormData>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
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

#[derive(Template)]
#[template(path = "webhook_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    name: String,
    url: String,
    method: String,
    enabled: bool,
    disabled_reason: Option<String>,
    has_secret: bool,
    /// Shown once, on the page "Reveal" redirects to (see [`reveal`]).
    revealed: Option<Secrets>,
    /// The ed25519 public keys of a `standard_webhooks_v1a` webhook, always shown.
    public_keys: Option<webhooks::PublicKeys>,
    previous_until: Option<When>,
    notice: Option<&'static str>,
    tab: &'static str,
    form: FormView,
    errors: FormErrors,
    apps: Vec<(i64, String)>,
    known_events: Vec<String>,
    history: Page<AuditRow>,
    deliveries: DeliveriesTab,
    /// The result of the Send Test named by `?test=`.
    test_result: Option<TestResultView>,
    /// Why a Send Test could not be made.
    test_error: Option<String>,
    created: When,
    updated: When,
}

#[derive(Debug, Deserialize)]
pub struct DetailQuery {
    tab: Option<String>,
    cursor: Option<String>,
    created: Option<String>,
    rotated: Option<String>,
    saved: Option<String>,
    replayed: Option<String>,
    range: Option<String>,
    /// The id of a test delivery to show the result of (where Send Test redirects).
    test: Option<String>,
    #[serde(flatten)]
    filter: FilterForm,
}

async fn detail_view(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    w: Webhook,
    tab: &'static str,
    mut q: TabQuery,
) -> Result<DetailPage, PageError> {
    let (apps, known_events) = pickers(state, user.account.id).await?;
    let cursor = q.cursor.take();
    let history_cursor = if tab == "history" { cursor.as_deref() } else { None };
    if tab == "deliveries" {
        q.cursor.clone_from(&cursor);
    }
    let hook = (w.model.id, w.model.public_id.as_str());
    let deliveries = delivery_pages::tab(state, user.account.id, hook, q).await?;
    let filter = Filter {
        target_type: Some("webhook".into()),
        target_id: Some(w.model.public_id.clone()),
    };
    let history = audit::list(
        &state.db,
        user.account.id,
        &filter,
        PageRequest::parse(None, history_cursor)?,
    )
    .await?
    .try_map(AuditRow::try_from)?;
    let action = format!("/settings/webhooks/{}", w.model.public_id);
    let public_keys = webhooks::public_keys(&state.db, &state.secrets, user.account.id, &w.model.public_id).await?;
    Ok(DetailPage {
        public_keys,
        chrome: Chrome::new(req, user, "webhooks"),
        form: FormView::from_input(&w.spec.to_input(), action, false),
        id: w.model.public_id,
        name: w.model.name,
        url: w.model.url,
        method: w.model.method,
        enabled: w.model.enabled,
        disabled_reason: w.model.disabled_reason,
        has_secret: w.model.secret_sealed.is_some(),
        revealed: None,
        previous_until: w
            .model
            .previous_secret_expires_at
            .filter(|t| *t > crate::db::now_ms())
            .map(When::at),
        notice: None,
        tab,
        errors: FormErrors::default(),
        apps,
        known_events,
        history,
        deliveries,
        test_result: None,
        test_error: None,
        created: When::at(w.model.created_at),
        updated: When::at(w.model.updated_at),
    })
}

pub async fn detail(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    q: web::Query<DetailQuery>,
) -> Result<HttpResponse, PageError> {
    let q = q.into_inner();
    let w = webhooks::get(&state.db, user.account.id, &id).await?;
    let tab = match q.tab.as_deref() {
        Some("history") => "history",
        Some("settings") => "settings",
        _ => "deliveries",
    };
    let tab_query = TabQuery {
        range: Range::parse(q.range.as_deref())?,
        filter: q.filter,
        cursor: q.cursor,
    };
    let mut page = detail_view(&req, &state, &user, w, tab, tab_query).await?;
    page.notice = if q.replayed.is_some() {
        Some("Replay started. Its progress is shown above the deliveries.")
    } else if q.created.is_some() {
        Some("Webhook created. Reveal the secret below to verify signatures on your side.")
    } else if q.rotated.is_some() {
        Some("Secret rotated. The previous secret keeps signing a second signature for 24 hours.")
    } else if q.saved.is_some() {
        Some("Changes saved.")
    } else {
        None
    };
    if let Some(test) = q.test {
        let delivery_id = test.parse().map_err(|_| DomainError::NotFound)?;
        let outcome = deliveries::test_outcome(&state.db, user.account.id, &id, delivery_id).await?;
        page.test_result = Some(TestResultView::from(outcome));
    }
    if flash::read(&req, &state, &user)
        != Some(Flash::SecretRevealed {
            webhook: id.to_string(),
        })
    {
        return render(StatusCode::OK, &page);
    }
    page.revealed = Some(webhooks::reveal_secret(&state.db, &state.secrets, user.account.id, &id).await?);
    Ok(flash::shown(render(StatusCode::OK, &page)?, &state))
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<WebhookFormData>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
    let input = form.into_input();
    match webhooks::update(&state.db, &user.actor(), &id, &input).await {
        Ok(_) => Ok(see_other(&format!("/settings/webhooks/{id}?tab=settings&saved=1"))),
        Err(e) if is_form_error(&e) => {
            let mut page = settings_with_errors(&req, &state, &user, &id, &e).await?;
            page.form = FormView::from_input(&input, format!("/settings/webhooks/{id}"), false);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// The settings tab of webhook `id` with `e`'s field errors, for a form that was refused.
async fn settings_with_errors(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    e: &DomainError,
) -> Result<DetailPage, PageError> {
    let w = webhooks::get(&state.db, user.account.id, id).await?;
    let mut page = detail_view(req, state, user, w, "settings", TabQuery::default()).await?;
    page.errors = e.field_errors().into();
    Ok(page)
}

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
    user.role.require_write()?;
    webhooks::set_enabled(&state.db, &user.actor(), id, enabled).await?;
    Ok(see_other(&if back == "detail" {
        format!("/settings/webhooks/{id}?tab=settings")
    } else {
        "/settings/webhooks".to_owned()
    }))
}

pub async fn enable(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(f): CsrfForm<ToggleForm>,
) -> Result<HttpResponse, PageError> {
    toggle(&state, &user, &id, &f.back, true).await
}

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

pub async fn confirm_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
    let w = webhooks::get(&state.db, user.account.id, &id).await?;
    let page = DeletePage {
        chrome: Chrome::new(&req, &user, "webhooks"),
        id: w.model.public_id,
        name: w.model.name,
        url: w.model.url,
    };
    render(StatusCode::OK, &page)
}

pub async fn delete(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
    webhooks::delete(&state.db, &user.actor(), &id).await?;
    Ok(see_other("/settings/webhooks"))
}

/// Checks the secret can be opened, then redirects to the webhook's page, which shows it once
/// (a one-time flash names the webhook; the secret is read again there and never travels in a
/// URL or cookie).
pub async fn reveal(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
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

pub async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<RotateForm>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
    match webhooks::rotate_secret(&state.db, &state.secrets, &user.actor(), &id, Some(&form.secret)).await {
        Ok(_) => Ok(see_other(&format!("/settings/webhooks/{id}?tab=settings&rotated=1"))),
        Err(e @ DomainError::Invalid(_)) => {
            let page = settings_with_errors(&req, &state, &user, &id, &e).await?;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/webhooks/{id}/test` (from the list or the page): sends a sample event, waits
/// briefly for its first attempt, and redirects to the webhook's page with `?test=<delivery id>`,
/// which shows the result; reloading that page shows it again without sending again. A test
/// that can't be sent (a disabled webhook) is shown on the page with 422.
pub async fn send_test(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<TestForm>,
) -> Result<HttpResponse, PageError> {
    user.role.require_write()?;
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
