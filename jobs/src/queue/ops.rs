//! Operational events: Herald's own events about a tenant's endpoints, so an on-call channel
//! hears of a broken endpoint before the customer does. A webhook subscribes by naming one
//! exactly as a pattern (`*` and prefixes never match them, as with the derived visitor events).
//!
//! They are deliveries like any other (same queue, same signature), inserted in the transaction
//! that changes the endpoint's state, so none is lost to a crash between the change and the
//! insert: the breaker's in the settle transaction ([`sqlite`], [`postgres`]), the disable in
//! its own (the app builds the row with [`body`] and [`subscribes`]).

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::{Postgres, Sqlite, Transaction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use entity::spec::{EventPattern, Triggers};

use crate::queue::QueueError;

/// A change of a webhook's breaker: the settle transaction inserts its operational events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The breaker opened: the endpoint failed `breaker_after` times in a row.
    Opened {
        account_id: i64,
        webhook_id: i64,
        failing_since: i64,
        next_probe_at: i64,
    },
    /// An open breaker closed on a success.
    Recovered { account_id: i64, webhook_id: i64 },
}

/// The breaker of a webhook opened: its deliveries wait while probes test the endpoint.
pub const FAILING: &str = "herald.webhook.failing";
/// An open breaker closed on a 2xx: the webhook's deliveries flow again.
pub const RECOVERED: &str = "herald.webhook.recovered";
/// Herald disabled a webhook (it failed for the whole auto-disable window, or answered 410).
pub const DISABLED: &str = "herald.webhook.disabled";
/// Every operational event name.
pub const NAMES: [&str; 3] = [FAILING, RECOVERED, DISABLED];

/// The webhook an operational event is about.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub public_id: String,
    pub name: String,
    pub url: String,
}

fn rfc3339(ms: i64) -> Value {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

fn time_or_null(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, rfc3339)
}

/// The JSON body of an operational event: its name, when, the webhook it is about, the state
/// it is now in (`paused`, `healthy`, `disabled`) and the times and reason that go with it.
#[must_use]
pub fn body(
    event: &str,
    at: i64,
    endpoint: &Endpoint,
    state: &str,
    failing_since: Option<i64>,
    next_probe_at: Option<i64>,
    reason: Option<&str>,
) -> String {
    json!({
        "type": event,
        "timestamp": rfc3339(at),
        "webhook": {"id": endpoint.public_id, "name": endpoint.name, "url": endpoint.url},
        "state": state,
        "failing_since": time_or_null(failing_since),
        "next_probe_at": time_or_null(next_probe_at),
        "reason": reason,
    })
    .to_string()
}

/// Whether a webhook with `triggers` subscribes to `event`: an enabled pattern naming it
/// exactly.
#[must_use]
pub fn subscribes(triggers: &Triggers, event: &str) -> bool {
    triggers
        .as_slice()
        .iter()
        .any(|t| t.enabled && matches!(&t.pattern, EventPattern::Exact(name) if name == event))
}

/// [`subscribes`], for the stored `triggers` column of webhook `id`. Corrupt text is logged as
/// an error naming the row and the webhook gets no operational event: the settle transaction
/// it is read in must not fail for one row.
fn stored_subscribes(id: i64, triggers: &str, event: &str) -> bool {
    match serde_json::from_str::<Triggers>(triggers) {
        Ok(t) => subscribes(&t, event),
        Err(e) => {
            tracing::error!(
                webhook.id = id,
                column = "webhooks.triggers",
                error = %e,
                "stored JSON is corrupt: the webhook gets no operational event until it is saved again"
            );
            false
        }
    }
}

/// What a breaker transition says, with the name of its event.
fn event_of(t: &Transition) -> (i64, i64, &'static str, &'static str, Option<i64>, Option<i64>) {
    match *t {
        Transition::Opened {
            account_id,
            webhook_id,
            failing_since,
            next_probe_at,
        } => (
            account_id,
            webhook_id,
            FAILING,
            "paused",
            Some(failing_since),
            Some(next_probe_at),
        ),
        Transition::Recovered { account_id, webhook_id } => (account_id, webhook_id, RECOVERED, "healthy", None, None),
    }
}

