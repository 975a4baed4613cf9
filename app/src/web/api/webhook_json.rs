//! The JSON shapes of webhooks in the API: what `POST`/`PATCH /webhooks` take and what the
//! webhook endpoints answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use entity::spec::{Batching, PayloadFormat};

use super::choices;
use crate::domain::webhooks::{FilterRows, Webhook, WebhookInput};
use crate::timestamps::rfc3339;
use crate::web::error::ApiError;

/// A custom header.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderIo {
    name: String,
    value: String,
}

/// An event-name pattern (`*`, `flows.*` or an exact name) with its live toggle.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternIo {
    pattern: String,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// A filter condition: `path op value`; ops `eq`, `ne`, `in`, `exists`, `contains`, `gt`, `lt`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionIo {
    path: String,
    #[schema(value_type = choices::Op, inline)]
    op: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    value: Value,
}

/// Batching: up to `max_events` (1–1000) events or `max_wait_secs` (1–60) seconds per request.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchingIo {
    max_events: i64,
    max_wait_secs: i64,
}

/// Body of `POST /webhooks` (`name` and `url` required) and `PATCH /webhooks/{id}` (any subset).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    pub(super) name: Option<String>,
    pub(super) url: Option<String>,
    description: Option<String>,
    /// `POST` (default), `PUT`, `PATCH` or `DELETE`.
    #[schema(value_type = Option<choices::Method>, inline)]
    method: Option<String>,
    headers: Option<Vec<HeaderIo>>,
    /// Subset of `track` (default), `identify`, `page`, `screen`, `group`.
    #[schema(value_type = Option<Vec<choices::EventType>>, inline)]
    event_types: Option<Vec<String>>,
    patterns: Option<Vec<PatternIo>>,
    /// Only events from these apps; empty or absent for every app.
    app_ids: Option<Vec<i64>>,
    /// Up to 10 of `user.<trait>` / `company.<trait>`.
    properties: Option<Vec<String>>,
    /// `event` (default), `envelope` or `custom`.
    #[schema(value_type = Option<choices::PayloadFormat>, inline)]
    payload_format: Option<String>,
    /// The `custom` format's JSON template (an object or array, or its JSON text).
    #[schema(value_type = Object)]
    template: Option<Value>,
    /// `null` turns batching off.
    #[schema(value_type = Option<BatchingIo>)]
    batching: Option<Value>,
    filter: Option<Vec<ConditionIo>>,
    /// 1–30, default 5.
    timeout_secs: Option<i64>,
    /// `standard_webhooks` (default), `standard_webhooks_v1a` (ed25519), `hmac_sha1` or `none`.
    #[schema(value_type = Option<choices::SignatureScheme>, inline)]
    signature_scheme: Option<String>,
    /// Create only: your own secret instead of a generated one.
    pub(super) secret: Option<String>,
    /// Most deliveries in flight at once across all workers, 1–100 (default 8).
    #[schema(minimum = 1, maximum = 100)]
    max_in_flight: Option<i64>,
    /// Deliveries per second at most, 1–10,000; `null` for no limit. Excess deliveries wait.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10000)]
    rate_limit: Option<Value>,
    /// Deliver one at a time in ingest order (throughput: one request in flight).
    ordered: Option<bool>,
}

impl WebhookIn {
    /// Applies the given fields over `base` (defaults for a create, the current webhook for a
    /// patch); the result goes through the same validation as the dashboard form.
    pub(super) fn apply(self, mut base: WebhookInput) -> Result<WebhookInput, ApiError> {
        if let Some(v) = self.name {
            base.name = v;
        }
        if let Some(v) = self.url {
            base.url = v;
        }
        if let Some(v) = self.description {
            base.description = v;
        }
        if let Some(v) = self.method {
            base.method = v;
        }
        if let Some(v) = self.headers {
            base.headers = v.into_iter().map(|h| (h.name, h.value)).collect();
        }
        if let Some(v) = self.event_types {
            base.event_types = v;
        }
        if let Some(v) = self.patterns {
            base.patterns = v.into_iter().map(|p| (p.pattern, p.enabled)).collect();
        }
        if let Some(v) = self.app_ids {
            base.app_ids = v;
        }
        if let Some(v) = self.properties {
            base.properties = v;
        }
        if let Some(v) = self.payload_format {
            base.payload_format = v;
        }
        match self.template {
            None => {}
            Some(Value::Null) => base.template = None,
            Some(Value::String(text)) => base.template = Some(text),
            Some(other) => base.template = Some(other.to_string()),
        }
        match self.batching {
            None => {}
            Some(Value::Null) => base.batching = None,
            Some(other) => {
                let b: BatchingIo = serde_json::from_value(other).map_err(|e| ApiError::BadBody {
                    code: "invalid_field",
                    message: format!("batching must be null or {{\"max_events\", \"max_wait_secs\"}}: {e}"),
                    field: Some("batching".into()),
                })?;
                base.batching = Some((b.max_events.to_string(), b.max_wait_secs.to_string()));
            }
        }
        if let Some(v) = self.filter {
            base.filter = FilterRows::Json(v.into_iter().map(|c| (c.path, c.op, c.value)).collect());
        }
        if let Some(v) = self.timeout_secs {
            base.timeout_secs = v.to_string();
        }
        if let Some(v) = self.signature_scheme {
            base.signature_scheme = v;
        }
        if self.secret.is_some() {
            base.secret = self.secret;
        }
        if let Some(v) = self.max_in_flight {
            base.max_in_flight = v.to_string();
        }
        match self.rate_limit {
            None => {}
            Some(Value::Null) => base.rate_limit = String::new(),
            Some(Value::String(text)) => base.rate_limit = text,
            Some(other) => base.rate_limit = other.to_string(),
        }
        if let Some(v) = self.ordered {
            base.ordered = v;
        }
        Ok(base)
    }
}

