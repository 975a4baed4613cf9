//! The visit object: the stored body of a derived `NEW_VISIT` / `NEW_VISITOR` event, and so what
//! the `event` payload format sends (seed 001's "Expected Payload").
//!
//! Shape contract: every key of the seed's object is present, `null` when unknown — except
//! `ip`, which is left out entirely in HIPAA mode — and `device` carries `model`, `os` and `type`
//! (a GPU or core count cannot be known from a page event). Screen sizes and `touch` are strings
//! as in the seed. Next to the visit fields the body carries the Segment keys every Herald event
//! has (`type: "track"`, `event`, `messageId`, `timestamp`, and `userId` / `anonymousId` when the
//! page had them), so one endpoint subscribed to both names can tell them apart, filters and the
//! envelope format work, and property selection finds the user.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::device;
use super::traffic::{self, bare_host};
use crate::domain::message::Message;

/// The company shown under `visitor.company`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Company {
    pub name: Option<String>,
    pub domain: Option<String>,
}

/// What a visit object is built from besides the page event itself.
#[derive(Debug, Clone)]
pub struct VisitFacts<'a> {
    /// The derived event's name (`NEW_VISIT` or `NEW_VISITOR`).
    pub event: &'a str,
    /// The derived event's `messageId`.
    pub message_id: &'a str,
    pub visit_id: &'a str,
    /// The visitor's key (`anonymousId`, else `userId`), reported as `visitor.id`.
    pub visitor_id: &'a str,
    /// Event time (unix ms) of the visitor's first page.
    pub first_seen_ms: i64,
    pub company: Company,
    /// HIPAA mode: no `ip` key at all.
    pub hipaa: bool,
}

