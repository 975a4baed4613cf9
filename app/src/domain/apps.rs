//! Apps: the tenant's event sources, each with a public app token and a Segment write key.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, QueryOrder, Set};
use serde_json::json;

use entity::app;
use entity::tenant::AccountScoped;

use super::audit::{self, Actor, Entry};
use super::page::{Page, PageRequest};
use super::{DomainError, DomainResult, validate};
use crate::crypto;
use crate::db::begin_write;
use crate::timestamps::now_ms;

/// Creates an app in the actor's account inside an open transaction (signup uses this too).
///
/// # Errors
/// `Invalid` for a bad name; database failure.
pub async fn create_in(conn: &impl ConnectionTrait, actor: &Actor, name: &str) -> DomainResult<app::Model> {
    let name = validate::name("name", name).map_err(|e| DomainError::Invalid(vec![e]))?;
    let created = app::ActiveModel {
        account_id: Set(actor.account_id),
        name: Set(name.clone()),
        app_token: Set(format!("AP-{}", crypto::random_hex(5))),
        write_key: Set(format!("wk_{}", crypto::random_hex(16))),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let entry = Entry {
        action: "app.created",
        target_type: "app",
        target_id: Some(created.id.to_string()),
        target_label: name.clone(),
        diff: json!({ "name": { "before": null, "after": name } }),
    };
    audit::record(conn, actor, entry).await?;
    Ok(created)
}

/// Creates an app with its audit row.
///
/// # Errors
/// `Invalid` for a bad name.
pub async fn create(db: &DatabaseConnection, actor: &Actor, name: &str) -> DomainResult<app::Model> {
    let txn = begin_write(db).await?;
    let created = create_in(&txn, actor, name).await?;
    txn.commit().await?;
    Ok(created)
}

/// Renames an app of the actor's account.
///
/// # Errors
/// `NotFound` for another account's app; `Invalid` for a bad name.
pub async fn rename(db: &DatabaseConnection, actor: &Actor, id: i64, name: &str) -> DomainResult<app::Model> {
    let name = validate::name("name", name).map_err(|e| DomainError::Invalid(vec![e]))?;
    let txn = begin_write(db).await?;
    let current = get(&txn, actor.account_id, id).await?;
    if current.name == name {
        return Ok(current);
    }
    let diff = json!({ "name": { "before": current.name, "after": name } });
    let mut active: app::ActiveModel = current.into();
    active.name = Set(name.clone());
    let updated = app::Entity::update_in(actor.account_id, active)?.exec(&txn).await?;
    let entry = Entry {
        action: "app.renamed",
        target_type: "app",
        target_id: Some(id.to_string()),
        target_label: name,
        diff,
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(updated)
}

/// One app of the account.
///
/// # Errors
/// `NotFound` when it belongs to another account or does not exist.
pub async fn get(conn: &impl ConnectionTrait, account_id: i64, id: i64) -> DomainResult<app::Model> {
    app::Entity::find_by_id_in(account_id, id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)
}

/// One page of the account's apps, newest first.
///
/// # Errors
/// Database failure.
pub async fn list(conn: &impl ConnectionTrait, account_id: i64, req: PageRequest) -> DomainResult<Page<app::Model>> {
    let q = app::Entity::find_in(account_id);
    Ok(crate::domain::page::fetch(conn, q, app::Column::Id, req, |a| a.id).await?)
}

/// Every app of the account, oldest first (for pickers; accounts have a handful).
///
/// # Errors
/// Database failure.
pub async fn all(conn: &impl ConnectionTrait, account_id: i64) -> DomainResult<Vec<app::Model>> {
    Ok(app::Entity::find_in(account_id)
        .order_by_asc(app::Column::Id)
        .all(conn)
        .await?)
}
