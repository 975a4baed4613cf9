//! Ingest: validated Segment messages become events, profile updates, catalog entries and one
//! delivery per matching webhook — all in one transaction, so an acknowledged event is on disk
//! together with its queue rows, and a rejected request stores nothing.

mod matching;
pub mod message;
mod profiles;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryTrait, Set,
};
use serde_json::Value;

use entity::delivery::DeliveryStatus;
use entity::{api_token, app, delivery, delivery_item, event, event_type};
use herald_jobs::spec::Batching;

pub use matching::enabled_webhooks;
pub use message::{Kind, Message};

use super::credential_cache::CredentialCache;
use super::webhooks::Webhook;
use super::{DomainError, DomainResult};
use crate::db::group_commit::{GroupCommit, GroupFuture, GroupWork};
use crate::db::now_ms;

/// What an ingest call stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Messages stored now.
    pub accepted: usize,
    /// Messages whose `messageId` this app had already sent: acknowledged, nothing stored.
    pub duplicates: usize,
    /// Deliveries queued (or batch slots filled).
    pub deliveries: usize,
}

/// One ingest request: validated messages of one app.
pub struct Job {
    pub app: app::Model,
    pub messages: Vec<Message>,
}

/// The ingest writer: requests that arrive together are stored in one transaction (see
/// [`crate::db::group_commit`]). Build one per process with [`Ingestor::start`].
pub type Ingestor = GroupCommit<IngestWork>;

/// Stores ingest [`Job`]s: events, profile updates, catalog entries and deliveries.
pub struct IngestWork;

/// Most requests stored in one transaction.
const MAX_GROUP: usize = 64;

impl IngestWork {
    /// Starts the ingest writer on `writer` (see [`crate::db::connect_writer`]).
    #[must_use]
    pub fn start(writer: DatabaseConnection) -> Ingestor {
        GroupCommit::start(writer, IngestWork, MAX_GROUP)
    }
}

impl GroupWork for IngestWork {
    const NAME: &'static str = "ingest";
    type Job = Job;
    type Output = Outcome;
    type Error = DomainError;

    fn apply<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        jobs: &'a [Job],
    ) -> GroupFuture<'a, Vec<Outcome>, DomainError> {
        Box::pin(store_group(txn, jobs))
    }
}

