//! Settings → Security (the signed-in person's own login): password change, two-factor setup
//! with recovery codes shown once, the sessions list with "sign out everywhere else", and for
//! owners the account's "require two-factor" switch; plus the login's two-factor step.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use entity::membership::Role;

use super::auth::Empty;
use super::{Chrome, FormErrors, form_status, is_form_error, redirect_with_cookie, render, see_other};
use crate::domain::two_factor::{self, Setup};
use crate::domain::{DomainError, auth, security};
use crate::web::AppState;
use crate::web::csrf::{CsrfForm, token_for};
use crate::web::error::PageError;
use crate::web::flash::{self, Flash};
use crate::web::format::When;
use crate::web::meta::origin;
use crate::web::session::{self, CurrentUser};

/// One row of the sessions list.
pub struct SessionRow {
    pub current: bool,
    pub started: When,
    pub expires: When,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    setup_required: bool,
    two_factor_on: bool,
    setup: Option<Setup>,
    recovery_codes: Vec<String>,
    is_owner: bool,
    require_two_factor: bool,
    sessions: Vec<SessionRow>,
    errors: FormErrors,
}

#[derive(Debug, Deserialize)]
pub struct SecurityQuery {
    setup: Option<String>,
    done: Option<String>,
}

async fn view(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    q: &SecurityQuery,
) -> Result<SecurityPage, PageError> {
    let sessions = security::sessions(&state.db, user.user.id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            current: s.id == user.session.id,
            started: When::at(s.created_at),
            expires: When::at(s.expires_at),
            ip: s.ip.unwrap_or_default(),
            user_agent: crate::domain::visits::user_agent_summary(&s.user_agent.unwrap_or_default()),
        })
        .collect();
    let notice = match q.done.as_deref() {
        Some("password") => Some("Password changed. Your other sessions were signed out."),
        Some("sessions") => Some("Every other session was signed out."),
        Some("disabled") => Some("Two-factor login is off."),
        Some("required") => Some("Saved."),
        _ => None,
    };
    Ok(SecurityPage {
        chrome: Chrome::new(req, user, "security"),
        notice,
        setup_required: q.setup.is_some() && user.user.totp_enabled_at.is_none(),
        two_factor_on: user.user.totp_enabled_at.is_some(),
        setup: two_factor::pending_setup(&state.secrets, &user.user)?,
        recovery_codes: Vec::new(),
        is_owner: user.role == Role::Owner,
        require_two_factor: user.account.require_two_factor,
        sessions,
        errors: FormErrors::default(),
    })
}

#[tracing::instrument(skip_all)]
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<SecurityQuery>,
) -> Result<HttpResponse, PageError> {
    let mut page = view(&req, &state, &user, &q).await?;
    if let Some(Flash::RecoveryCodes { codes }) = flash::read(&req, &state, &user) {
        page.recovery_codes = codes;
        return Ok(flash::shown(render(StatusCode::OK, &page)?, &state));
    }
    render(StatusCode::OK, &page)
}

/// Re-renders the page with the domain's field errors, or passes other errors on.
async fn refused(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    e: DomainError,
) -> Result<HttpResponse, PageError> {
    if !is_form_error(&e) {
        return Err(e.into());
    }
    let q = SecurityQuery {
        setup: None,
        done: None,
    };
    let mut page = view(req, state, user, &q).await?;
    page.errors = e.field_errors().into();
    render(form_status(&e), &page)
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

#[tracing::instrument(skip_all)]
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let changed = security::change_password(
        &state.db,
        &user.actor(),
        &user.user,
        user.session.id,
        &form.current_password,
        &form.new_password,
    )
    .await;
    match changed {
        Ok(()) => Ok(see_other("/settings/security?done=password")),
        Err(e) => refused(&req, &state, &user, e).await,
    }
}

#[tracing::instrument(skip_all)]
pub async fn sign_out_everywhere(
    state: web::Data<AppState>,
    user: CurrentUser,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    security::sign_out_everywhere(&state.db, &user.actor(), &user.user, user.session.id).await?;
    Ok(see_other("/settings/security?done=sessions"))
}

#[tracing::instrument(skip_all)]
pub async fn begin_two_factor(
    state: web::Data<AppState>,
    user: CurrentUser,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    two_factor::begin_setup(&state.db, &state.secrets, &user.user).await?;
    Ok(see_other("/settings/security#two-factor"))
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[tracing::instrument(skip_all)]
pub async fn confirm_two_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, PageError> {
    match two_factor::confirm_setup(&state.db, &state.secrets, &user.actor(), &user.user, &form.code).await {
        Ok(codes) => Ok(flash::redirect(
            &state,
            &user,
            "/settings/security",
            &Flash::RecoveryCodes { codes },
        )),
        Err(e) => refused(&req, &state, &user, e).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    password: String,
}

#[tracing::instrument(skip_all)]
pub async fn disable_two_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<DisableForm>,
) -> Result<HttpResponse, PageError> {
    match two_factor::disable(&state.db, &user.actor(), &user.user, &form.password).await {
        Ok(()) => Ok(see_other("/settings/security?done=disabled")),
        Err(e) => refused(&req, &state, &user, e).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct RequireForm {
    require_two_factor: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn require_two_factor(
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<RequireForm>,
) -> Result<HttpResponse, PageError> {
    let on = form.require_two_factor.is_some();
    security::require_two_factor(&state.db, &user.actor(), user.role, on).await?;
    Ok(see_other("/settings/security?done=required"))
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    csrf: String,
    error: Option<String>,
}

/// The session waiting for its code, or a redirect: home when it is a full session already,
/// the login page when there is none.
async fn pending(req: &HttpRequest, state: &AppState) -> Result<Result<auth::SessionUser, HttpResponse>, PageError> {
    let found = match session::token(req) {
        Some(token) => auth::find_session(&state.db, &token).await?,
        None => None,
    };
    Ok(match found {
        Some(s) if s.session.pending_two_factor => Ok(s),
        Some(_) => Err(see_other("/")),
        None => Err(see_other("/login")),
    })
}

#[tracing::instrument(skip_all)]
pub async fn login_code_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    if let Err(redirect) = pending(&req, &state).await? {
        return Ok(redirect);
    }
    render(
        StatusCode::OK,
        &CodePage {
            csrf: token_for(&req),
            error: None,
        },
    )
}

#[tracing::instrument(skip_all)]
pub async fn login_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let waiting = match pending(&req, &state).await? {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let done = two_factor::complete_login(
        &state.db,
        &state.secrets,
        &waiting,
        &form.code,
        state.session_ttl_hours,
        &origin(&req),
    )
    .await;
    match done {
        Ok(()) => Ok(redirect_with_cookie(
            "/",
            session::cookie(&state, session::token(&req).unwrap_or_default()),
        )),
        Err(e @ (DomainError::Unauthorized(_) | DomainError::RateLimited(_))) => {
            let status = if matches!(e, DomainError::RateLimited(_)) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let page = CodePage {
                csrf: token_for(&req),
                error: Some(e.to_string()),
            };
            render(status, &page)
        }
        Err(e) => Err(e.into()),
    }
}