/// RFC 3339 in UTC with second precision or finer, as the seed's `date`.
#[must_use]
pub fn rfc3339(ms: i64) -> Value {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// A string at `path` (`["context", "page", "url"]`), ignoring empty strings.
fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A scalar at `path` as a string (`1170` → `"1170"`, `true` → `"true"`), as the seed shows them.
fn scalar(v: &Value, path: &[&str]) -> Option<String> {
    match path.iter().try_fold(v, |v, key| v.get(key))? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn opt(v: Option<impl Into<Value>>) -> Value {
    v.map_or(Value::Null, Into::into)
}

/// The landing URL's query parameters (first value of a repeated key). Falls back to the page's
/// `search` (`?utm_source=…`) when the URL is missing or has no query.
#[must_use]
pub fn query_params(url: Option<&str>, search: Option<&str>) -> BTreeMap<String, String> {
    let from_url = url
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.query().map(str::to_owned))
        .filter(|q| !q.is_empty());
    let query = from_url.or_else(|| search.map(|s| s.trim_start_matches('?').to_owned()));
    let mut params = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if !k.is_empty() {
            params.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    params
}

/// Builds the visit object for `page` (see the module docs for the shape).
#[must_use]
pub fn build(page: &Message, facts: &VisitFacts<'_>) -> Value {
    let b = &page.body;
    let url = text(b, &["properties", "url"]).or_else(|| text(b, &["context", "page", "url"]));
    let search = text(b, &["properties", "search"]).or_else(|| text(b, &["context", "page", "search"]));
    let referrer = text(b, &["properties", "referrer"]).or_else(|| text(b, &["context", "page", "referrer"]));
    let params = query_params(url, search);
    let landing_host = url.and_then(bare_host);
    let source = traffic::classify(&params, referrer, landing_host.as_deref());
    let (device, browser) = device::parse(text(b, &["context", "userAgent"]));
    let touch = scalar(b, &["context", "screen", "touch"]).or_else(|| device.is_touch().map(|t| t.to_string()));

    let mut out = Map::new();
    out.insert("type".into(), json!("track"));
    out.insert("event".into(), json!(facts.event));
    out.insert("messageId".into(), json!(facts.message_id));
    out.insert("timestamp".into(), rfc3339(page.timestamp_ms));
    if let Some(id) = &page.user_id {
        out.insert("userId".into(), json!(id));
    }
    if let Some(id) = &page.anonymous_id {
        out.insert("anonymousId".into(), json!(id));
    }
    out.insert("id".into(), json!(facts.visit_id));
    out.insert("url".into(), opt(url));
    out.insert("params".into(), json!(params));
    out.insert("referrer".into(), opt(referrer));
    out.insert("date".into(), rfc3339(page.timestamp_ms));
    if !facts.hipaa {
        out.insert("ip".into(), opt(text(b, &["context", "ip"])));
    }
    out.insert(
        "visitor".into(),
        json!({
            "id": facts.visitor_id,
            "firstSeen": rfc3339(facts.first_seen_ms),
            "company": { "name": facts.company.name, "domain": facts.company.domain },
        }),
    );
    out.insert(
        "location".into(),
        json!({
            "country": text(b, &["context", "location", "country"]),
            "city": text(b, &["context", "location", "city"]),
            "state": text(b, &["context", "location", "region"]).or_else(|| text(b, &["context", "location", "state"])),
        }),
    );
    out.insert("trafficSource".into(), json!(source));
    out.insert("device".into(), json!(device));
    out.insert("browser".into(), json!(browser));
    out.insert("timezone".into(), opt(text(b, &["context", "timezone"])));
    out.insert(
        "screen".into(),
        json!({
            "height": scalar(b, &["context", "screen", "height"]),
            "width": scalar(b, &["context", "screen", "width"]),
            "touch": touch,
        }),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::Kind;

    fn page(body: Value) -> Message {
        Message {
            kind: Kind::Page,
            name: None,
            message_id: "m1".into(),
            user_id: None,
            anonymous_id: Some("anon-1".into()),
            group_id: None,
            timestamp_ms: 1_734_877_800_000,
            body,
        }
    }

    fn facts(hipaa: bool) -> VisitFacts<'static> {
        VisitFacts {
            event: "NEW_VISIT",
            message_id: "visit-v1",
            visit_id: "v1",
            visitor_id: "anon-1",
            first_seen_ms: 1_672_574_400_000,
            company: Company::default(),
            hipaa,
        }
    }

    #[test]
    fn the_seed_shape_from_a_segment_page_call() {
        let body = json!({
            "properties": {"url": "https://example.com/entry?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale&utm_source=dup", "referrer": "https://google.com"},
            "context": {"ip": "192.168.1.1", "timezone": "America/Los_Angeles",
                        "location": {"country": "United States", "city": "San Francisco", "region": "California"},
                        "screen": {"height": 2532, "width": 1170}}
        });
        let v = build(&page(body), &facts(false));
        assert_eq!(v["id"], "v1");
        assert_eq!(v["date"], "2024-12-22T14:30:00Z");
        assert_eq!(v["visitor"]["firstSeen"], "2023-01-01T12:00:00Z");
        assert_eq!(v["params"]["utm_source"], "newsletter");
        assert_eq!(v["trafficSource"]["channel"], "Email");
        assert_eq!(v["ip"], "192.168.1.1");
        assert_eq!(v["location"]["state"], "California");
        assert_eq!(v["screen"], json!({"height": "2532", "width": "1170", "touch": null}));
        assert_eq!(v["visitor"]["company"], json!({"name": null, "domain": null}));
        assert_eq!(v["anonymousId"], "anon-1");
        assert!(v.get("userId").is_none());
    }

    #[test]
    fn hipaa_mode_leaves_the_ip_key_out_and_context_page_is_a_fallback() {
        let body = json!({"context": {"ip": "10.0.0.1", "page": {"url": "https://example.com/", "search": "?a=1", "referrer": ""}}});
        let v = build(&page(body), &facts(true));
        assert!(v.get("ip").is_none());
        assert_eq!(v["url"], "https://example.com/");
        assert_eq!(v["params"], json!({"a": "1"}));
        assert_eq!(v["referrer"], Value::Null);
        assert_eq!(
            v["trafficSource"],
            json!({"channel": "Direct", "source": null, "campaign": null})
        );
    }
}