/// Stores the jobs of one group in order. The events go first, in multi-row inserts; then each
/// message updates the profiles and is matched in order. Webhooks are read once per account,
/// event names are added to the catalog once, and ready deliveries are inserted together at
/// the end.
async fn store_group(txn: &DatabaseTransaction, jobs: &[Job]) -> DomainResult<Vec<Outcome>> {
    let now = now_ms();
    let mut stored = store_events(txn, jobs, now).await?;
    let mut hooks_by_account: HashMap<i64, Vec<Webhook>> = HashMap::new();
    let mut known_names: HashSet<(i64, String)> = HashSet::new();
    let mut ready = Vec::new();
    let mut outcomes = Vec::with_capacity(jobs.len());
    for Job { app, messages } in jobs {
        let hooks = match hooks_by_account.entry(app.account_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(enabled_webhooks(txn, app.account_id).await?),
        };
        let mut outcome = Outcome::default();
        for m in messages {
            // Taken out, so a second message with the same id in this group is a duplicate too.
            let Some(event_id) = stored.remove(&(app.id, m.message_id.clone())) else {
                outcome.duplicates += 1;
                continue;
            };
            outcome.accepted += 1;
            profiles::apply(txn, app.account_id, m, now).await?;
            if let (Kind::Track, Some(name)) = (m.kind, &m.name)
                && known_names.insert((app.account_id, name.clone()))
            {
                discover_event_type(txn, app.account_id, name, now).await?;
            }
            for hook in hooks.iter().filter(|h| matching::matches(h, app.id, m)) {
                outcome.deliveries += enqueue(txn, hook, app, m, event_id, now, &mut ready).await?;
            }
            // Derived NEW_VISITOR / NEW_VISIT events of a page: stored and queued like sent ones.
            for d in super::visits::derive(txn, app, m).await? {
                let Some(derived_id) = store_event(txn, app, &d, now).await? else {
                    continue;
                };
                for hook in hooks.iter().filter(|h| matching::matches(h, app.id, &d)) {
                    outcome.deliveries += enqueue(txn, hook, app, &d, derived_id, now, &mut ready).await?;
                }
            }
        }
        outcomes.push(outcome);
    }
    for chunk in ready.chunks(INSERT_CHUNK) {
        delivery::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres && outcomes.iter().any(|o| o.deliveries > 0) {
        txn.execute_unprepared(herald_jobs::queue::notify_sql()).await?;
    }
    Ok(outcomes)
}

/// Rows per multi-row insert (at most 16 columns each; SQLite allows 32,766 parameters).
const INSERT_CHUNK: usize = 500;

/// Inserts the events of every job; returns the id of each one stored now by `(app, messageId)`.
/// A message whose `(app, messageId)` was stored before is left out (a duplicate).
async fn store_events(txn: &DatabaseTransaction, jobs: &[Job], now: i64) -> DomainResult<HashMap<(i64, String), i64>> {
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
async fn store_event(txn: &DatabaseTransaction, app: &app::Model, m: &Message, now: i64) -> DomainResult<Option<i64>> {
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
async fn discover_event_type(txn: &DatabaseTransaction, account_id: i64, name: &str, now: i64) -> DomainResult<()> {
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

/// Queues `m` for `hook`: a ready delivery with its body frozen now (added to `ready`, inserted
/// with the rest of the group), or a place in the webhook's open batch (closed when full here,
/// or after its wait by the batch closer).
async fn enqueue(
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
            let body = matching::render(txn, hook, &app.app_token, app.account_id, &m.body, false).await?;
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
            let open = delivery::Entity::find()
                .filter(delivery::Column::WebhookId.eq(hook.model.id))
                .filter(delivery::Column::Status.eq(DeliveryStatus::Collecting))
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
            active.update(txn).await?;
            if u32::try_from(count).unwrap_or(0) >= max_events {
                super::batches::close(txn, batch.id, now).await?;
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

/// The body `hook` sends for a stored event (batch items are rendered when the batch closes).
///
/// # Errors
/// Database failure.
pub async fn render_for(
    conn: &impl ConnectionTrait,
    hook: &Webhook,
    app_token: &str,
    account_id: i64,
    event: &Value,
) -> DomainResult<Value> {
    matching::render(conn, hook, app_token, account_id, event, false).await
}

/// Looks up an app by its Segment write key, from `credentials` when it was read less than
/// their TTL ago (a Segment request then costs no query for authentication). An unknown key is
/// not cached.
///
/// # Errors
/// Database failure.
pub async fn app_by_write_key(
    conn: &impl ConnectionTrait,
    credentials: &CredentialCache,
    write_key: &str,
) -> DomainResult<Option<Arc<app::Model>>> {
    if let Some(app) = credentials.app(write_key) {
        return Ok(Some(app));
    }
    let read_at = Instant::now();
    let found = app::Entity::find()
        .filter(app::Column::WriteKey.eq(write_key))
        .one(conn)
        .await?;
    Ok(found.map(|app| credentials.remember_app(app, read_at)))
}

/// The app whose events an ingest token sends: the token's own app, or the account's only app
/// for a token tied to none; cached like the token itself (see [`CredentialCache`]).
///
/// # Errors
/// `Forbidden` for a token tied to no app when the account has several; `NotFound` when the
/// token's app is gone; database failure.
pub async fn app_for_token(
    conn: &impl ConnectionTrait,
    credentials: &CredentialCache,
    token: &api_token::Model,
) -> DomainResult<Arc<app::Model>> {
    if let Some(app) = credentials.ingest_app(token.id) {
        return Ok(app);
    }
    let read_at = Instant::now();
    let app = match token.app_id {
        Some(id) => super::apps::get(conn, token.account_id, id).await?,
        None => {
            let mut all = super::apps::all(conn, token.account_id).await?;
            if all.len() != 1 {
                return Err(super::DomainError::Forbidden(
                    "This token is not tied to an app and the account has several: create an ingest token for one app."
                        .into(),
                ));
            }
            all.remove(0)
        }
    };
    Ok(credentials.remember_ingest_app(token.id, app, read_at))
}

/// The stored body of an event of the account.
///
/// # Errors
/// `NotFound`; a corrupt body is a database error.
pub async fn event_body(conn: &impl ConnectionTrait, account_id: i64, event_id: i64) -> DomainResult<Value> {
    let e = event::Entity::find_by_id(event_id)
        .filter(event::Column::AccountId.eq(account_id))
        .one(conn)
        .await?
        .ok_or(super::DomainError::NotFound)?;
    crate::domain::stored_json::parse("events.body", &e.body)
}

/// The body `hook` sends for a **Send Test** sample event: the same rendering as a real event,
/// with `"test": true` added in the `event` and `envelope` formats.
///
/// # Errors
/// Database failure.
pub async fn render_test(
    conn: &impl ConnectionTrait,
    hook: &Webhook,
    app_token: &str,
    account_id: i64,
    event: &Value,
) -> DomainResult<Value> {
    matching::render(conn, hook, app_token, account_id, event, true).await
}
