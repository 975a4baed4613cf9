//! Settings → Apps.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::tokens::CursorQuery;
use super::{Chrome, FormErrors, form_status, is_form_error, render, see_other};
use crate::domain::apps;
use crate::domain::page::{Page, PageRequest};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::format::When;
use crate::web::session::CurrentUser;

struct AppRow {
    id: i64,
    name: String,
    app_token: String,
    write_key: String,
    created: When,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage {
    chrome: Chrome,
    page: Page<AppRow>,
    new_name: String,
    errors: FormErrors,
    rename_id: Option<i64>,
    rename_value: String,
    rename_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

impl AppsPage {
    fn renaming(&self, id: &i64) -> bool {
        self.rename_id == Some(*id)
    }
}

async fn view(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    cursor: Option<&str>,
) -> Result<AppsPage, PageError> {
    let page = apps::list(&state.db, user.account.id, PageRequest::parse(None, cursor)?).await?;
    Ok(AppsPage {
        chrome: Chrome::new(req, user, "apps"),
        page: page.map(|a| AppRow {
            id: a.id,
            name: a.name,
            app_token: a.app_token,
            write_key: a.write_key,
            created: When::at(a.created_at),
        }),
        new_name: String::new(),
        errors: FormErrors::default(),
        rename_id: None,
        rename_value: String::new(),
        rename_error: None,
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

#[tracing::instrument(skip_all)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<NameForm>,
) -> Result<HttpResponse, PageError> {
    match apps::create(&state.db, &user.actor(), &form.name).await {
        Ok(_) => Ok(see_other("/settings/apps")),
        Err(e) if is_form_error(&e) => {
            let mut page = view(&req, &state, &user, None).await?;
            page.errors = e.field_errors().into();
            page.new_name = form.name;
            render(form_status(&e), &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(app.id = *id))]
pub async fn rename(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<NameForm>,
) -> Result<HttpResponse, PageError> {
    match apps::rename(&state.db, &user.actor(), *id, &form.name).await {
        Ok(_) => Ok(see_other("/settings/apps")),
        Err(e) if is_form_error(&e) => {
            let mut page = view(&req, &state, &user, None).await?;
            page.rename_id = Some(*id);
            page.rename_error = Some(e.to_string());
            page.rename_value = form.name;
            render(form_status(&e), &page)
        }
        Err(e) => Err(e.into()),
    }
}
