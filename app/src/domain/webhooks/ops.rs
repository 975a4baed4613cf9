//! The `herald.webhook.disabled` operational event, inserted in the transaction that disables
//! the webhook (so it cannot be lost between the two); the breaker's events are inserted by the
//! queue's settle transaction (`herald_jobs::queue::ops`).

use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Set};

use entity::delivery::{self, DeliveryStatus};
use entity::spec::Triggers;
use entity::tenant::AccountScoped;
use entity::webhook;
use herald_jobs::queue::ops::{self, Endpoint};

use crate::domain::{DomainResult, stored_json};

/// Queues `herald.webhook.disabled` about `hook` to every enabled webhook of its account that
/// subscribes to it (never to `hook` itself, which no longer sends).
///
/// # Errors
/// Database failure.
pub async fn disabled(conn: &impl ConnectionTrait, hook: &webhook::Model, reason: &str, now: i64) -> DomainResult<()> {
    let mut subscribers = Vec::new();
    for w in webhook::Entity::find_in(hook.account_id)
        .filter(webhook::Column::Enabled.eq(true))
        .filter(webhook::Column::Id.ne(hook.id))
        .all(conn)
        .await?
    {
        let triggers: Triggers = stored_json::parse("webhooks.triggers", w.id, &w.triggers)?;
        if ops::subscribes(&triggers, ops::DISABLED) {
            subscribers.push(w);
        }
    }
    if subscribers.is_empty() {
        return Ok(());
    }
    let endpoint = Endpoint {
        public_id: hook.public_id.clone(),
        name: hook.name.clone(),
        url: hook.url.clone(),
    };
    let body = ops::body(ops::DISABLED, now, &endpoint, "disabled", None, None, Some(reason));
    let rows = subscribers.iter().map(|w| delivery::ActiveModel {
        account_id: Set(w.account_id),
        webhook_id: Set(w.id),
        event_id: Set(None),
        status: Set(DeliveryStatus::Pending),
        lane: Set(0),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        trigger: Set("scheduled".into()),
        body: Set(Some(body.clone())),
        event_count: Set(1),
        event_name: Set(Some(ops::DISABLED.to_owned())),
        last_status: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    delivery::Entity::insert_many(rows).exec_without_returning(conn).await?;
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_unprepared(herald_jobs::queue::notify_sql()).await?;
    }
    Ok(())
}
