//! One-time messages across a Post/Redirect/Get. A successful POST whose result must be shown
//! once (a new token's secret, an invite link, a revealed webhook secret) answers `303 See
//! Other` with a sealed `herald_flash` cookie; the page it leads to shows the message and
//! deletes the cookie, so a reload neither repeats the action nor shows the secret again.
//!
//! The cookie is encrypted and authenticated (AES-256-GCM, [`crate::crypto::SecretKey::flash_box`]),
//! bound to the login session that made it, valid for two minutes, HttpOnly and sent to
//! `/settings` pages only. Secrets shown this way never appear in a URL, the browser history or
//! a log line. It works across processes that share `HERALD_SECRET_KEY`.

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::session::CurrentUser;
use crate::timestamps::now_ms;

const COOKIE: &str = "herald_flash";
const PATH: &str = "/settings";
const TTL_SECS: i64 = 120;

/// What the page after a redirect shows once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flash {
    /// A new API token's secret, shown on the tokens page (its only copy: tokens are stored
    /// hashed).
    TokenCreated { secret: String },
    /// A new invitation's link, shown on the members page (stored hashed too).
    InviteCreated { link: String, email: String },
    /// Permission to show the secrets of webhook `webhook` once on its page. The page reads
    /// them from the database, so the secret itself never travels in the cookie.
    SecretRevealed { webhook: String },
    /// The recovery codes made when two-factor login was turned on (stored hashed).
    RecoveryCodes { codes: Vec<String> },
}

/// The sealed cookie's content.
#[derive(Serialize, Deserialize)]
struct Sealed {
    session: i64,
    expires_at: i64,
    flash: Flash,
}

fn cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path(PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .max_age(Duration::seconds(TTL_SECS))
        .finish()
}

/// `303 See Other` to `location` carrying `flash` for the next page `user` opens there.
#[must_use]
pub fn redirect(state: &AppState, user: &CurrentUser, location: &str, flash: &Flash) -> HttpResponse {
    let sealed = Sealed {
        session: user.session.id,
        expires_at: now_ms() + TTL_SECS * 1000,
        flash: flash.clone(),
    };
    let json = serde_json::to_string(&sealed).unwrap_or_default();
    HttpResponse::SeeOther()
        .cookie(cookie(state, state.key.flash_box().seal(&json)))
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The flash waiting for `user`, if any: `None` for a missing, altered, expired cookie or one
/// made in another login session. A page that shows it answers through [`shown`].
#[must_use]
pub fn read(req: &HttpRequest, state: &AppState, user: &CurrentUser) -> Option<Flash> {
    let value = req.cookie(COOKIE)?;
    let json = state.key.flash_box().open(value.value()).ok()?;
    let sealed: Sealed = serde_json::from_str(&json).ok()?;
    (sealed.session == user.session.id && sealed.expires_at > now_ms()).then_some(sealed.flash)
}

/// `response` with the flash cookie deleted: the message has been shown and is not shown again.
#[must_use]
pub fn shown(mut response: HttpResponse, state: &AppState) -> HttpResponse {
    let mut removal = cookie(state, String::new());
    removal.make_removal();
    if let Err(e) = response.add_cookie(&removal) {
        tracing::warn!(error = %e, "the flash cookie could not be deleted");
    }
    response
}
