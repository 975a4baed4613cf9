//! The account's event catalog: names webhooks can subscribe to. Entries are registered in the
//! dashboard or the API, or discovered from ingested traffic; archiving hides one from pickers
//! without breaking webhooks that already use it.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, QueryFilter, QueryOrder, Set};
use serde_json::json;

use entity::event_type;
use entity::tenant::AccountScoped;

use super::audit::{self, Actor, Entry};
use super::page::{Page, PageRequest};
use super::validate::{Errors, field_error};
use super::{DomainError, DomainResult};
use crate::db::begin_write;
use crate::timestamps::now_ms;

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 1000;

/// An event name: 1–200 printable characters, no `*` (that is pattern syntax).
///
/// # Errors
/// Empty, too long, control characters or `*`.
pub fn parse_name(field: &str, value: &str) -> Result<String, super::FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(field_error(field, "Event name can't be empty."));
    }
    if v.chars().count() > MAX_NAME {
        return Err(field_error(
            field,
            format!("Event name must be at most {MAX_NAME} characters."),
        ));
    }
    if v.chars().any(|c| c.is_control() || c == '*') {
        return Err(field_error(
            field,
            "Event name can't contain control characters or '*'.",
        ));
    }
    Ok(v.to_owned())
}

/// Registers an event type by hand (`source` is `dashboard` or `api`).
///
/// # Errors
/// `Invalid` fields; `Conflict` on `name` when the account already has it.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    description: &str,
    source: &'static str,
) -> DomainResult<event_type::Model> {
    let mut errors = Errors::default();
    let name = errors.take(parse_name("name", name));
    let description = description.trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION {
        errors.push(
            "description",
            format!("Description must be at most {MAX_DESCRIPTION} characters."),
        );
    }
    errors.finish()?;
    let Some(name) = name else {
        return Err(DomainError::invalid("name", "invalid input"));
    };
    let txn = begin_write(db).await?;
    if find_by_name(&txn, actor.account_id, &name).await?.is_some() {
        return Err(DomainError::conflict("name", "This event type already exists."));
    }
    let created = event_type::ActiveModel {
        account_id: Set(actor.account_id),
        name: Set(name.clone()),
        description: Set(description.clone()),
        archived: Set(false),
        source: Set(source.to_owned()),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let entry = Entry {
        action: "event_type.created",
        target_type: "event_type",
        target_id: Some(created.id.to_string()),
        target_label: name.clone(),
        diff: json!({ "name": { "before": null, "after": name }, "description": { "before": null, "after": description } }),
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(created)
}

async fn find_by_name(
    conn: &impl ConnectionTrait,
    account_id: i64,
    name: &str,
) -> DomainResult<Option<event_type::Model>> {
    Ok(event_type::Entity::find_in(account_id)
        .filter(event_type::Column::Name.eq(name))
        .one(conn)
        .await?)
}

/// Archives or restores an event type.
///
/// # Errors
/// `NotFound` for another account's entry.
pub async fn set_archived(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    archived: bool,
) -> DomainResult<event_type::Model> {
    let txn = begin_write(db).await?;
    let current = get(&txn, actor.account_id, id).await?;
    if current.archived == archived {
        return Ok(current);
    }
    let name = current.name.clone();
    let mut active: event_type::ActiveModel = current.into();
    active.archived = Set(archived);
    let updated = event_type::Entity::update_in(actor.account_id, active)?
        .exec(&txn)
        .await?;
    let entry = Entry {
        action: if archived {
            "event_type.archived"
        } else {
            "event_type.restored"
        },
        target_type: "event_type",
        target_id: Some(id.to_string()),
        target_label: name,
        diff: json!({ "archived": { "before": !archived, "after": archived } }),
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(updated)
}

/// One entry of the account's catalog.
///
/// # Errors
/// `NotFound` when it belongs to another account or does not exist.
pub async fn get(conn: &impl ConnectionTrait, account_id: i64, id: i64) -> DomainResult<event_type::Model> {
    event_type::Entity::find_by_id_in(account_id, id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)
}

/// One page of the catalog, newest first.
///
/// # Errors
/// Database failure.
pub async fn list(
    conn: &impl ConnectionTrait,
    account_id: i64,
    req: PageRequest,
) -> DomainResult<Page<event_type::Model>> {
    let q = event_type::Entity::find_in(account_id);
    Ok(crate::domain::page::fetch(conn, q, event_type::Column::Id, req, |e| e.id).await?)
}

/// Names of the account's active (not archived) event types, alphabetical: the form's picker.
///
/// # Errors
/// Database failure.
pub async fn active_names(conn: &impl ConnectionTrait, account_id: i64) -> DomainResult<Vec<String>> {
    Ok(event_type::Entity::find_in(account_id)
        .filter(event_type::Column::Archived.eq(false))
        .order_by_asc(event_type::Column::Name)
        .all(conn)
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect())
}
