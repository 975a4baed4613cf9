//! API tokens: created with scopes (and an app: always one for ingest), shown once, stored
//! hashed, revoked.

use std::sync::Arc;
use std::time::Instant;

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, QueryFilter, Set};
use serde_json::json;

use entity::api_token;
use entity::tenant::AccountScoped;

use super::audit::{self, Actor, Entry};
use super::credential_cache::CredentialCache;
use super::page::{Page, PageRequest};
use super::roles::{Scope, Scopes};
use super::token_usage::TokenUsage;
use super::validate::{self, Errors};
use super::{DomainError, DomainResult, apps};
use crate::crypto;
use crate::db::begin_write;
use crate::timestamps::now_ms;

/// Every secret starts with this, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "hrld_";
const MAX_EXPIRY_DAYS: i64 = 3650;
const DAY_MS: i64 = 86_400_000;

/// A token request, as typed in the form or sent to the API. Numbers are text (the API writes
/// its integers as text) so that "not a number" is reported with the other field errors, the
/// same way for both front doors.
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<String>,
    /// An app id of the account; empty for none (see [`create`] for ingest tokens).
    pub app_id: String,
    /// Whole days from 1 to 3650; empty for a token that never expires.
    pub expires_in_days: String,
}

/// A freshly created token: the only time its secret exists outside the caller's hands.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: api_token::Model,
    pub secret: String,
}

/// The field error of an ingest token left without an app in an account with several.
pub const INGEST_NEEDS_APP: &str = "Choose the app this token sends events for: ingest tokens belong to one app.";

/// A whole number, or `None` for empty text; anything else is an error on `field`.
fn optional_int(errors: &mut Errors, field: &str, value: &str) -> Option<i64> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let parsed = v.parse::<i64>();
    if parsed.is_err() {
        errors.push(field, "Enter a whole number, or leave it empty.");
    }
    parsed.ok()
}

/// The app a new token is tied to. Ingest sends every event to one app, so a token with the
/// `ingest` scope must name one: when it names none and the account has exactly one app, it is
/// tied to that app (so it keeps working once a second app is added); with several apps it is
/// refused on `app_id` ([`INGEST_NEEDS_APP`]). Tokens without `ingest` may name none ("any app").
async fn token_app(
    db: &DatabaseConnection,
    errors: &mut Errors,
    account_id: i64,
    wanted: Option<i64>,
    ingest: bool,
) -> DomainResult<Option<i64>> {
    if let Some(app_id) = wanted {
        if apps::get(db, account_id, app_id).await.is_err() {
            errors.push("app_id", "No such app in this account.");
        }
        return Ok(Some(app_id));
    }
    if !ingest {
        return Ok(None);
    }
    let all = apps::all(db, account_id).await?;
    match all.as_slice() {
        [only] => Ok(Some(only.id)),
        _ => {
            errors.push("app_id", INGEST_NEEDS_APP);
            Ok(None)
        }
    }
}

