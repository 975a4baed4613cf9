//! Batch deliveries: events for a batching webhook collect in one `collecting` delivery, which
//! closes — its body frozen as a JSON array, in arrival order — when it reaches the webhook's
//! max events (at ingest) or its max wait (by [`close_due`], run by the workers).

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

use entity::delivery::DeliveryStatus;
use entity::tenant::AccountScoped;
use entity::{app, delivery, delivery_item, event, webhook};

use super::webhooks::Webhook;
use super::{DomainError, DomainResult, payloads, stored_json};
use crate::db::begin_write;

/// Closes batch `delivery_id` if it is still collecting: renders every event with the webhook's
/// format and freezes the array as the body; the delivery becomes due now. Returns whether this
/// call closed it (another process may have been first).
///
/// # Errors
/// Database failure.
pub async fn close(conn: &impl ConnectionTrait, delivery_id: i64, now: i64) -> DomainResult<bool> {
    // Batches close from ingest and from the timer, which serves every account; from here on
    // every read is scoped to the batch's own account.
    let Some(batch) = delivery::Entity::find_by_id_across_accounts(delivery_id)
        .one(conn)
        .await?
    else {
        return Ok(false);
    };
    if batch.status != DeliveryStatus::Collecting {
        return Ok(false);
    }
    let account_id = batch.account_id;
    let hook_model = webhook::Entity::find_by_id_in(account_id, batch.webhook_id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)?;
    let hook = Webhook::from_model(hook_model)?;
    let items = delivery_item::Entity::find()
        .filter(delivery_item::Column::DeliveryId.eq(delivery_id))
        .order_by_asc(delivery_item::Column::EventId)
        .all(conn)
        .await?;
    let events = event::Entity::find_in(account_id)
        .filter(event::Column::Id.is_in(items.iter().map(|i| i.event_id).collect::<Vec<_>>()))
        .order_by_asc(event::Column::Id)
        .all(conn)
        .await?;
    let mut tokens: HashMap<i64, String> = HashMap::new();
    let mut bodies = Vec::with_capacity(events.len());
    for e in &events {
        if let std::collections::hash_map::Entry::Vacant(slot) = tokens.entry(e.app_id) {
            let token = app::Entity::find_by_id_in(account_id, e.app_id)
                .one(conn)
                .await?
                .map(|a| a.app_token)
                .unwrap_or_default();
            slot.insert(token);
        }
        let body: Value = stored_json::parse("events.body", e.id, &e.body)?;
        let token = tokens.get(&e.app_id).map_or("", String::as_str);
        bodies.push(payloads::render(conn, &hook, token, e.account_id, &body).await?);
    }
    let count = i32::try_from(bodies.len()).unwrap_or(i32::MAX);
    let closed = delivery::Entity::update_many_in(account_id)
        .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Pending))
        .col_expr(
            delivery::Column::Body,
            Expr::value(herald_jobs::payload::batch(bodies).to_string()),
        )
        .col_expr(delivery::Column::EventCount, Expr::value(count))
        .col_expr(delivery::Column::EventName, Expr::value(format!("batch of {count}")))
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::Id.eq(delivery_id))
        .filter(collecting())
        .exec(conn)
        .await?;
    Ok(closed.rows_affected == 1)
}

/// The open batches (`status = 'collecting'`), written out so the planner can use the partial
/// index `deliveries_collecting` (a bound status value would not prove its predicate).
pub(crate) fn collecting() -> sea_orm::sea_query::SimpleExpr {
    Expr::cust(format!("deliveries.status = '{}'", DeliveryStatus::Collecting.as_str()))
}

/// Closes every batch whose max wait has passed; returns how many it closed (the caller wakes
/// the workers when that is more than zero). Each batch closes in its own transaction.
///
/// # Errors
/// Database failure.
pub async fn close_due(db: &DatabaseConnection, now: i64) -> DomainResult<usize> {
    // The timer closes every account's due batches.
    let due: Vec<i64> = delivery::Entity::find_across_accounts()
        .select_only()
        .column(delivery::Column::Id)
        .filter(collecting())
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .limit(100)
        .into_tuple()
        .all(db)
        .await?;
    let mut closed = 0;
    for id in due {
        let txn = begin_write(db).await?;
        if close(&txn, id, now).await? {
            if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
                txn.execute_unprepared(herald_jobs::queue::notify_sql()).await?;
            }
            closed += 1;
        }
        txn.commit().await?;
    }
    Ok(closed)
}
