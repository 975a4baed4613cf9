//! Derived visitor events (seed 001): `NEW_VISITOR` and `NEW_VISIT`, built from ingested `page`
//! events inside the same ingest transaction.
//!
//! Rules:
//! - A visitor is a page event's `anonymousId`, else its `userId`, within one account (all its
//!   apps): browsing before and after login stays one visitor as long as the SDK keeps the
//!   anonymous id.
//! - A visit ends after the account's `visit_timeout_minutes` (30 by default, 1–1440) without a
//!   page, measured on the events' own timestamps, not on arrival — so a replayed or batched
//!   backlog splits into the same visits as live traffic. Pages older than the visitor's latest
//!   page never open a visit.
//! - The first page of a visit emits `NEW_VISIT`; a visitor's first page ever also emits
//!   `NEW_VISITOR`, before the visit. Both are ordinary `track` events (stored in `events`,
//!   matched by webhook triggers and queued like any other) with derived message ids
//!   (`visitor-<row id>`, `visit-<visit id>`), so a repeated page `messageId` — which ingest
//!   acknowledges without calling [`derive`] — and the events' unique index can't duplicate them.
//! - Exactly once under concurrency on SQLite and PostgreSQL: see [`store`].
//!
//! Both names are built-in entries (source `builtin`) of every account's event catalog, so the
//! webhook form offers them; a tenant's own track event with one of these names is not
//! prevented, and would match the same webhooks.

mod device;
mod payload;
mod store;
mod traffic;

/// The user-agent parsing of visits, also used to summarise the audit log's user agents.
pub use device::summary as user_agent_summary;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use entity::tenant::AccountScoped;
use entity::{account, app, company, event_type, profile};

use super::message::{Kind, Message};
use super::{DomainError, DomainResult};
use payload::{Company, VisitFacts};
use store::Step;

/// The derived event for a visitor's first page.
pub const NEW_VISITOR: &str = "NEW_VISITOR";
/// The derived event for the first page of a visit.
pub const NEW_VISIT: &str = "NEW_VISIT";

/// The built-in catalog entries: (name, description). The migration that introduced them seeds
/// the same rows for accounts that existed then.
pub const BUILTINS: [(&str, &str); 5] = [
    (
        NEW_VISITOR,
        "Built in: derived by Herald from page events, the first page ever of a visitor.",
    ),
    (
        NEW_VISIT,
        "Built in: derived by Herald from page events, the first page of a visit.",
    ),
    (
        herald_jobs::queue::ops::FAILING,
        "Built in: Herald paused one of your webhooks because its endpoint kept failing (circuit breaker open).",
    ),
    (
        herald_jobs::queue::ops::RECOVERED,
        "Built in: the endpoint of a paused webhook answered again; its deliveries flow again.",
    ),
    (
        herald_jobs::queue::ops::DISABLED,
        "Built in: Herald disabled one of your webhooks (failing for days, or its endpoint answered 410 Gone).",
    ),
];

/// Default and bounds of `accounts.visit_timeout_minutes`.
pub const DEFAULT_TIMEOUT_MINUTES: i32 = 30;
/// Smallest accepted visit timeout, in minutes.
pub const MIN_TIMEOUT_MINUTES: i32 = 1;
/// Largest accepted visit timeout, in minutes (a day).
pub const MAX_TIMEOUT_MINUTES: i32 = 1440;

/// Why visit tracking could not decide; the ingest transaction is rolled back and the request
/// fails (SDKs retry), rather than guessing and emitting a duplicate or losing a visit.
#[derive(Debug, thiserror::Error)]
pub enum VisitError {
    /// Other pages of the same visitor kept committing between our read and our update.
    #[error("visitor state kept changing under concurrent pages")]
    Contended,
    /// The visitor row that blocked our insert is gone (its account is being deleted).
    #[error("visitor row disappeared")]
    Vanished,
}

impl From<VisitError> for DomainError {
    fn from(e: VisitError) -> Self {
        DomainError::Db(DbErr::Custom(e.to_string()))
    }
}

