//! The match stage of ingest: which webhooks take an event.

use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};

use entity::spec::{EventType, matches_event};
use entity::tenant::AccountScoped;
use entity::webhook;

use crate::domain::DomainResult;
use crate::domain::message::{Kind, Message};
use crate::domain::webhooks::Webhook;

/// The account's enabled webhooks.
///
/// # Errors
/// Database failure or a corrupt stored webhook.
pub async fn enabled_webhooks(conn: &impl ConnectionTrait, account_id: i64) -> DomainResult<Vec<Webhook>> {
    webhook::Entity::find_in(account_id)
        .filter(webhook::Column::Enabled.eq(true))
        .all(conn)
        .await?
        .into_iter()
        .map(Webhook::from_model)
        .collect()
}

fn event_type(kind: Kind) -> Option<EventType> {
    match kind {
        Kind::Track => Some(EventType::Track),
        Kind::Identify => Some(EventType::Identify),
        Kind::Page => Some(EventType::Page),
        Kind::Screen => Some(EventType::Screen),
        Kind::Group => Some(EventType::Group),
        Kind::Alias => None,
    }
}

/// Whether `hook` takes `m` from `app_id`: its event types, its live name patterns (for track
/// events), its app scope and its filter.
#[must_use]
pub fn matches(hook: &Webhook, app_id: i64, m: &Message) -> bool {
    let Some(t) = event_type(m.kind) else { return false };
    let name = if m.kind == Kind::Track { m.name.as_deref() } else { None };
    matches_event(&hook.spec.event_types, hook.spec.triggers.as_slice(), t, name)
        && hook.spec.app_scope.allows(app_id)
        && hook.spec.filter.evaluate(&m.body)
}