/// Creates a token in the actor's account, checking every field at once (every problem is
/// reported together). When the creator is itself a token, `ceiling` is its scopes: a token
/// cannot mint a token with scopes it lacks. An ingest token is always tied to one app (see
/// [`token_app`]).
///
/// # Errors
/// `Invalid` with one entry per bad field (name, unknown or no scope, app not a number or not of
/// this account, ingest token without an app among several, expiry not a number or out of
/// range); `Forbidden` when the scopes exceed `ceiling`.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &NewToken,
    ceiling: Option<Scopes>,
) -> DomainResult<CreatedToken> {
    let mut errors = Errors::default();
    let name = errors.take(validate::name("name", &input.name));
    let scopes = errors.take(Scopes::parse("scopes", &input.scopes));
    let ingest = scopes.map_or_else(
        || input.scopes.iter().any(|s| s.trim() == Scope::Ingest.as_str()),
        |s| s.has(Scope::Ingest),
    );
    let app_id = match input.app_id.trim() {
        "" => token_app(db, &mut errors, actor.account_id, None, ingest).await?,
        text => match text.parse::<i64>() {
            Ok(id) => token_app(db, &mut errors, actor.account_id, Some(id), ingest).await?,
            Err(_) => {
                errors.push("app_id", "Choose an app from the list.");
                None
            }
        },
    };
    let expires_in_days = optional_int(&mut errors, "expires_in_days", &input.expires_in_days);
    if let Some(days) = expires_in_days
        && !(1..=MAX_EXPIRY_DAYS).contains(&days)
    {
        errors.push(
            "expires_in_days",
            format!("Expiry must be from 1 to {MAX_EXPIRY_DAYS} days, or empty for none."),
        );
    }
    errors.finish()?;
    let (Some(name), Some(scopes)) = (name, scopes) else {
        return Err(DomainError::invalid("name", "invalid input"));
    };
    if let Some(ceiling) = ceiling
        && !ceiling.contains(scopes)
    {
        return Err(DomainError::Forbidden(
            "A token can't create a token with scopes it doesn't have itself.".into(),
        ));
    }
    let secret = format!("{TOKEN_PREFIX}{}", crypto::random_hex(20));
    let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 8).collect();
    let now = now_ms();
    let expires_at = expires_in_days.map(|d| now + d * DAY_MS);
    let txn = begin_write(db).await?;
    let token = api_token::ActiveModel {
        account_id: Set(actor.account_id),
        app_id: Set(app_id),
        name: Set(name.clone()),
        prefix: Set(prefix),
        token_hash: Set(crypto::sha256_hex(&secret)),
        scopes: Set(scopes.to_stored()),
        created_by_user_id: Set(actor.user_id()),
        created_by_token_id: Set(actor.token_id()),
        last_used_at: Set(None),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let entry = Entry {
        action: "token.created",
        target_type: "token",
        target_id: Some(token.id.to_string()),
        target_label: name.clone(),
        diff: json!({
            "name": { "before": null, "after": name },
            "prefix": { "before": null, "after": token.prefix },
            "scopes": { "before": null, "after": token.scopes },
            "app_id": { "before": null, "after": token.app_id },
            "expires_at": { "before": null, "after": token.expires_at },
        }),
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(CreatedToken { token, secret })
}

/// One token of the account.
///
/// # Errors
/// `NotFound` when it belongs to another account or does not exist.
pub async fn get(conn: &impl ConnectionTrait, account_id: i64, id: i64) -> DomainResult<api_token::Model> {
    api_token::Entity::find_by_id_in(account_id, id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)
}

/// One page of the account's tokens (revoked ones included, marked), newest first.
///
/// # Errors
/// Database failure.
pub async fn list(
    conn: &impl ConnectionTrait,
    account_id: i64,
    req: PageRequest,
) -> DomainResult<Page<api_token::Model>> {
    let q = api_token::Entity::find_in(account_id);
    Ok(crate::domain::page::fetch(conn, q, api_token::Column::Id, req, |t| t.id).await?)
}

/// Revokes a token; revoking twice is harmless and records nothing new. This process forgets
/// the cached token, so it refuses it from the moment this returns; other processes refuse it
/// once their cached copy lapses (see [`super::credential_cache`]). A request of this process
/// that read the row just before the commit may cache it again: that copy lapses the same way.
///
/// # Errors
/// `NotFound` for another account's token.
pub async fn revoke(
    db: &DatabaseConnection,
    credentials: &CredentialCache,
    actor: &Actor,
    id: i64,
) -> DomainResult<api_token::Model> {
    let txn = begin_write(db).await?;
    let current = get(&txn, actor.account_id, id).await?;
    if current.revoked_at.is_some() {
        // Another process may have revoked it while this one still holds it as live.
        credentials.forget_token(&current.token_hash);
        return Ok(current);
    }
    let now = now_ms();
    let label = current.name.clone();
    let mut active: api_token::ActiveModel = current.into();
    active.revoked_at = Set(Some(now));
    let revoked = api_token::Entity::update_in(actor.account_id, active)?
        .exec(&txn)
        .await?;
    let entry = Entry {
        action: "token.revoked",
        target_type: "token",
        target_id: Some(id.to_string()),
        target_label: label,
        diff: json!({ "revoked_at": { "before": null, "after": now } }),
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    credentials.forget_token(&revoked.token_hash);
    Ok(revoked)
}

/// Resolves a bearer secret to its live token and notes the use (written later, off the
/// request path, by [`TokenUsage`]). The row comes from `credentials` when read less than its
/// TTL ago, so a request usually costs no query; revocation and expiry are checked on every
/// call against that row.
///
/// # Errors
/// `Unauthorized` for an unknown, revoked or expired token.
pub async fn authenticate(
    db: &DatabaseConnection,
    credentials: &CredentialCache,
    usage: &TokenUsage,
    secret: &str,
) -> DomainResult<Arc<api_token::Model>> {
    let unauthorized = || DomainError::Unauthorized("The API token is unknown, revoked or expired.".into());
    let hash = crypto::sha256_hex(secret.trim());
    let token = match credentials.token(&hash) {
        Some(token) => token,
        None => {
            let read_at = Instant::now();
            // A token's hash is unique across accounts: it is what says which account calls.
            let token = api_token::Entity::find_across_accounts()
                .filter(api_token::Column::TokenHash.eq(hash))
                .one(db)
                .await?
                .ok_or_else(unauthorized)?;
            credentials.remember_token(token, read_at)
        }
    };
    let now = now_ms();
    if token.revoked_at.is_some() || token.expires_at.is_some_and(|e| e <= now) {
        return Err(unauthorized());
    }
    usage.note(token.id, now);
    Ok(token)
}
