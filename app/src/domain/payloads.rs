//! The body a webhook receives for an event: the webhook's payload format applied to the
//! event, with the chosen properties read from the stored profiles at the time of rendering.
//! Used by ingest (ready deliveries), by batches when they close, and by test sends.

use sea_orm::ConnectionTrait;
use serde_json::Value;

use entity::spec::PayloadFormat;
use herald_jobs::payload::{self, PayloadContext};

use super::DomainResult;
use super::profiles;
use super::webhooks::Webhook;

/// The body `hook` sends for a stored event (batch items are rendered when the batch closes).
///
/// # Errors
/// Database failure.
pub async fn render(
    conn: &impl ConnectionTrait,
    hook: &Webhook,
    app_token: &str,
    account_id: i64,
    event: &Value,
) -> DomainResult<Value> {
    build(conn, hook, app_token, account_id, event, false).await
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
    build(conn, hook, app_token, account_id, event, true).await
}

/// The payload `hook` sends for `event`, with the chosen properties read from the stored
/// profiles now (the plain `event` format uses none, so it reads nothing).
async fn build(
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
