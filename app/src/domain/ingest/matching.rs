//! Which webhooks take an event, and the body each one receives.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use entity::webhook;
use herald_jobs::payload::{self, PayloadContext};
use herald_jobs::spec::{EventType, PayloadFormat, matches_event};

use super::message::{Kind, Message};
use super::profiles;
use crate::domain::DomainResult;
use crate::domain::webhooks::Webhook;

/// The account's enabled webhooks.
///
/// # Errors
/// Database failure or a corrupt stored webhook.
pub async fn enabled_webhooks(conn: &impl ConnectionTrait, account_id: i64) -> DomainResult<Vec<Webhook>> {
    webhook::Entity::find()
        .filter(webhook::Column::AccountId.eq(account_id))
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

/// The payload `hook` sends for `event`, with the chosen properties read from the stored
/// profiles now (the plain `event` format uses none, so it reads nothing).
///
/// # Errors
/// Database failure.
pub async fn render(
    conn: &impl ConnectionTrait,
    hook: &Webhook,
    app_token: &str,
    account_id: i64,
    event: &Value,
    test: bool,
) -> DomainResult<Value> {
    let user_id = event.get("userId").and_then(Value::as_str);
    let found = if hook.spec.payload_format == PayloadFormat::Event {
        profiles::Found::default()
    } else {
        profiles::lookup(conn, account_id, user_id, event.get("groupId").and_then(Value::as_str)).await?
    };
    let ctx = PayloadContext {
        event,
        app_token,
        user_id,
        user_traits: &found.user_traits,
        company_id: found.company_id.as_deref(),
        company_traits: &found.company_traits,
        test,
    };
    Ok(payload::build(&hook.spec.payload_format, &hook.spec.properties, &ctx))
}
