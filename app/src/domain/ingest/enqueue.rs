//! The enqueue stage of ingest: a delivery per matching webhook, ready now with its body
//! frozen, or a place in the webhook's open batch.

use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};

use entity::delivery::DeliveryStatus;
use entity::spec::Batching;
use entity::tenant::AccountScoped;
use entity::{app, delivery, delivery_item};

use crate::domain::message::Message;
use crate::domain::webhooks::Webhook;
use crate::domain::{DomainResult, batches, payloads};

/// Queues `m` for `hook`: a ready delivery with its body frozen now (added to `ready`, inserted
/// with the rest of the group), or a place in the webhook's open batch (closed when full here,
/// or after its wait by the batch closer).
pub(super) async fn enqueue(
    txn: &DatabaseTransaction,
    hook: &Webhook,
    app: &app::Model,
    m: &Message,
    event_id: i64,
    now: i64,
    ready: &mut Vec<delivery::ActiveModel>,
) -> DomainResult<usize> {
    match hook.spec.batching {
        Batching::Off => {
            let body = payloads::render(txn, hook, &app.app_token, app.account_id, &m.body).await?;
            ready.push(ready_row(
                hook,
                Some(event_id),
                m.name.clone(),
                body.to_string(),
                1,
                "scheduled",
                now,
            ));
        }
        Batching::On {
            max_events,
            max_wait_secs,
        } => {
            let open = delivery::Entity::find_in(hook.model.account_id)
                .filter(delivery::Column::WebhookId.eq(hook.model.id))
                .filter(crate::domain::batches::collecting())
                .one(txn)
                .await?;
            let batch = match open {
                Some(b) => b,
                None => {
                    delivery::ActiveModel {
                        account_id: Set(hook.model.account_id),
                        webhook_id: Set(hook.model.id),
                        event_id: Set(None),
                        status: Set(DeliveryStatus::Collecting),
                        lane: Set(0),
                        attempts: Set(0),
                        next_attempt_at: Set(now + i64::from(max_wait_secs) * 1000),
                        lease_until: Set(None),
                        trigger: Set("scheduled".into()),
                        body: Set(None),
                        event_count: Set(0),
                        event_name: Set(None),
                        last_status: Set(None),
                        last_error: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    }
                    .insert(txn)
                    .await?
                }
            };
            delivery_item::Entity::insert(delivery_item::ActiveModel {
                delivery_id: Set(batch.id),
                event_id: Set(event_id),
            })
            .exec_without_returning(txn)
            .await?;
            let count = batch.event_count + 1;
            let mut active: delivery::ActiveModel = batch.clone().into();
            active.event_count = Set(count);
            active.updated_at = Set(now);
            delivery::Entity::update_in(hook.model.account_id, active)?
                .exec(txn)
                .await?;
            if u32::try_from(count).unwrap_or(0) >= max_events {
                batches::close(txn, batch.id, now).await?;
            }
        }
    }
    Ok(1)
}

/// A delivery that is due now with its body frozen (insert it, or collect it for a multi-row
/// insert).
pub(crate) fn ready_row(
    hook: &Webhook,
    event_id: Option<i64>,
    event_name: Option<String>,
    body: String,
    event_count: i32,
    trigger: &str,
    now: i64,
) -> delivery::ActiveModel {
    delivery::ActiveModel {
        account_id: Set(hook.model.account_id),
        webhook_id: Set(hook.model.id),
        event_id: Set(event_id),
        status: Set(DeliveryStatus::Pending),
        lane: Set(0),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        trigger: Set(trigger.to_owned()),
        body: Set(Some(body)),
        event_count: Set(event_count),
        event_name: Set(event_name),
        last_status: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}
