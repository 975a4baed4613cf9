//! The dashboard login: a random id in an HttpOnly, SameSite=Lax cookie, resolved per request
//! into [`CurrentUser`] (user, current account, role, the accounts to switch between).

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use entity::membership::Role;
use entity::{account, session, user};

use super::AppState;
use super::error::PageError;
use crate::domain::audit::{Actor, ActorKind};
use crate::domain::auth;

const COOKIE: &str = "herald_session";

/// What a member of an account that requires two-factor may open before setting it up: the
/// security page (to set it up) and the account switcher (to leave for another account).
const OPEN_WITHOUT_TWO_FACTOR: [&str; 2] = ["/settings/security", "/account/switch"];

/// The session cookie for a new login.
#[must_use]
pub fn cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .max_age(Duration::hours(state.session_ttl_hours))
        .finish()
}

/// A cookie that deletes the session cookie.
#[must_use]
pub fn removal(state: &AppState) -> Cookie<'static> {
    let mut c = cookie(state, String::new());
    c.make_removal();
    c
}

/// The session cookie's value, if the browser sent one.
#[must_use]
pub fn token(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE).map(|c| c.value().to_owned())
}

/// The logged-in user and the account the dashboard is showing.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: user::Model,
    pub session: session::Model,
    pub account: account::Model,
    pub role: Role,
    /// Every account of the user, for the switcher.
    pub accounts: Vec<(account::Model, Role)>,
    /// Request origin, for audit rows.
    pub origin: auth::Origin,
}

impl CurrentUser {
    /// The actor for domain calls made by this user in the current account.
    #[must_use]
    pub fn actor(&self) -> Actor {
        Actor {
            account_id: self.account.id,
            kind: ActorKind::User {
                id: self.user.id,
                email: self.user.email.clone(),
            },
            ip: self.origin.ip.clone(),
            user_agent: self.origin.user_agent.clone(),
        }
    }
}

impl CurrentUser {
    /// Resolves the session cookie of `req` into the signed-in member.
    ///
    /// # Errors
    /// [`PageError::LoginRequired`] without a valid session (or without any account left);
    /// [`PageError::SecondFactorRequired`] while the login waits for its code;
    /// [`PageError::TwoFactorSetupRequired`] when the account requires two-factor and this
    /// member has not set it up, except on [`OPEN_WITHOUT_TWO_FACTOR`]; database failures.
    pub async fn resolve(req: &HttpRequest) -> Result<CurrentUser, PageError> {
        let state = req.app_data::<web::Data<AppState>>().ok_or(PageError::LoginRequired)?;
        let token = token(req).ok_or(PageError::LoginRequired)?;
        let found = auth::find_session(&state.db, &token)
            .await?
            .ok_or(PageError::LoginRequired)?;
        if found.session.pending_two_factor {
            return Err(PageError::SecondFactorRequired);
        }
        let accounts = auth::accounts_of(&state.db, found.user.id).await?;
        // The current account may have removed this user since: fall back to another one.
        let current = accounts
            .iter()
            .find(|(a, _)| a.id == found.session.account_id)
            .or_else(|| accounts.first())
            .cloned()
            .ok_or(PageError::LoginRequired)?;
        if current.0.id != found.session.account_id {
            auth::switch_account(&state.db, &found.session, current.0.id).await?;
        }
        if current.0.require_two_factor
            && found.user.totp_enabled_at.is_none()
            && !OPEN_WITHOUT_TWO_FACTOR.iter().any(|p| req.path().starts_with(p))
        {
            return Err(PageError::TwoFactorSetupRequired);
        }
        Ok(CurrentUser {
            user: found.user,
            session: found.session,
            account: current.0,
            role: current.1,
            accounts,
            origin: super::meta::origin(req),
        })
    }
}

/// The member a route guard ([`super::access`]) already resolved for this request, or, on the
/// routes open to everyone (`Option<CurrentUser>`), the session resolved now.
impl FromRequest for CurrentUser {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let admitted = req.extensions().get::<CurrentUser>().cloned();
            match admitted {
                Some(user) => Ok(user),
                None => CurrentUser::resolve(&req).await,
            }
        })
    }
}
