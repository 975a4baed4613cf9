//! Ingest: validated Segment messages become events, profile updates, catalog entries and one
//! delivery per matching webhook — all in one transaction, so an acknowledged event is on disk
//! together with its queue rows, and a rejected request stores nothing.
//!
//! The pipeline, run by [`store_group`] for each group of requests: **parse** (the web layer,
//! with [`crate::domain::message`]) → **store** ([`store`]: events, catalog; and
//! [`crate::domain::profiles`]) → **derive visits** ([`crate::domain::visits`]) → **match**
//! ([`matching`]) → **enqueue** ([`enqueue`], closing full batches with
//! [`crate::domain::batches`]). Each stage is called from here and calls none of the stages
//! before it, nor this module.

pub(crate) mod enqueue;
mod matching;
mod store;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::Value;

use entity::tenant::AccountScoped;
use entity::{api_token, app, delivery, event};

use super::credential_cache::CredentialCache;
use super::message::{Kind, Message};
use super::webhooks::Webhook;
use super::{DomainError, DomainResult, apps, profiles, stored_json, visits};
use crate::db::group_commit::{GroupCommit, GroupFuture, GroupWork};
use crate::timestamps::now_ms;

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

/// Stores the jobs of one group in order: the pipeline. The events go first, in multi-row
/// inserts; then each message updates the profiles, its derived visit events are stored, and
/// each event is matched and enqueued in order. Webhooks are read once per account,
/// event names are added to the catalog once, and ready deliveries are inserted together at
/// the end.
async fn store_group(txn: &DatabaseTransaction, jobs: &[Job]) -> DomainResult<Vec<Outcome>> {
    let now = now_ms();
    let mut stored = store::store_events(txn, jobs, now).await?;
    let mut hooks_by_account: HashMap<i64, Vec<Webhook>> = HashMap::new();
    let mut known_names: HashSet<(i64, String)> = HashSet::new();
    let mut ready = Vec::new();
    let mut outcomes = Vec::with_capacity(jobs.len());
    for Job { app, messages } in jobs {
        let hooks = match hooks_by_account.entry(app.account_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(matching::enabled_webhooks(txn, app.account_id).await?),
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
                store::discover_event_type(txn, app.account_id, name, now).await?;
            }
            for hook in hooks.iter().filter(|h| matching::matches(h, app.id, m)) {
                outcome.deliveries += enqueue::enqueue(txn, hook, app, m, event_id, now, &mut ready).await?;
            }
            // Derived NEW_VISITOR / NEW_VISIT events of a page: stored and queued like sent ones.
            for d in visits::derive(txn, app, m).await? {
                let Some(derived_id) = store::store_event(txn, app, &d, now).await? else {
                    continue;
                };
                for hook in hooks.iter().filter(|h| matching::matches(h, app.id, &d)) {
                    outcome.deliveries += enqueue::enqueue(txn, hook, app, &d, derived_id, now, &mut ready).await?;
                }
            }
        }
        outcomes.push(outcome);
    }
    for chunk in ready.chunks(store::INSERT_CHUNK) {
        delivery::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres && outcomes.iter().any(|o| o.deliveries > 0) {
        txn.execute_unprepared(herald_jobs::queue::notify_sql()).await?;
    }
    Ok(outcomes)
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
    // A write key is unique across accounts: it is what says which account sends.
    let found = app::Entity::find_across_accounts()
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
        Some(id) => apps::get(conn, token.account_id, id).await?,
        None => {
            let mut all = apps::all(conn, token.account_id).await?;
            if all.len() != 1 {
                return Err(DomainError::Forbidden(
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
    let e = event::Entity::find_by_id_in(account_id, event_id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)?;
    stored_json::parse("events.body", e.id, &e.body)
}
