//! Raw webhook input, as the form or the API sends it, and its parsing into a validated
//! [`WebhookSpec`]. Both front doors build a [`WebhookInput`] and call [`WebhookInput::parse`],
//! so the same input gives the same webhook whichever door it came through.

use serde_json::Value;

use entity::spec::{
    AppScope, Batching, CustomHeaders, EventTypes, Filter, Method, PayloadFormat, PropertySelection, SignatureScheme,
    Timeout, Triggers, WebhookUrl,
};

use super::pace::Pace;
use crate::domain::validate::{self, Errors};
use crate::domain::{DomainError, FieldError};

const MAX_DESCRIPTION: usize = 1000;

/// How filter rows arrived: typed into a form (values are text, parsed leniently as JSON) or
/// sent as JSON values by the API.
#[derive(Debug, Clone)]
pub enum FilterRows {
    Form(Vec<(String, String, String)>),
    Json(Vec<(String, String, Value)>),
}

impl Default for FilterRows {
    fn default() -> Self {
        Self::Json(Vec::new())
    }
}

/// Everything a webhook is configured with, before validation. Numbers are text so that "not a
/// number" and "out of range" are reported the same way for both front doors.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub name: String,
    pub url: String,
    pub description: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub event_types: Vec<String>,
    /// `(pattern, live)` rows.
    pub patterns: Vec<(String, bool)>,
    /// Empty means every app of the account.
    pub app_ids: Vec<i64>,
    pub properties: Vec<String>,
    pub payload_format: String,
    /// JSON template text for the `custom` format.
    pub template: Option<String>,
    /// `(max_events, max_wait_secs)`; `None` sends one event per request.
    pub batching: Option<(String, String)>,
    pub filter: FilterRows,
    pub timeout_secs: String,
    pub signature_scheme: String,
    /// A tenant-chosen secret (create only); empty means generate one.
    pub secret: Option<String>,
    /// 1–100; empty means the default (8).
    pub max_in_flight: String,
    /// Deliveries per second, 1–10,000; empty means no limit.
    pub rate_limit: String,
    /// Deliver one at a time in ingest order.
    pub ordered: bool,
}

/// A validated webhook configuration, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSpec {
    pub name: String,
    pub description: String,
    pub url: WebhookUrl,
    pub method: Method,
    pub headers: CustomHeaders,
    pub event_types: EventTypes,
    pub triggers: Triggers,
    pub app_scope: AppScope,
    pub properties: PropertySelection,
    pub payload_format: PayloadFormat,
    pub batching: Batching,
    pub filter: Filter,
    pub timeout: Timeout,
    pub signature_scheme: SignatureScheme,
    pub secret: Option<String>,
    pub pace: Pace,
}

fn take_all<T>(errors: &mut Errors, result: Result<T, Vec<FieldError>>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(list) => {
            for e in list {
                errors.take::<()>(Err(e));
            }
            None
        }
    }
}

fn or_default<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.trim().is_empty() { default } else { value }
}

