//! Settings → API tokens.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use entity::api_token;

use super::{Chrome, FormErrors, form_status, is_form_error, render, see_other};
use crate::domain::apps;
use crate::domain::page::{Page, PageRequest};
use crate::domain::roles::Scopes;
use crate::domain::tokens::{self, NewToken};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::flash::{self, Flash};
use crate::web::format::When;
use crate::web::session::CurrentUser;

struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    scopes: String,
    app: String,
    created: When,
    last_used: Option<When>,
    expires: Option<When>,
    revoked: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    app_id: String,
    #[serde(default)]
    expires_in_days: String,
}

impl TokenForm {
    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    fn has_app(&self, id: &i64) -> bool {
        self.app_id == id.to_string()
    }
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    page: Page<TokenRow>,
    apps: Vec<(i64, String)>,
    form: TokenForm,
    errors: FormErrors,
    created_secret: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CursorQuery {
    pub cursor: Option<String>,
}

async fn view(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    cursor: Option<&str>,
) -> Result<TokensPage, PageError> {
    let account_id = user.account.id;
    let apps: Vec<(i64, String)> = apps::all(&state.db, account_id)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let page = tokens::list(&state.db, account_id, PageRequest::parse(None, cursor)?).await?;
    let row = |t: api_token::Model| TokenRow {
        app: t
            .app_id
            .and_then(|id| apps.iter().find(|(a, _)| *a == id).map(|(_, n)| n.clone()))
            .unwrap_or_else(|| "any".into()),
        scopes: Scopes::from_stored(&t.scopes).to_stored().replace(',', ", "),
        created: When::at(t.created_at),
        last_used: t.last_used_at.map(When::at),
        expires: t.expires_at.map(When::at),
        revoked: t.revoked_at.is_some(),
        id: t.id,
        name: t.name,
        prefix: t.prefix,
    };
    let page = page.map(row);
    Ok(TokensPage {
        chrome: Chrome::new(req, user, "tokens"),
        page,
        apps,
        form: TokenForm::default(),
        errors: FormErrors::default(),
        created_secret: None,
    })
}

#[tracing::instrument(skip_all)]
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<CursorQuery>,
) -> Result<HttpResponse, PageError> {
    let mut page = view(&req, &state, &user, q.cursor.as_deref()).await?;
    let Some(Flash::TokenCreated { secret }) = flash::read(&req, &state, &user) else {
        return render(StatusCode::OK, &page);
    };
    page.created_secret = Some(secret);
    Ok(flash::shown(render(StatusCode::OK, &page)?, &state))
}

/// Creates a token and redirects to the list, where its secret is shown once (carried by a
/// one-time flash, never in the URL); a refused form is shown again with every field error.
#[tracing::instrument(skip_all)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<HttpResponse, PageError> {
    let input = NewToken {
        name: form.name.clone(),
        scopes: form.scopes.clone(),
        app_id: form.app_id.clone(),
        expires_in_days: form.expires_in_days.clone(),
    };
    match tokens::create(&state.db, &user.actor(), &input, None).await {
        Ok(created) => Ok(flash::redirect(
            &state,
            &user,
            "/settings/tokens",
            &Flash::TokenCreated { secret: created.secret },
        )),
        Err(e) if is_form_error(&e) => {
            let mut page = view(&req, &state, &user, None).await?;
            page.errors = e.field_errors().into();
            page.form = form;
            render(form_status(&e), &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(token.id = *id))]
pub async fn revoke(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _: CsrfForm<super::auth::Empty>,
) -> Result<HttpResponse, PageError> {
    tokens::revoke(&state.db, &state.credentials, &user.actor(), *id).await?;
    Ok(see_other("/settings/tokens"))
}
