//! The webhook form: what the browser posts, and the values it is re-rendered with.

use serde::Deserialize;

use crate::domain::webhooks::{FilterRows, WebhookInput};

/// The posted form. Repeated inputs (`header_name`, `pattern`, `filter_path`, …) arrive as lists
/// in row order; rows left blank are dropped here, so row errors and a re-rendered form count
/// only the rows the user filled in.
#[derive(Debug, Default, Deserialize)]
pub struct WebhookFormData {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    header_name: Vec<String>,
    #[serde(default)]
    header_value: Vec<String>,
    #[serde(default)]
    event_types: Vec<String>,
    #[serde(default)]
    pattern: Vec<String>,
    #[serde(default)]
    pattern_live: Vec<String>,
    #[serde(default)]
    app_ids: Vec<String>,
    #[serde(default)]
    properties: String,
    #[serde(default)]
    payload_format: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    batch_enabled: Option<String>,
    #[serde(default)]
    batch_max_events: String,
    #[serde(default)]
    batch_max_wait_secs: String,
    #[serde(default)]
    filter_path: Vec<String>,
    #[serde(default)]
    filter_op: Vec<String>,
    #[serde(default)]
    filter_value: Vec<String>,
    #[serde(default)]
    timeout_secs: String,
    #[serde(default)]
    signature_scheme: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    max_in_flight: String,
    #[serde(default)]
    rate_limit: String,
    #[serde(default)]
    ordered: Option<String>,
}

fn at(list: &[String], i: usize) -> String {
    list.get(i).cloned().unwrap_or_default()
}

fn blank(texts: &[&str]) -> bool {
    texts.iter().all(|t| t.trim().is_empty())
}

impl WebhookFormData {
    /// The domain input: the same type the API builds.
    #[must_use]
    pub fn into_input(self) -> WebhookInput {
        let headers = (0..self.header_name.len().max(self.header_value.len()))
            .map(|i| (at(&self.header_name, i), at(&self.header_value, i)))
            .filter(|(name, value)| !blank(&[name, value]))
            .collect();
        let patterns = self
            .pattern
            .iter()
            .enumerate()
            .filter(|(_, p)| !blank(&[p]))
            .map(|(i, p)| (p.clone(), self.pattern_live.get(i).is_none_or(|l| l != "off")))
            .collect();
        let filter = (0..self.filter_path.len())
            .map(|i| {
                (
                    at(&self.filter_path, i),
                    at(&self.filter_op, i),
                    at(&self.filter_value, i),
                )
            })
            .filter(|(path, _, value)| !blank(&[path, value]))
            .collect();
        WebhookInput {
            name: self.name,
            url: self.url,
            description: self.description,
            method: self.method,
            headers,
            event_types: self.event_types,
            patterns,
            app_ids: self.app_ids.iter().filter_map(|id| id.parse().ok()).collect(),
            properties: self
                .properties
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            payload_format: self.payload_format,
            template: Some(self.template).filter(|t| !t.trim().is_empty()),
            batching: self
                .batch_enabled
                .map(|_| (self.batch_max_events, self.batch_max_wait_secs)),
            filter: FilterRows::Form(filter),
            timeout_secs: self.timeout_secs,
            signature_scheme: self.signature_scheme,
            secret: self.secret,
            max_in_flight: self.max_in_flight,
            rate_limit: self.rate_limit,
            ordered: self.ordered.is_some(),
        }
    }
}

/// The form's values for rendering: from a posted form (kept as typed), a stored webhook, or the
/// defaults of a new one. Each list gets exactly one spare empty row after the filled ones (for
/// typing without JavaScript, and for "Add" to clone), so re-rendering a refused form never
/// grows it.
pub struct FormView {
    pub action: String,
    pub is_new: bool,
    pub name: String,
    pub url: String,
    pub description: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub event_types: Vec<String>,
    pub patterns: Vec<(String, bool)>,
    pub app_ids: Vec<i64>,
    pub properties: String,
    pub payload_format: String,
    pub template: String,
    pub batch_enabled: bool,
    pub batch_max_events: String,
    pub batch_max_wait_secs: String,
    pub filters: Vec<(String, String, String)>,
    pub timeout_secs: String,
    pub signature_scheme: String,
    pub secret: String,
    pub max_in_flight: String,
    pub rate_limit: String,
    pub ordered: bool,
}

impl FormView {
    /// The form of a new webhook: POST, track events on, every name (`*`), event format.
    #[must_use]
    pub fn new_webhook() -> Self {
        let input = WebhookInput {
            event_types: vec!["track".into()],
            patterns: vec![("*".into(), true)],
            timeout_secs: "5".into(),
            max_in_flight: crate::domain::webhooks::DEFAULT_MAX_IN_FLIGHT.to_string(),
            ..WebhookInput::default()
        };
        Self::from_input(&input, "/settings/webhooks".into(), true)
    }

    /// Renders `input` (posted or stored).
    #[must_use]
    pub fn from_input(input: &WebhookInput, action: String, is_new: bool) -> Self {
        let mut headers = input.headers.clone();
        headers.push((String::new(), String::new()));
        let mut patterns = input.patterns.clone();
        patterns.push((String::new(), true));
        let mut filters: Vec<(String, String, String)> = match &input.filter {
            FilterRows::Form(rows) => rows.clone(),
            FilterRows::Json(rows) => rows
                .iter()
                .map(|(p, o, v)| (p.clone(), o.clone(), v.to_string()))
                .collect(),
        };
        filters.push((String::new(), "eq".into(), String::new()));
        let (batch_enabled, batch_max_events, batch_max_wait_secs) = match &input.batching {
            Some((events, wait)) => (true, events.clone(), wait.clone()),
            None => (false, "100".into(), "10".into()),
        };
        Self {
            action,
            is_new,
            name: input.name.clone(),
            url: input.url.clone(),
            description: input.description.clone(),
            method: if input.method.is_empty() {
                "POST".into()
            } else {
                input.method.to_uppercase()
            },
            headers,
            event_types: input.event_types.clone(),
            patterns,
            app_ids: input.app_ids.clone(),
            properties: input.properties.join("\n"),
            payload_format: if input.payload_format.is_empty() {
                "event".into()
            } else {
                input.payload_format.clone()
            },
            template: input.template.clone().unwrap_or_default(),
            batch_enabled,
            batch_max_events,
            batch_max_wait_secs,
            filters,
            timeout_secs: input.timeout_secs.clone(),
            signature_scheme: if input.signature_scheme.is_empty() {
                "standard_webhooks".into()
            } else {
                input.signature_scheme.clone()
            },
            secret: input.secret.clone().unwrap_or_default(),
            max_in_flight: input.max_in_flight.clone(),
            rate_limit: input.rate_limit.clone(),
            ordered: input.ordered,
        }
    }

    /// Whether the event-type checkbox `t` is checked.
    #[must_use]
    pub fn has_event_type(&self, t: &str) -> bool {
        self.event_types.iter().any(|e| e == t)
    }

    /// Whether the app checkbox `id` is checked.
    #[must_use]
    pub fn has_app(&self, id: &i64) -> bool {
        self.app_ids.contains(id)
    }
}
