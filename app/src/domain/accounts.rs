//! Signing up (user + account + owner membership + first app) and account settings.

use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::json;

use entity::membership::{self, Role};
use entity::{account, user};

use super::audit::{self, Actor, ActorKind, Entry};
use super::roles::RoleRules;
use super::validate::{self, Errors};
use super::{DomainError, DomainResult, apps};
use crate::crypto;
use crate::db::begin_write;
use crate::timestamps::now_ms;

/// What the signup form sends.
#[derive(Debug, Clone, Default)]
pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub account_name: String,
}

/// What signup created.
#[derive(Debug, Clone)]
pub struct SignedUp {
    pub user: user::Model,
    pub account: account::Model,
}

/// Creates a user, their account, the owner membership and a first app, in one transaction.
///
/// # Errors
/// `Invalid` for each bad field; `Conflict` on `email` when it is taken.
pub async fn signup(
    db: &DatabaseConnection,
    input: &SignupInput,
    origin: &super::auth::Origin,
) -> DomainResult<SignedUp> {
    let mut errors = Errors::default();
    let email = errors.take(validate::email("email", &input.email));
    let password = errors.take(validate::new_password("password", &input.password));
    let account_name = errors.take(validate::name("account_name", &input.account_name));
    errors.finish()?;
    let (Some(email), Some(password), Some(account_name)) = (email, password, account_name) else {
        return Err(DomainError::invalid("email", "invalid input"));
    };
    if email_taken(db, &email).await? {
        return Err(taken());
    }
    let password_hash = super::auth::hash_password(password).await?;
    let now = now_ms();
    let txn = begin_write(db).await?;
    let user = user::ActiveModel {
        email: Set(email.clone()),
        password_hash: Set(password_hash),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| if is_unique_violation(&e) { taken() } else { e.into() })?;
    let account = account::ActiveModel {
        name: Set(account_name.clone()),
        slug: Set(slug(&account_name)),
        hipaa_mode: Set(false),
        visit_timeout_minutes: Set(super::visits::DEFAULT_TIMEOUT_MINUTES),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    membership::ActiveModel {
        account_id: Set(account.id),
        user_id: Set(user.id),
        role: Set(Role::Owner),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let actor = Actor {
        account_id: account.id,
        kind: ActorKind::User {
            id: user.id,
            email: email.clone(),
        },
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
    };
    audit::record(
        &txn,
        &actor,
        Entry {
            action: "account.created",
            target_type: "account",
            target_id: Some(account.id.to_string()),
            target_label: account_name,
            diff: json!({ "name": { "before": null, "after": account.name }, "owner": { "before": null, "after": email } }),
        },
    )
    .await?;
    apps::create_in(&txn, &actor, "My first app").await?;
    super::visits::seed_builtins(&txn, account.id, now).await?;
    txn.commit().await?;
    Ok(SignedUp { user, account })
}

fn taken() -> DomainError {
    DomainError::conflict("email", "An account with this email already exists. Log in instead.")
}

async fn email_taken(db: &DatabaseConnection, email: &str) -> DomainResult<bool> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .count(db)
        .await?
        > 0)
}

/// Whether a database error is a unique-constraint violation (a race lost to a concurrent insert).
#[must_use]
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// A URL-safe label from the name plus a random suffix (slugs are unique, names are not).
fn slug(name: &str) -> String {
    let base: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let base: String = base.chars().take(40).collect();
    let suffix = crypto::random_hex(3);
    if base.is_empty() {
        suffix
    } else {
        format!("{base}-{suffix}")
    }
}

/// The account by id (callers pass the id of the account they are acting in).
///
/// # Errors
/// `NotFound`.
pub async fn get(db: &DatabaseConnection, account_id: i64) -> DomainResult<account::Model> {
    account::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)
}

/// Account settings from the form or API.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    pub name: String,
    pub hipaa_mode: bool,
    /// Minutes without a page that end a visit, as typed (validated here: a whole number 1–1440);
    /// `None` keeps the current value.
    pub visit_timeout_minutes: Option<String>,
}

/// Parses the visit timeout field: a whole number of minutes within the allowed bounds.
///
/// # Errors
/// Not a number, or out of bounds.
pub fn parse_visit_timeout(field: &str, raw: &str) -> Result<i32, super::FieldError> {
    use super::visits::{MAX_TIMEOUT_MINUTES, MIN_TIMEOUT_MINUTES};
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|m| (MIN_TIMEOUT_MINUTES..=MAX_TIMEOUT_MINUTES).contains(m))
        .ok_or_else(|| {
            validate::field_error(
                field,
                format!("Visit timeout must be a whole number of minutes from {MIN_TIMEOUT_MINUTES} to {MAX_TIMEOUT_MINUTES}."),
            )
        })
}

/// Renames the account, sets HIPAA mode and the visit timeout, recording a diff.
///
/// # Errors
/// `Forbidden` for viewers; `Invalid` for a bad name or visit timeout.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    role: Role,
    input: &AccountUpdate,
) -> DomainResult<account::Model> {
    role.require_write()?;
    let mut errors = Errors::default();
    let name = errors.take(validate::name("name", &input.name));
    let timeout = match &input.visit_timeout_minutes {
        Some(raw) => errors.take(parse_visit_timeout("visit_timeout_minutes", raw)).map(Some),
        None => Some(None),
    };
    errors.finish()?;
    let (Some(name), Some(timeout)) = (name, timeout) else {
        return Err(DomainError::invalid("name", "invalid input"));
    };
    let txn = begin_write(db).await?;
    let current = account::Entity::find_by_id(actor.account_id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound)?;
    let timeout = timeout.unwrap_or(current.visit_timeout_minutes);
    let diff = audit::diff(
        &json!({ "name": current.name, "hipaa_mode": current.hipaa_mode, "visit_timeout_minutes": current.visit_timeout_minutes }),
        &json!({ "name": name, "hipaa_mode": input.hipaa_mode, "visit_timeout_minutes": timeout }),
        &[],
    );
    if diff.as_object().is_none_or(serde_json::Map::is_empty) {
        return Ok(current);
    }
    let mut active: account::ActiveModel = current.into();
    active.name = Set(name.clone());
    active.hipaa_mode = Set(input.hipaa_mode);
    active.visit_timeout_minutes = Set(timeout);
    let updated = account::Entity::update(active).exec(&txn).await?;
    let entry = Entry {
        action: "account.updated",
        target_type: "account",
        target_id: Some(updated.id.to_string()),
        target_label: name,
        diff,
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(updated)
}