/// The rows to insert: `(account, subscriber webhook, event name, body)`.
type Row = (i64, i64, &'static str, String);

fn rows(
    transitions: &[Transition],
    subjects: &HashMap<i64, Endpoint>,
    candidates: &HashMap<i64, Vec<(i64, String)>>,
    now: i64,
) -> Vec<Row> {
    let mut out = Vec::new();
    for t in transitions {
        let (account, webhook, event, state, since, probe) = event_of(t);
        let Some(endpoint) = subjects.get(&webhook) else {
            continue;
        };
        let text = body(event, now, endpoint, state, since, probe, None);
        for (id, triggers) in candidates.get(&account).into_iter().flatten() {
            if stored_subscribes(*id, triggers, event) {
                out.push((account, *id, event, text.clone()));
            }
        }
    }
    out
}

const SUBJECT_SQLITE: &str = "SELECT public_id, name, url FROM webhooks WHERE id = ?1";
const SUBJECT_PG: &str = "SELECT public_id, name, url FROM webhooks WHERE id = $1";
const CANDIDATES_SQLITE: &str =
    "SELECT id, triggers FROM webhooks WHERE account_id = ?1 AND enabled AND triggers LIKE '%herald.webhook.%'";
const CANDIDATES_PG: &str =
    "SELECT id, triggers FROM webhooks WHERE account_id = $1 AND enabled AND triggers LIKE '%herald.webhook.%'";
const INSERT_SQLITE: &str = "INSERT INTO deliveries (account_id, webhook_id, status, lane, attempts, \
     next_attempt_at, \"trigger\", body, event_count, event_name, created_at, updated_at) \
     VALUES (?1, ?2, 'pending', 0, 0, ?3, 'scheduled', ?4, 1, ?5, ?3, ?3)";
const INSERT_PG: &str = "INSERT INTO deliveries (account_id, webhook_id, status, lane, attempts, \
     next_attempt_at, \"trigger\", body, event_count, event_name, created_at, updated_at) \
     VALUES ($1, $2, 'pending', 0, 0, $3, 'scheduled', $4, 1, $5, $3, $3)";

/// The statements of [`insert`] for one database.
struct Statements {
    subject: &'static str,
    candidates: &'static str,
    insert: &'static str,
}

const SQLITE: Statements = Statements {
    subject: SUBJECT_SQLITE,
    candidates: CANDIDATES_SQLITE,
    insert: INSERT_SQLITE,
};

const PG: Statements = Statements {
    subject: SUBJECT_PG,
    candidates: CANDIDATES_PG,
    insert: INSERT_PG,
};

/// SQLite: inserts the operational deliveries of `transitions` (inside the settle transaction).
pub(crate) async fn sqlite(
    txn: &mut Transaction<'static, Sqlite>,
    transitions: &[Transition],
    now: i64,
) -> Result<(), QueueError> {
    insert::<Sqlite>(&mut **txn, &SQLITE, transitions, now).await?;
    Ok(())
}

/// PostgreSQL: as [`sqlite`], with a `NOTIFY` so every process's workers hear of the rows.
pub(crate) async fn postgres(
    txn: &mut Transaction<'static, Postgres>,
    transitions: &[Transition],
    now: i64,
) -> Result<(), QueueError> {
    if insert::<Postgres>(&mut **txn, &PG, transitions, now).await? > 0 {
        sqlx::query(crate::queue::notify_sql()).execute(&mut **txn).await?;
    }
    Ok(())
}

/// Looks up the endpoint of each transition and the account's webhooks subscribed to
/// operational events, and inserts their deliveries: the same steps on either database, only
/// the SQL differs. Returns how many it inserted.
async fn insert<DB>(
    conn: &mut DB::Connection,
    sql: &Statements,
    transitions: &[Transition],
    now: i64,
) -> Result<usize, QueueError>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'r> (String, String, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64, String): sqlx::FromRow<'r, DB::Row>,
    for<'v> i64: sqlx::Encode<'v, DB> + sqlx::Type<DB>,
    for<'v> &'v str: sqlx::Encode<'v, DB> + sqlx::Type<DB>,
{
    let mut subjects = HashMap::new();
    let mut candidates = HashMap::new();
    for t in transitions {
        let (account, webhook, ..) = event_of(t);
        let subject: Option<(String, String, String)> = sqlx::query_as::<DB, _>(sql.subject)
            .bind(webhook)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some((public_id, name, url)) = subject {
            subjects.insert(webhook, Endpoint { public_id, name, url });
        }
        if candidates.contains_key(&account) {
            continue;
        }
        let found: Vec<(i64, String)> = sqlx::query_as::<DB, _>(sql.candidates)
            .bind(account)
            .fetch_all(&mut *conn)
            .await?;
        candidates.insert(account, found);
    }
    let rows = rows(transitions, &subjects, &candidates, now);
    for (account, webhook, event, text) in &rows {
        sqlx::query::<DB>(sql.insert)
            .bind(*account)
            .bind(*webhook)
            .bind(now)
            .bind(text.as_str())
            .bind(*event)
            .execute(&mut *conn)
            .await?;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use entity::spec::RESERVED_EVENT_NAMES;

    use super::NAMES;

    #[test]
    fn every_operational_event_name_is_reserved_in_the_spec() {
        for name in NAMES {
            assert!(RESERVED_EVENT_NAMES.contains(&name), "{name}");
        }
    }
}