impl WebhookInput {
    /// Validates every field, reporting all problems at once. `account_apps` are the ids of the
    /// account's apps (an app scope may only name those).
    ///
    /// # Errors
    /// [`DomainError::Invalid`] with one entry per bad field or row.
    pub fn parse(&self, account_apps: &[i64]) -> Result<WebhookSpec, DomainError> {
        let mut errors = Errors::default();
        let name = errors.take(validate::name("name", &self.name));
        let description = self.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION {
            errors.push(
                "description",
                format!("Description must be at most {MAX_DESCRIPTION} characters."),
            );
        }
        let url = errors.take(WebhookUrl::parse(&self.url));
        let method = errors.take(Method::parse(or_default(&self.method, "POST")));
        let headers = take_all(
            &mut errors,
            CustomHeaders::parse(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
        );
        let event_types = errors.take(EventTypes::parse(self.event_types.iter()));
        let triggers = take_all(
            &mut errors,
            Triggers::parse(self.patterns.iter().map(|(p, on)| (p.as_str(), *on))),
        );
        let app_scope = errors.take(AppScope::new(self.app_ids.iter().copied()));
        if let Some(foreign) = self.app_ids.iter().find(|id| !account_apps.contains(id)) {
            errors.push("app_ids", format!("App {foreign} does not exist in this account."));
        }
        let properties = take_all(&mut errors, PropertySelection::parse(self.properties.iter()));
        let payload_format = errors.take(PayloadFormat::parse(
            or_default(&self.payload_format, "event"),
            self.template.as_deref(),
        ));
        let batching = match &self.batching {
            None => Some(Batching::Off),
            Some((events, wait)) => take_all(&mut errors, Batching::parse_form(true, events, wait)),
        };
        let filter = match &self.filter {
            FilterRows::Form(rows) => take_all(&mut errors, Filter::parse_form(rows.iter().map(|(p, o, v)| (p, o, v)))),
            FilterRows::Json(rows) => take_all(
                &mut errors,
                Filter::parse_json(rows.iter().map(|(p, o, v)| (p.as_str(), o.as_str(), v.clone()))),
            ),
        };
        let timeout = errors.take(Timeout::parse(or_default(&self.timeout_secs, "5")));
        let signature_scheme = errors.take(SignatureScheme::parse(or_default(
            &self.signature_scheme,
            "standard_webhooks",
        )));
        let secret = match (
            signature_scheme,
            self.secret.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        ) {
            (Some(scheme), Some(raw)) if scheme.needs_secret() => {
                errors.take(herald_jobs::signing::validate_secret(scheme, raw))
            }
            _ => None,
        };
        let pace = Pace::parse(&mut errors, &self.max_in_flight, &self.rate_limit, self.ordered);
        errors.finish()?;
        let Some(pace) = pace else {
            return Err(DomainError::invalid("max_in_flight", "invalid input"));
        };
        match (
            name,
            url,
            method,
            headers,
            event_types,
            triggers,
            app_scope,
            properties,
            payload_format,
            batching,
            filter,
            timeout,
            signature_scheme,
        ) {
            (
                Some(name),
                Some(url),
                Some(method),
                Some(headers),
                Some(event_types),
                Some(triggers),
                Some(app_scope),
                Some(properties),
                Some(payload_format),
                Some(batching),
                Some(filter),
                Some(timeout),
                Some(signature_scheme),
            ) => Ok(WebhookSpec {
                name,
                description,
                url,
                method,
                headers,
                event_types,
                triggers,
                app_scope,
                properties,
                payload_format,
                batching,
                filter,
                timeout,
                signature_scheme,
                secret,
                pace,
            }),
            _ => Err(DomainError::invalid("name", "invalid input")),
        }
    }
}

impl WebhookSpec {
    /// The raw input that parses back to this spec: how an edit form is pre-filled and how a
    /// partial API update starts before its fields are applied.
    #[must_use]
    pub fn to_input(&self) -> WebhookInput {
        let (payload_format, template) = match &self.payload_format {
            PayloadFormat::Event => ("event", None),
            PayloadFormat::Envelope => ("envelope", None),
            PayloadFormat::Custom { template } => (
                "custom",
                Some(serde_json::to_string_pretty(template).unwrap_or_default()),
            ),
        };
        WebhookInput {
            name: self.name.clone(),
            url: self.url.as_str().to_owned(),
            description: self.description.clone(),
            method: self.method.as_str().to_owned(),
            headers: self
                .headers
                .iter()
                .map(|h| (h.name().to_owned(), h.value().to_owned()))
                .collect(),
            event_types: self.event_types.iter().map(|t| t.as_str().to_owned()).collect(),
            patterns: self
                .triggers
                .as_slice()
                .iter()
                .map(|t| (String::from(t.pattern.clone()), t.enabled))
                .collect(),
            app_ids: self.app_scope.ids().collect(),
            properties: self.properties.as_slice().iter().map(ToString::to_string).collect(),
            payload_format: payload_format.to_owned(),
            template,
            batching: match self.batching {
                Batching::Off => None,
                Batching::On {
                    max_events,
                    max_wait_secs,
                } => Some((max_events.to_string(), max_wait_secs.to_string())),
            },
            filter: FilterRows::Json(
                self.filter
                    .as_slice()
                    .iter()
                    .map(|c| (c.path.clone(), c.op.as_str().to_owned(), c.value.clone()))
                    .collect(),
            ),
            timeout_secs: self.timeout.secs().to_string(),
            signature_scheme: self.signature_scheme.as_str().to_owned(),
            secret: None,
            max_in_flight: self.pace.max_in_flight.to_string(),
            rate_limit: self.pace.rate_limit.map(|r| r.to_string()).unwrap_or_default(),
            ordered: self.pace.ordered,
        }
    }
}
