//! The stored form of a webhook: JSON text columns holding the `entity::spec` types.

use super::pace::{DEFAULT_MAX_IN_FLIGHT, Pace};
use sea_orm::{ActiveValue::NotSet, Set};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use entity::spec::{Batching, PayloadFormat};
use entity::webhook;

use super::input::WebhookSpec;
use crate::domain::DomainResult;
use crate::domain::audit::REDACTED;

/// A stored webhook with its configuration decoded.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub model: webhook::Model,
    pub spec: WebhookSpec,
}

fn decode<T: DeserializeOwned>(column: &str, row_id: i64, text: &str) -> DomainResult<T> {
    crate::domain::stored_json::parse(&format!("webhooks.{column}"), row_id, text)
}

fn encode(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// The configuration columns of an active model (identity, secret, status and stamps unset).
pub(super) fn columns(spec: &WebhookSpec) -> webhook::ActiveModel {
    let (batch_max_events, batch_max_wait_secs) = match spec.batching {
        Batching::Off => (None, None),
        Batching::On {
            max_events,
            max_wait_secs,
        } => (i32::try_from(max_events).ok(), i32::try_from(max_wait_secs).ok()),
    };
    webhook::ActiveModel {
        id: NotSet,
        name: Set(spec.name.clone()),
        description: Set(spec.description.clone()),
        url: Set(spec.url.as_str().to_owned()),
        method: Set(spec.method.as_str().to_owned()),
        headers: Set(encode(&spec.headers)),
        signature_scheme: Set(spec.signature_scheme.as_str().to_owned()),
        event_types: Set(encode(&spec.event_types)),
        triggers: Set(encode(&spec.triggers)),
        properties: Set(encode(&spec.properties)),
        payload_format: Set(encode(&spec.payload_format)),
        batch_max_events: Set(batch_max_events),
        batch_max_wait_secs: Set(batch_max_wait_secs),
        filter: Set(encode(&spec.filter)),
        app_ids: Set(encode(&spec.app_scope)),
        timeout_secs: Set(i32::try_from(spec.timeout.secs()).unwrap_or(5)),
        max_in_flight: Set(i32::try_from(spec.pace.max_in_flight).unwrap_or(8)),
        rate_limit: Set(spec.pace.rate_limit.and_then(|r| i32::try_from(r).ok())),
        ordered: Set(spec.pace.ordered),
        ..Default::default()
    }
}

impl Webhook {
    /// Decodes the JSON columns; a value that no longer passes the rules is reported as a
    /// database error rather than silently repaired.
    ///
    /// # Errors
    /// A corrupt column.
    pub fn from_model(model: webhook::Model) -> DomainResult<Webhook> {
        let batching = match (model.batch_max_events, model.batch_max_wait_secs) {
            (Some(events), Some(wait)) => Batching::on(events.into(), wait.into())
                .map_err(|_| sea_orm::DbErr::Custom("webhooks.batch_* out of range".into()))?,
            _ => Batching::Off,
        };
        let spec = WebhookSpec {
            name: model.name.clone(),
            description: model.description.clone(),
            url: decode("url", model.id, &encode(&model.url))?,
            method: decode("method", model.id, &encode(&model.method))?,
            headers: decode("headers", model.id, &model.headers)?,
            event_types: decode("event_types", model.id, &model.event_types)?,
            triggers: decode("triggers", model.id, &model.triggers)?,
            app_scope: decode("app_ids", model.id, &model.app_ids)?,
            properties: decode("properties", model.id, &model.properties)?,
            payload_format: decode("payload_format", model.id, &model.payload_format)?,
            batching,
            filter: decode("filter", model.id, &model.filter)?,
            timeout: decode("timeout_secs", model.id, &model.timeout_secs.to_string())?,
            signature_scheme: decode("signature_scheme", model.id, &encode(&model.signature_scheme))?,
            secret: None,
            pace: Pace {
                max_in_flight: u32::try_from(model.max_in_flight).unwrap_or(DEFAULT_MAX_IN_FLIGHT),
                rate_limit: model.rate_limit.and_then(|r| u32::try_from(r).ok()),
                ordered: model.ordered,
            },
        };
        Ok(Webhook { model, spec })
    }

    /// The audit diff between two versions. Header values are redacted in snapshots, so a change
    /// of values only is recorded as a redacted change of `headers`.
    #[must_use]
    pub fn diff(before: &Webhook, after: &Webhook) -> Value {
        let mut diff = crate::domain::audit::diff(&before.snapshot(), &after.snapshot(), &["secret"]);
        if before.spec.headers != after.spec.headers
            && let Some(map) = diff.as_object_mut()
        {
            map.entry("headers")
                .or_insert_with(|| json!({ "before": REDACTED, "after": REDACTED }));
        }
        diff
    }

    /// Everything an audit diff compares: the configuration with custom header values and the
    /// secret replaced by [`REDACTED`].
    #[must_use]
    pub fn snapshot(&self) -> Value {
        let s = &self.spec;
        json!({
            "name": s.name,
            "description": s.description,
            "url": s.url.as_str(),
            "method": s.method.as_str(),
            "headers": s.headers.iter().map(|h| json!({ "name": h.name(), "value": REDACTED })).collect::<Vec<_>>(),
            "event_types": s.event_types,
            "triggers": s.triggers,
            "app_ids": s.app_scope,
            "properties": s.properties,
            "payload_format": match &s.payload_format {
                PayloadFormat::Event => json!("event"),
                PayloadFormat::Envelope => json!("envelope"),
                PayloadFormat::Custom { template } => json!({ "custom": template }),
            },
            "batching": s.batching,
            "filter": s.filter,
            "timeout_secs": s.timeout.secs(),
            "signature_scheme": s.signature_scheme.as_str(),
            "max_in_flight": s.pace.max_in_flight,
            "rate_limit": s.pace.rate_limit,
            "ordered": s.pace.ordered,
            "enabled": self.model.enabled,
            "secret": self.model.secret_sealed.as_ref().map(|_| REDACTED),
        })
    }
}