/// Adds the built-in event types to an account's catalog (idempotent); called at signup.
///
/// # Errors
/// Database failure.
pub async fn seed_builtins(conn: &impl ConnectionTrait, account_id: i64, now: i64) -> DomainResult<()> {
    for (name, description) in BUILTINS {
        event_type::Entity::insert(event_type::ActiveModel {
            account_id: Set(account_id),
            name: Set(name.to_owned()),
            description: Set(description.to_owned()),
            archived: Set(false),
            source: Set("builtin".into()),
            created_at: Set(now),
            ..Default::default()
        })
        .on_conflict_do_nothing_on([event_type::Column::AccountId, event_type::Column::Name])
        .exec(conn)
        .await?;
    }
    Ok(())
}

/// The single entry point from ingest: for a newly stored `page` event of `app`, records the page
/// on its visitor and returns the derived messages to store and enqueue after it (`NEW_VISITOR`
/// then `NEW_VISIT`, or `NEW_VISIT` alone, or nothing). Any other message returns nothing and
/// touches nothing.
///
/// # Errors
/// Database failure or [`VisitError`]; the caller's transaction then stores nothing.
pub async fn derive(conn: &impl ConnectionTrait, app: &app::Model, m: &Message) -> DomainResult<Vec<Message>> {
    if m.kind != Kind::Page {
        return Ok(Vec::new());
    }
    let Some(key) = m.anonymous_id.as_deref().or(m.user_id.as_deref()) else {
        return Ok(Vec::new());
    };
    let acct = account::Entity::find_by_id(app.account_id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)?;
    let timeout = acct
        .visit_timeout_minutes
        .clamp(MIN_TIMEOUT_MINUTES, MAX_TIMEOUT_MINUTES);
    let step = store::record_page(conn, acct.id, key, m.timestamp_ms, i64::from(timeout) * 60_000).await?;
    let (names, first_seen, visit_id, visitor_row) = match step {
        Step::SameVisit => return Ok(Vec::new()),
        Step::NewVisitor {
            row_id,
            first_seen,
            visit_id,
        } => (&[NEW_VISITOR, NEW_VISIT][..], first_seen, visit_id, Some(row_id)),
        Step::NewVisit { first_seen, visit_id } => (&[NEW_VISIT][..], first_seen, visit_id, None),
    };
    let company = company_of(conn, acct.id, m).await?;
    Ok(names
        .iter()
        .map(|name| {
            let message_id = match (*name, visitor_row) {
                (NEW_VISITOR, Some(row)) => format!("visitor-{row}"),
                _ => format!("visit-{visit_id}"),
            };
            let facts = VisitFacts {
                event: name,
                message_id: &message_id,
                visit_id: &visit_id,
                visitor_id: key,
                first_seen_ms: first_seen,
                company: company.clone(),
                hipaa: acct.hipaa_mode,
            };
            Message {
                kind: Kind::Track,
                name: Some((*name).to_owned()),
                body: payload::build(m, &facts),
                message_id,
                user_id: m.user_id.clone(),
                anonymous_id: m.anonymous_id.clone(),
                group_id: m.group_id.clone(),
                timestamp_ms: m.timestamp_ms,
            }
        })
        .collect())
}

/// The visitor's company: the page's `groupId`, else the group their user profile was last seen
/// in; `name` from the company's `name` trait, `domain` from `domain`, else the host of `website`.
async fn company_of(conn: &impl ConnectionTrait, account_id: i64, m: &Message) -> DomainResult<Company> {
    let mut group_id = m.group_id.clone();
    if group_id.is_none()
        && let Some(user_id) = &m.user_id
    {
        group_id = profile::Entity::find_in(account_id)
            .filter(profile::Column::UserId.eq(user_id.as_str()))
            .one(conn)
            .await?
            .and_then(|p| p.group_id);
    }
    let Some(group_id) = group_id else {
        return Ok(Company::default());
    };
    let Some(row) = company::Entity::find_in(account_id)
        .filter(company::Column::GroupId.eq(group_id))
        .one(conn)
        .await?
    else {
        return Ok(Company::default());
    };
    let traits: Value = super::stored_json::parse("companies.traits", row.id, &row.traits)?;
    let trait_text = |key: &str| {
        traits
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let domain = trait_text("domain").or_else(|| {
        trait_text("website").and_then(|w| {
            let with_scheme = if w.contains("://") { w } else { format!("https://{w}") };
            traffic::bare_host(&with_scheme)
        })
    });
    Ok(Company {
        name: trait_text("name"),
        domain,
    })
}
