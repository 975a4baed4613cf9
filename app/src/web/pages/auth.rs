//! Signup, login, logout, invitations and account switching.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{FormErrors, form_status, is_form_error, redirect_with_cookie, render, see_other};
use crate::domain::accounts::{self, SignupInput};
use crate::domain::{DomainError, auth, members};
use crate::web::AppState;
use crate::web::csrf::{CsrfForm, token_for};
use crate::web::error::PageError;
use crate::web::meta::origin;
use crate::web::session::{self, CurrentUser};

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    csrf: String,
    email: String,
    account_name: String,
    errors: FormErrors,
}

#[derive(Debug, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    account_name: String,
}

#[tracing::instrument(skip_all)]
pub async fn signup_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    let page = SignupPage {
        csrf: token_for(&req),
        email: String::new(),
        account_name: String::new(),
        errors: FormErrors::default(),
    };
    render(StatusCode::OK, &page)
}

#[tracing::instrument(skip_all)]
pub async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<HttpResponse, PageError> {
    let input = SignupInput {
        email: form.email,
        password: form.password,
        account_name: form.account_name,
    };
    match accounts::signup(&state.db, &input, &origin(&req)).await {
        Ok(created) => start_session(&req, &state, &created.user, created.account.id).await,
        Err(e) if is_form_error(&e) => {
            let page = SignupPage {
                csrf: token_for(&req),
                email: input.email,
                account_name: input.account_name,
                errors: e.field_errors().into(),
            };
            render(form_status(&e), &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[tracing::instrument(skip_all)]
pub async fn login_page(req: HttpRequest) -> Result<HttpResponse, PageError> {
    render(
        StatusCode::OK,
        &LoginPage {
            csrf: token_for(&req),
            email: String::new(),
            error: None,
        },
    )
}

#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, PageError> {
    match auth::login(&state.db, &form.email, &form.password, &origin(&req)).await {
        Ok(user) => {
            let accounts = auth::accounts_of(&state.db, user.id).await?;
            let Some((account, _)) = accounts.first() else {
                let page = LoginPage {
                    csrf: token_for(&req),
                    email: form.email,
                    error: Some("This login is not a member of any account any more.".into()),
                };
                return render(StatusCode::FORBIDDEN, &page);
            };
            start_session(&req, &state, &user, account.id).await
        }
        Err(e @ (DomainError::Unauthorized(_) | DomainError::RateLimited(_))) => {
            let status = if matches!(e, DomainError::RateLimited(_)) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let page = LoginPage {
                csrf: token_for(&req),
                email: auth::normalise_email(&form.email),
                error: Some(e.to_string()),
            };
            render(status, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// Logs in: the session cookie, then the dashboard, or the two-factor step when the user has it.
async fn start_session(
    req: &HttpRequest,
    state: &AppState,
    user: &entity::user::Model,
    account_id: i64,
) -> Result<HttpResponse, PageError> {
    let token = auth::create_session(&state.db, user, account_id, state.session_ttl_hours, &origin(req)).await?;
    let next = if user.totp_enabled_at.is_some() {
        "/login/two-factor"
    } else {
        "/"
    };
    Ok(redirect_with_cookie(next, session::cookie(state, token)))
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

#[tracing::instrument(skip_all)]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    if let Some(token) = session::token(&req) {
        auth::delete_session(&state.db, &token).await?;
    }
    Ok(redirect_with_cookie("/login", session::removal(&state)))
}

#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    account_id: String,
}

#[tracing::instrument(skip_all)]
pub async fn switch_account(
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<SwitchForm>,
) -> Result<HttpResponse, PageError> {
    let account_id = form.account_id.parse::<i64>().map_err(|_| DomainError::NotFound)?;
    auth::switch_account(&state.db, &user.session, account_id).await?;
    Ok(see_other("/"))
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    csrf: String,
    secret: String,
    account_name: String,
    email: String,
    role: &'static str,
    has_login: bool,
    error: Option<String>,
}

async fn invite_view(
    req: &HttpRequest,
    state: &AppState,
    secret: &str,
    error: Option<String>,
) -> Result<InvitePage, PageError> {
    let open = members::open_invitation(&state.db, secret).await?;
    Ok(InvitePage {
        csrf: token_for(req),
        secret: secret.to_owned(),
        account_name: open.account_name,
        email: open.invitation.email,
        role: open.invitation.role.as_str(),
        has_login: open.has_login,
        error,
    })
}

#[tracing::instrument(skip_all)]
pub async fn invite_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    secret: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    render(StatusCode::OK, &invite_view(&req, &state, &secret, None).await?)
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    password: String,
}

#[tracing::instrument(skip_all)]
pub async fn accept_invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    secret: web::Path<String>,
    CsrfForm(form): CsrfForm<AcceptForm>,
) -> Result<HttpResponse, PageError> {
    match members::accept(&state.db, &secret, &form.password, &origin(&req)).await {
        Ok((user, account_id)) => start_session(&req, &state, &user, account_id).await,
        Err(e @ (DomainError::Unauthorized(_) | DomainError::RateLimited(_) | DomainError::Invalid(_))) => {
            let status = match e {
                DomainError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                DomainError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            render(status, &invite_view(&req, &state, &secret, Some(e.to_string())).await?)
        }
        Err(e) => Err(e.into()),
    }
}
