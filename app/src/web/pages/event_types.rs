//! Settings → Event types.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::Empty;
use super::tokens::CursorQuery;
use super::{Chrome, FormErrors, form_status, is_form_error, render, see_other};
use crate::domain::event_types;
use crate::domain::page::{Page, PageRequest};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::format::When;
use crate::web::session::CurrentUser;

struct Row {
    id: i64,
    name: String,
    description: String,
    archived: bool,
    source: String,
    created: When,
}

#[derive(Template)]
#[template(path = "event_types.html")]
struct EventTypesPage {
    chrome: Chrome,
    page: Page<Row>,
    name: String,
    description: String,
    errors: FormErrors,
}

async fn view(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    cursor: Option<&str>,
) -> Result<EventTypesPage, PageError> {
    let page = event_types::list(&state.db, user.account.id, PageRequest::parse(None, cursor)?).await?;
    Ok(EventTypesPage {
        chrome: Chrome::new(req, user, "event-types"),
        page: page.map(|e| Row {
            id: e.id,
            name: e.name,
            description: e.description,
            archived: e.archived,
            source: e.source,
            created: When::at(e.created_at),
        }),
        name: String::new(),
        description: String::new(),
        errors: FormErrors::default(),
    })
}

#[tracing::instrument(skip_all)]
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<CursorQuery>,
) -> Result<HttpResponse, PageError> {
    render(StatusCode::OK, &view(&req, &state, &user, q.cursor.as_deref()).await?)
}

#[derive(Debug, Deserialize)]
pub struct EventTypeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

#[tracing::instrument(skip_all)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<EventTypeForm>,
) -> Result<HttpResponse, PageError> {
    match event_types::create(&state.db, &user.actor(), &form.name, &form.description, "dashboard").await {
        Ok(_) => Ok(see_other("/settings/event-types")),
        Err(e) if is_form_error(&e) => {
            let mut page = view(&req, &state, &user, None).await?;
            page.errors = e.field_errors().into();
            page.name = form.name;
            page.description = form.description;
            render(form_status(&e), &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(event_type.id = *id))]
pub async fn archive(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    event_types::set_archived(&state.db, &user.actor(), *id, true).await?;
    Ok(see_other("/settings/event-types"))
}

#[tracing::instrument(skip_all, fields(event_type.id = *id))]
pub async fn restore(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    event_types::set_archived(&state.db, &user.actor(), *id, false).await?;
    Ok(see_other("/settings/event-types"))
}