/// A webhook as the API shows it. Never contains the secret (see `GET /webhooks/{id}/secret`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookOut {
    id: String,
    name: String,
    description: String,
    url: String,
    #[schema(value_type = choices::Method, inline)]
    method: String,
    headers: Vec<HeaderIo>,
    #[schema(value_type = Vec<choices::EventType>, inline)]
    event_types: Vec<String>,
    patterns: Vec<PatternIo>,
    app_ids: Vec<i64>,
    properties: Vec<String>,
    #[schema(value_type = choices::PayloadFormat, inline)]
    payload_format: String,
    #[schema(value_type = Option<Object>)]
    template: Option<Value>,
    batching: Option<BatchingIo>,
    filter: Vec<ConditionIo>,
    timeout_secs: u32,
    #[schema(value_type = choices::SignatureScheme, inline)]
    signature_scheme: String,
    /// Most deliveries in flight at once across all workers.
    max_in_flight: u32,
    /// Deliveries per second at most; `null`: no limit.
    rate_limit: Option<u32>,
    /// One at a time in ingest order.
    ordered: bool,
    enabled: bool,
    /// Why Herald disabled it (e.g. the endpoint answered 410 Gone), when it did.
    disabled_reason: Option<String>,
    created_by: String,
    updated_by: String,
    created_at: String,
    updated_at: String,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        let s = w.spec;
        let (payload_format, template) = match s.payload_format {
            PayloadFormat::Event => ("event", None),
            PayloadFormat::Envelope => ("envelope", None),
            PayloadFormat::Custom { template } => ("custom", Some(template)),
        };
        Self {
            id: w.model.public_id,
            name: s.name,
            description: s.description,
            url: s.url.as_str().to_owned(),
            method: s.method.as_str().to_owned(),
            headers: s
                .headers
                .iter()
                .map(|h| HeaderIo {
                    name: h.name().to_owned(),
                    value: h.value().to_owned(),
                })
                .collect(),
            event_types: s.event_types.iter().map(|t| t.as_str().to_owned()).collect(),
            patterns: s
                .triggers
                .as_slice()
                .iter()
                .map(|t| PatternIo {
                    pattern: String::from(t.pattern.clone()),
                    enabled: t.enabled,
                })
                .collect(),
            app_ids: s.app_scope.ids().collect(),
            properties: s.properties.as_slice().iter().map(ToString::to_string).collect(),
            payload_format: payload_format.to_owned(),
            template,
            batching: match s.batching {
                Batching::Off => None,
                Batching::On {
                    max_events,
                    max_wait_secs,
                } => Some(BatchingIo {
                    max_events: max_events.into(),
                    max_wait_secs: max_wait_secs.into(),
                }),
            },
            filter: s
                .filter
                .as_slice()
                .iter()
                .map(|c| ConditionIo {
                    path: c.path.clone(),
                    op: c.op.as_str().to_owned(),
                    value: c.value.clone(),
                })
                .collect(),
            timeout_secs: s.timeout.secs(),
            max_in_flight: s.pace.max_in_flight,
            rate_limit: s.pace.rate_limit,
            ordered: s.pace.ordered,
            signature_scheme: s.signature_scheme.as_str().to_owned(),
            enabled: w.model.enabled,
            disabled_reason: w.model.disabled_reason,
            created_by: w.model.created_by,
            updated_by: w.model.updated_by,
            created_at: rfc3339(w.model.created_at),
            updated_at: rfc3339(w.model.updated_at),
        }
    }
}

/// The answer to `POST /webhooks`: the webhook and its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhookOut {
    #[serde(flatten)]
    pub(super) webhook: WebhookOut,
    pub(super) secret: Option<String>,
}

/// The secrets of a webhook in clear.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecretOut {
    pub(super) secret: Option<String>,
    /// During a rotation, the previous secret, still used for a second signature.
    pub(super) previous_secret: Option<String>,
    pub(super) previous_secret_expires_at: Option<String>,
}

/// Body of `POST /webhooks/{id}/rotate-secret`; empty for a generated secret.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateIn {
    pub(super) secret: Option<String>,
}
