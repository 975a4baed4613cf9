//! The store stage of ingest: events (a message stored twice is a duplicate, by its
//! `(app, messageId)`) and the event-name catalog.

use std::collections::HashMap;

use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, QueryTrait, Set};

use entity::{app, event, event_type};

use super::Job;
use crate::domain::DomainResult;
use crate::domain::message::Message;

/// Rows per multi-row insert (at most 16 columns each; SQLite allows 32,766 parameters).
pub(super) const INSERT_CHUNK: usize = 500;

/// Inserts the events of every job; returns the id of each one stored now by `(app, messageId)`.
/// A message whose `(app, messageId)` was stored before is left out (a duplicate).
pub(super) async fn store_events(
    txn: &DatabaseTransaction,
    jobs: &[Job],
    now: i64,
) -> DomainResult<HashMap<(i64, String), i64>> {
    let rows: Vec<event::ActiveModel> = jobs
        .iter()
        .flat_map(|j| j.messages.iter().map(|m| event_row(&j.app, m, now)))
        .collect();
    let mut stored = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut insert = event::Entity::insert_many(chunk.to_vec())
            .on_conflict_do_nothing_on([event::Column::AppId, event::Column::MessageId]);
        // Only the keys come back, not the bodies just sent.
        let returning = Query::returning().columns([event::Column::Id, event::Column::AppId, event::Column::MessageId]);
        let statement = txn.get_database_backend().build(insert.query().returning(returning));
        for row in txn.query_all_raw(statement).await? {
            let key = (
                row.try_get::<i64>("", "app_id")?,
                row.try_get::<String>("", "message_id")?,
            );
            stored.insert(key, row.try_get::<i64>("", "id")?);
        }
    }
    Ok(stored)
}

/// Inserts one (derived) event; `None` when its `(app, messageId)` is already stored.
pub(super) async fn store_event(
    txn: &DatabaseTransaction,
    app: &app::Model,
    m: &Message,
    now: i64,
) -> DomainResult<Option<i64>> {
    let result = event::Entity::insert(event_row(app, m, now))
        .on_conflict_do_nothing_on([event::Column::AppId, event::Column::MessageId])
        .exec(txn)
        .await?;
    Ok(match result {
        sea_orm::TryInsertResult::Inserted(r) => Some(r.last_insert_id),
        _ => None,
    })
}

fn event_row(app: &app::Model, m: &Message, now: i64) -> event::ActiveModel {
    event::ActiveModel {
        account_id: Set(app.account_id),
        app_id: Set(app.id),
        message_id: Set(m.message_id.clone()),
        kind: Set(m.kind.as_str().to_owned()),
        name: Set(m.name.clone()),
        user_id: Set(m.user_id.clone()),
        anonymous_id: Set(m.anonymous_id.clone()),
        group_id: Set(m.group_id.clone()),
        timestamp: Set(m.timestamp_ms),
        received_at: Set(now),
        body: Set(m.body.to_string()),
        ..Default::default()
    }
}

/// Adds a track event's name to the catalog the first time it is seen.
pub(super) async fn discover_event_type(
    txn: &DatabaseTransaction,
    account_id: i64,
    name: &str,
    now: i64,
) -> DomainResult<()> {
    let row = event_type::ActiveModel {
        account_id: Set(account_id),
        name: Set(name.to_owned()),
        description: Set(String::new()),
        archived: Set(false),
        source: Set("traffic".into()),
        created_at: Set(now),
        ..Default::default()
    };
    event_type::Entity::insert(row)
        .on_conflict_do_nothing_on([event_type::Column::AccountId, event_type::Column::Name])
        .exec(txn)
        .await?;
    Ok(())
}
