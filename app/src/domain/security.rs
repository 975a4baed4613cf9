//! A user's own login security, from Settings → Security: changing the password (the current
//! one is required, and every other session of the user ends), the list of their sessions with
//! "sign out everywhere else", and, for owners, requiring two-factor of every member. Each
//! change writes an audit row in the account the user acts in.

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use entity::membership::Role;
use entity::tenant::AccountScoped;
use entity::{account, session, user};

use super::audit::{self, Actor, Entry};
use super::auth::{hash_password, verify_password};
use super::{DomainError, DomainResult, validate};
use crate::db::begin_write;
use crate::timestamps::now_ms;

/// The audit entry for a change to `user` itself.
pub(crate) fn user_entry(action: &'static str, user: &user::Model, diff: Value) -> Entry {
    Entry {
        action,
        target_type: "user",
        target_id: Some(user.id.to_string()),
        target_label: user.email.clone(),
        diff,
    }
}

/// Ends every session of `user_id` except `keep`; returns how many ended.
pub(crate) async fn end_other_sessions(conn: &impl ConnectionTrait, user_id: i64, keep: i64) -> DomainResult<u64> {
    // A user's sessions span the accounts they switch between.
    let ended = session::Entity::delete_many_across_accounts()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Id.ne(keep))
        .exec(conn)
        .await?;
    Ok(ended.rows_affected)
}

/// Changes the password of `user` after checking the `current` one; ends their other sessions.
///
/// # Errors
/// `Invalid` on `current_password` (wrong) or `new_password` (too short or long).
pub async fn change_password(
    db: &DatabaseConnection,
    actor: &Actor,
    user: &user::Model,
    current_session: i64,
    current: &str,
    new: &str,
) -> DomainResult<()> {
    if !verify_password(current.to_owned(), user.password_hash.clone()).await {
        return Err(DomainError::invalid(
            "current_password",
            "That is not your current password.",
        ));
    }
    let new = validate::new_password("new_password", new).map_err(|e| DomainError::Invalid(vec![e]))?;
    let hash = hash_password(new).await?;
    let txn = begin_write(db).await?;
    let mut row: user::ActiveModel = user.clone().into();
    row.password_hash = Set(hash);
    user::Entity::update(row).exec(&txn).await?;
    let ended = end_other_sessions(&txn, user.id, current_session).await?;
    let diff = json!({ "password": { "before": audit::REDACTED, "after": audit::REDACTED },
                       "other_sessions_ended": { "before": null, "after": ended } });
    audit::record(&txn, actor, user_entry("user.password_changed", user, diff)).await?;
    txn.commit().await?;
    Ok(())
}

/// The user's live sessions, newest first.
///
/// # Errors
/// Database failure.
pub async fn sessions(db: &DatabaseConnection, user_id: i64) -> DomainResult<Vec<session::Model>> {
    // A user's sessions span the accounts they switch between.
    Ok(session::Entity::find_across_accounts()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::ExpiresAt.gt(now_ms()))
        .filter(session::Column::PendingTwoFactor.eq(false))
        .order_by_desc(session::Column::Id)
        .all(db)
        .await?)
}

/// "Sign out everywhere else": ends every session of the user but the current one.
///
/// # Errors
/// Database failure.
pub async fn sign_out_everywhere(
    db: &DatabaseConnection,
    actor: &Actor,
    user: &user::Model,
    current_session: i64,
) -> DomainResult<u64> {
    let txn = begin_write(db).await?;
    let ended = end_other_sessions(&txn, user.id, current_session).await?;
    let diff = json!({ "other_sessions_ended": { "before": null, "after": ended } });
    audit::record(&txn, actor, user_entry("user.signed_out_everywhere", user, diff)).await?;
    txn.commit().await?;
    Ok(ended)
}

/// Turns the account's "every member uses two-factor" rule on or off (owners only).
///
/// # Errors
/// `Forbidden` for admins and viewers; `NotFound` for an unknown account.
pub async fn require_two_factor(db: &DatabaseConnection, actor: &Actor, role: Role, on: bool) -> DomainResult<()> {
    if role != Role::Owner {
        return Err(DomainError::Forbidden(
            "Only owners can require two-factor login for the account.".into(),
        ));
    }
    let txn = begin_write(db).await?;
    let current = account::Entity::find_by_id(actor.account_id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound)?;
    if current.require_two_factor == on {
        return Ok(());
    }
    let mut row: account::ActiveModel = current.clone().into();
    row.require_two_factor = Set(on);
    account::Entity::update(row).exec(&txn).await?;
    let entry = Entry {
        action: "account.two_factor_required",
        target_type: "account",
        target_id: Some(current.id.to_string()),
        target_label: current.name,
        diff: json!({ "require_two_factor": { "before": !on, "after": on } }),
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(())
}
