//! Settings → Members: invite links, roles, removal.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use entity::membership::Role;

use super::auth::Empty;
use super::{Chrome, FormErrors, form_status, render, see_other};
use crate::domain::roles::RoleRules;
use crate::domain::{DomainError, members};
use crate::web::AppState;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::flash::{self, Flash};
use crate::web::format::When;
use crate::web::session::CurrentUser;

struct MemberRow {
    id: i64,
    email: String,
    role: &'static str,
    since: When,
    is_you: bool,
}

struct InvitationRow {
    id: i64,
    email: String,
    role: &'static str,
    expires: When,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    chrome: Chrome,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    roles: Vec<&'static str>,
    invite_link: Option<String>,
    invite_email: String,
    invite_form_email: String,
    invite_form_role: &'static str,
    errors: FormErrors,
    action_error: Option<String>,
}

async fn view(req: &HttpRequest, state: &AppState, user: &CurrentUser) -> Result<MembersPage, PageError> {
    let members = members::list(&state.db, user.account.id)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            id: m.membership.id,
            is_you: m.membership.user_id == user.user.id,
            email: m.email,
            role: m.membership.role.as_str(),
            since: When::at(m.membership.created_at),
        })
        .collect();
    let invitations = members::pending_invitations(&state.db, user.account.id)
        .await?
        .into_iter()
        .map(|i| InvitationRow {
            id: i.id,
            email: i.email,
            role: i.role.as_str(),
            expires: When::at(i.expires_at),
        })
        .collect();
    Ok(MembersPage {
        chrome: Chrome::new(req, user, "members"),
        members,
        invitations,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        invite_link: None,
        invite_email: String::new(),
        invite_form_email: String::new(),
        invite_form_role: Role::Viewer.as_str(),
        errors: FormErrors::default(),
        action_error: None,
    })
}

#[tracing::instrument(skip_all)]
pub async fn page(req: HttpRequest, state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, PageError> {
    let mut page = view(&req, &state, &user).await?;
    let Some(Flash::InviteCreated { link, email }) = flash::read(&req, &state, &user) else {
        return render(StatusCode::OK, &page);
    };
    page.invite_link = Some(link);
    page.invite_email = email;
    Ok(flash::shown(render(StatusCode::OK, &page)?, &state))
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// Creates an invitation and redirects to the members page, which shows its link once (a
/// one-time flash: the link is a credential); a refused form is shown again with its errors.
#[tracing::instrument(skip_all)]
pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<HttpResponse, PageError> {
    match members::invite(&state.db, &user.actor(), user.role, &form.email, &form.role).await {
        Ok(created) => {
            let link = format!("{}/invite/{}", state.base_url, created.secret);
            let email = created.invitation.email;
            let flash = Flash::InviteCreated { link, email };
            Ok(flash::redirect(&state, &user, "/settings/members", &flash))
        }
        Err(e @ (DomainError::Invalid(_) | DomainError::Conflict(_))) => {
            let mut page = view(&req, &state, &user).await?;
            page.errors = e.field_errors().into();
            page.invite_form_email = form.email;
            page.invite_form_role = Role::parse("role", &form.role).map_or(Role::Viewer.as_str(), Role::as_str);
            render(form_status(&e), &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// Rule violations (last owner, admin touching an owner) are shown on the page itself.
async fn after_action(
    req: &HttpRequest,
    state: &AppState,
    user: &CurrentUser,
    result: Result<(), DomainError>,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(()) => Ok(see_other("/settings/members")),
        Err(DomainError::Forbidden(message)) if user.role.require_write().is_ok() => {
            let mut page = view(req, state, user).await?;
            page.action_error = Some(message);
            render(StatusCode::FORBIDDEN, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(member.id = *id))]
pub async fn change_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<HttpResponse, PageError> {
    let result = members::change_role(&state.db, &user.actor(), user.role, *id, &form.role).await;
    after_action(&req, &state, &user, result).await
}

#[tracing::instrument(skip_all, fields(member.id = *id))]
pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    let result = members::remove(&state.db, &user.actor(), user.role, *id).await;
    after_action(&req, &state, &user, result).await
}

#[tracing::instrument(skip_all, fields(invitation.id = *id))]
pub async fn revoke_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    _: CsrfForm<Empty>,
) -> Result<HttpResponse, PageError> {
    let result = members::revoke_invitation(&state.db, &user.actor(), user.role, *id).await;
    after_action(&req, &state, &user, result).await
}
