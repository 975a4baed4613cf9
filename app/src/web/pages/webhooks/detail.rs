//! A webhook's page: its deliveries, history and settings tabs, and the settings form's post.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::pickers;
use crate::domain::audit::{self, Filter};
use crate::domain::deliveries::Range;
use crate::domain::page::{Page, PageRequest};
use crate::domain::webhooks::{self, Secrets, Webhook};
use crate::domain::{DomainError, deliveries};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::flash::{self, Flash};
use crate::web::format::When;
use crate::web::pages::audit::AuditRow;
use crate::web::pages::deliveries::{self as delivery_pages, DeliveriesTab, FilterForm, TabQuery, TestResultView};
use crate::web::pages::webhook_form::{FormView, WebhookFormData};
use crate::web::pages::{Chrome, FormErrors, is_form_error, render, see_other};
use crate::web::session::CurrentUser;

#[derive(Template)]
#[template(path = "webhook_detail.html")]
pub(super) struct DetailPage {
    chrome: Chrome,
    id: String,
    name: String,
    url: String,
    method: String,
    enabled: bool,
    disabled_reason: Option<String>,
    has_secret: bool,
    /// Shown once, on the page "Reveal" redirects to (see [`super::secret::reveal`]).
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
    pub(super) test_error: Option<String>,
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

pub(super) async fn detail_view(
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
            .filter(|t| *t > crate::timestamps::now_ms())
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

#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn page(
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

#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<WebhookFormData>,
) -> Result<HttpResponse, PageError> {
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
pub(super) async fn settings_with_errors(
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
