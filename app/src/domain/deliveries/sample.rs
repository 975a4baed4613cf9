//! **Send Test**: a realistic sample event for the webhook, rendered and signed like a real one,
//! sent through the normal queue as a delivery with `trigger = test` (which health ignores).

use std::time::Duration;

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use entity::delivery::DeliveryStatus;
use entity::spec::{EventPattern, EventType};
use entity::tenant::AccountScoped;
use entity::{delivery, delivery_attempt};
use herald_jobs::queue::DeliveryQueue;

use super::{notify, refuse_unless_sendable};
use crate::db::begin_write;
use crate::domain::webhooks::{self, Webhook};
use crate::domain::{DomainError, DomainResult, apps, ingest, payloads};
use crate::timestamps::now_ms;
use crate::timestamps::rfc3339;

/// What a test send did: the delivery and, if it came back in time, its first attempt.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub delivery: delivery::Model,
    /// `None` when the attempt had not finished within the webhook's timeout plus 2 s (it will
    /// still appear in the history).
    pub attempt: Option<delivery_attempt::Model>,
}

/// The sample's type and track name: the tenant's choice (a type name, or any other text as a
/// track event name), else the webhook's first event type with, for track, a name its first
/// pattern takes.
fn choose(hook: &Webhook, wanted: Option<&str>) -> (EventType, Option<String>) {
    if let Some(w) = wanted.map(str::trim).filter(|w| !w.is_empty()) {
        return match EventType::parse(w) {
            Ok(EventType::Track) => (EventType::Track, Some("Test Event".to_owned())),
            Ok(t) => (t, None),
            Err(_) => (EventType::Track, Some(w.to_owned())),
        };
    }
    let first = hook.spec.event_types.iter().next().unwrap_or(EventType::Track);
    if first != EventType::Track {
        return (first, None);
    }
    let name = match hook.spec.triggers.as_slice().first().map(|t| &t.pattern) {
        Some(EventPattern::Exact(n)) => n.clone(),
        Some(EventPattern::Prefix(p)) => format!("{p}.test"),
        Some(EventPattern::All) | None => "Test Event".to_owned(),
    };
    (EventType::Track, Some(name))
}

/// A Segment-spec event of `kind` as ingest would have stored it, with plausible content.
fn sample_event(kind: EventType, name: Option<&str>, now: i64) -> Value {
    let at = rfc3339(now);
    let mut e = json!({
        "type": kind.as_str(),
        "messageId": format!("test-{}", crate::crypto::random_hex(8)),
        "userId": "user_test_42",
        "anonymousId": "anon_test_42",
        "timestamp": at,
        "receivedAt": at,
        "context": {
            "library": { "name": "herald-send-test", "version": env!("CARGO_PKG_VERSION") },
            "page": { "path": "/pricing", "url": "https://www.example.com/pricing", "title": "Pricing", "referrer": "https://www.google.com/" },
            "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "timezone": "Europe/Paris"
        }
    });
    let extra = match kind {
        EventType::Track => json!({
            "event": name.unwrap_or("Test Event"),
            "properties": { "plan": "pro", "revenue": 49.0, "currency": "USD", "source": "send-test" }
        }),
        EventType::Identify => json!({
            "traits": { "email": "ada@example.com", "name": "Ada Lovelace", "plan": "pro", "createdAt": "2024-03-01T10:00:00Z" }
        }),
        EventType::Page => json!({
            "name": "Pricing",
            "properties": { "path": "/pricing", "url": "https://www.example.com/pricing", "title": "Pricing", "referrer": "https://www.google.com/" }
        }),
        EventType::Screen => json!({ "name": "Dashboard", "properties": { "variation": "dark mode" } }),
        EventType::Group => json!({
            "groupId": "company_test_7",
            "traits": { "name": "Example Corp", "industry": "Software", "employees": 120, "plan": "enterprise" }
        }),
    };
    if let (Value::Object(base), Value::Object(more)) = (&mut e, extra) {
        base.extend(more);
    }
    e
}

/// Sends a sample event (see [`choose`]) to the webhook now, through the queue, and waits up to
/// the webhook's timeout plus 2 s for the first attempt so the caller can show its result.
///
/// # Errors
/// `NotFound`; `Invalid` when the webhook is disabled.
pub async fn send_test(
    db: &DatabaseConnection,
    queue: &DeliveryQueue,
    account_id: i64,
    webhook_public_id: &str,
    event_name: Option<&str>,
) -> DomainResult<TestOutcome> {
    let hook = webhooks::get(db, account_id, webhook_public_id).await?;
    refuse_unless_sendable(&hook)?;
    let apps = apps::all(db, account_id).await?;
    let app_token = apps
        .iter()
        .find(|a| hook.spec.app_scope.allows(a.id))
        .map(|a| a.app_token.clone())
        .unwrap_or_default();
    let now = now_ms();
    let (kind, name) = choose(&hook, event_name);
    let event = sample_event(kind, name.as_deref(), now);
    let txn = begin_write(db).await?;
    let body = payloads::render_test(&txn, &hook, &app_token, account_id, &event).await?;
    let label = name.or_else(|| Some(kind.as_str().to_owned()));
    let d = ingest::enqueue::ready_row(&hook, None, label, body.to_string(), 1, "test", now)
        .insert(&txn)
        .await?;
    notify(&txn).await?;
    txn.commit().await?;
    queue.wake();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(hook.spec.timeout.secs()) + 2);
    loop {
        let outcome = outcome_of(db, d.clone()).await?;
        let finished = !matches!(
            outcome.delivery.status,
            DeliveryStatus::Pending | DeliveryStatus::InFlight
        );
        if outcome.attempt.is_some() || finished || tokio::time::Instant::now() >= deadline {
            return Ok(outcome);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The delivery `d` as it is now, with its first attempt if it has one.
async fn outcome_of(conn: &impl ConnectionTrait, d: delivery::Model) -> DomainResult<TestOutcome> {
    let attempt = delivery_attempt::Entity::find_in(d.account_id)
        .filter(delivery_attempt::Column::DeliveryId.eq(d.id))
        .order_by_asc(delivery_attempt::Column::Id)
        .one(conn)
        .await?;
    let delivery = delivery::Entity::find_by_id_in(d.account_id, d.id)
        .one(conn)
        .await?
        .unwrap_or(d);
    Ok(TestOutcome { delivery, attempt })
}

/// A test send of the webhook as it is now: what the page after **Send Test** shows (the
/// POST redirects there with the delivery's id, so a reload shows the result again instead of
/// sending again).
///
/// # Errors
/// `NotFound` unless `delivery_id` is a test delivery of this webhook of the account.
pub async fn test_outcome(
    conn: &impl ConnectionTrait,
    account_id: i64,
    webhook_public_id: &str,
    delivery_id: i64,
) -> DomainResult<TestOutcome> {
    let hook = webhooks::get(conn, account_id, webhook_public_id).await?;
    let d = delivery::Entity::find_by_id_in(account_id, delivery_id)
        .filter(delivery::Column::WebhookId.eq(hook.model.id))
        .filter(delivery::Column::Trigger.eq("test"))
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)?;
    outcome_of(conn, d).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_segment_events_of_the_chosen_type() {
        let track = sample_event(EventType::Track, Some("Order Completed"), 0);
        assert_eq!(track["event"], "Order Completed");
        assert_eq!(track["type"], "track");
        let group = sample_event(EventType::Group, None, 0);
        assert_eq!(group["groupId"], "company_test_7");
        assert!(group["traits"]["name"].is_string());
    }
}
