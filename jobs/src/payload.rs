//! Building the JSON body a webhook sends for one event, in the webhook's payload format, with its
//! chosen user and company properties; and the JSON array of a batch.
//!
//! Pure functions of the stored event and the traits the caller loaded from the stored profiles,
//! so the body is decided once, frozen in the delivery, and signed byte for byte on every attempt.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use entity::spec::{PayloadFormat, PropertySelection, render_template};

/// Everything a payload is built from besides the webhook's configuration.
#[derive(Debug, Clone, Copy)]
pub struct PayloadContext<'a> {
    /// The stored Segment-spec event (with `messageId`, `timestamp` and `receivedAt` filled in).
    pub event: &'a Value,
    /// The public token of the app the event came from (sent in envelopes as `app_token`).
    pub app_token: &'a str,
    /// The event's user id; when `None`, the event's own `userId` is used if it has one.
    pub user_id: Option<&'a str>,
    /// The user's stored traits, `{}` when unknown.
    pub user_traits: &'a Value,
    /// The user's company id; when `None`, the event's own `groupId` is used if it has one.
    pub company_id: Option<&'a str>,
    /// The company's stored traits, `{}` when unknown.
    pub company_traits: &'a Value,
    /// A **Send Test** payload: `event` and `envelope` bodies carry `"test": true` so receivers can
    /// ignore it.
    pub test: bool,
}

/// The body for one event in `format`:
///
/// - `event`: the stored event as is (plus `"test": true` at top level for tests).
/// - `envelope` (Userpilot, seed 002): `{"type", "timestamp", "app_token", "data"}` where `type` is
///   the event name of a named track/page/screen event and the Segment type otherwise,
///   `timestamp` is unix seconds (from `timestamp`, else `receivedAt`, else 0), and `data` is the
///   event's `properties` (`traits` for identify/group) plus `message_id`, `user` and `company`
///   (see [`user_and_company`]), which win over event properties of the same name;
///   `"test": true` at top level for tests.
/// - `custom`: the template rendered over the event with `user` and `company` added as in the
///   envelope, so `{{ user.email }}` and `{{ properties.plan }}` both work; nothing is added for
///   tests, since the template decides the shape.
#[must_use]
pub fn build(format: &PayloadFormat, properties: &PropertySelection, ctx: &PayloadContext<'_>) -> Value {
    match format {
        PayloadFormat::Event => {
            let mut body = ctx.event.clone();
            if ctx.test
                && let Value::Object(map) = &mut body
            {
                map.insert("test".into(), Value::Bool(true));
            }
            body
        }
        PayloadFormat::Envelope => envelope(properties, ctx),
        PayloadFormat::Custom { template } => {
            let (user, company) = user_and_company(properties, ctx);
            let mut source = match ctx.event {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            source.insert("user".into(), user);
            source.insert("company".into(), company);
            render_template(template, &Value::Object(source))
        }
    }
}

/// The body of a batch: the items as one JSON array, in order (Customer.io's batching, seed 004).
#[must_use]
pub fn batch(items: Vec<Value>) -> Value {
    Value::Array(items)
}

/// The `user` and `company` objects of a payload: `{"user_id": <id or null>, …chosen user traits}`
/// and `{"id": <id or null>, …chosen company traits}`. Only chosen traits that exist in the stored
/// traits are included (missing ones are left out, not `null`); the ids are always present and win
/// over a chosen trait of the same name, so receivers can rely on them.
#[must_use]
pub fn user_and_company(properties: &PropertySelection, ctx: &PayloadContext<'_>) -> (Value, Value) {
    let (mut user, mut company) = properties.select(ctx.user_traits, ctx.company_traits);
    let user_id = ctx.user_id.or_else(|| ctx.event.get("userId").and_then(Value::as_str));
    let company_id = ctx
        .company_id
        .or_else(|| ctx.event.get("groupId").and_then(Value::as_str));
    user.insert(
        "user_id".into(),
        user_id.map_or(Value::Null, |id| Value::String(id.into())),
    );
    company.insert(
        "id".into(),
        company_id.map_or(Value::Null, |id| Value::String(id.into())),
    );
    (Value::Object(user), Value::Object(company))
}

fn envelope(properties: &PropertySelection, ctx: &PayloadContext<'_>) -> Value {
    let event = ctx.event;
    let kind = event.get("type").and_then(Value::as_str);
    let name = match kind {
        Some("track") => event.get("event"),
        Some("page" | "screen") => event.get("name").or_else(|| event.get("event")),
        _ => None,
    }
    .and_then(Value::as_str)
    .filter(|n| !n.is_empty());
    let envelope_type = name.or(kind).map_or(Value::Null, |t| Value::String(t.into()));

    let fields_key = if matches!(kind, Some("identify" | "group")) {
        "traits"
    } else {
        "properties"
    };
    let mut data = match event.get(fields_key) {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    data.insert(
        "message_id".into(),
        event.get("messageId").cloned().unwrap_or(Value::Null),
    );
    let (user, company) = user_and_company(properties, ctx);
    data.insert("user".into(), user);
    data.insert("company".into(), company);

    let mut out = Map::new();
    out.insert("type".into(), envelope_type);
    out.insert("timestamp".into(), Value::from(unix_timestamp(event)));
    out.insert("app_token".into(), Value::String(ctx.app_token.into()));
    out.insert("data".into(), Value::Object(data));
    if ctx.test {
        out.insert("test".into(), Value::Bool(true));
    }
    Value::Object(out)
}

/// The event's time as unix seconds: `timestamp`, else `receivedAt` (RFC 3339), else 0.
fn unix_timestamp(event: &Value) -> i64 {
    ["timestamp", "receivedAt"]
        .into_iter()
        .filter_map(|key| event.get(key).and_then(Value::as_str))
        .find_map(|raw| OffsetDateTime::parse(raw, &Rfc3339).ok())
        .map_or(0, OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn selection(raw: &[&str]) -> PropertySelection {
        PropertySelection::parse(raw).expect("valid selection")
    }

    fn flow_completed() -> Value {
        json!({
            "type": "track",
            "event": "flows.completed",
            "messageId": "msg-1",
            "anonymousId": "anon-1",
            "userId": "1",
            "timestamp": "2023-03-23T13:37:05Z",
            "receivedAt": "2023-03-23T13:37:06.120Z",
            "context": {"page": {"url": "https://demo.userpilot.io/dashboard"}},
            "properties": {"type": "flow", "action": "completed", "id": 1,
                           "hostname": "demo.userpilot.io", "pathname": "/dashboard"}
        })
    }

    fn ctx<'a>(event: &'a Value, user: &'a Value, company: &'a Value) -> PayloadContext<'a> {
        PayloadContext {
            event,
            app_token: "NX-bd46697c",
            user_id: Some("1"),
            user_traits: user,
            company_id: Some("1"),
            company_traits: company,
            test: false,
        }
    }

    #[test]
    fn the_event_format_sends_the_stored_event_as_is() {
        let event = flow_completed();
        let empty = json!({});
        let c = ctx(&event, &empty, &empty);
        assert_eq!(build(&PayloadFormat::Event, &selection(&["user.email"]), &c), event);
        let test = build(
            &PayloadFormat::Event,
            &PropertySelection::default(),
            &PayloadContext { test: true, ..c },
        );
        let mut expected = event.clone();
        expected["test"] = json!(true);
        assert_eq!(test, expected);
    }

    #[test]
    fn the_envelope_matches_userpilots_shape() {
        let event = flow_completed();
        let user = json!({"name": "John Doe", "email": "john@userpilot.co", "plan": "pro"});
        let company = json!({"name": "Userpilot", "size": 50});
        let props = selection(&["user.name", "user.email", "company.name"]);
        let body = build(&PayloadFormat::Envelope, &props, &ctx(&event, &user, &company));
        assert_eq!(
            body,
            json!({
                "type": "flows.completed",
                "timestamp": 1_679_578_625,
                "app_token": "NX-bd46697c",
                "data": {
                    "type": "flow", "action": "completed", "id": 1,
                    "hostname": "demo.userpilot.io", "pathname": "/dashboard",
                    "message_id": "msg-1",
                    "user": {"user_id": "1", "name": "John Doe", "email": "john@userpilot.co"},
                    "company": {"id": "1", "name": "Userpilot"}
                }
            })
        );
    }

    #[test]
    fn exactly_the_ten_chosen_properties_are_added() {
        let event = flow_completed();
        let user: Value = (0..8)
            .map(|i| (format!("u{i}"), json!(i)))
            .collect::<Map<_, _>>()
            .into();
        let company: Value = (0..8)
            .map(|i| (format!("c{i}"), json!(i)))
            .collect::<Map<_, _>>()
            .into();
        let chosen = [
            "user.u0",
            "user.u1",
            "user.u2",
            "user.u3",
            "user.u4",
            "user.u5",
            "company.c0",
            "company.c1",
            "company.c2",
            "company.c3",
        ];
        let body = build(
            &PayloadFormat::Envelope,
            &selection(&chosen),
            &ctx(&event, &user, &company),
        );
        let expected_user = json!({"user_id": "1", "u0": 0, "u1": 1, "u2": 2, "u3": 3, "u4": 4, "u5": 5});
        assert_eq!(body["data"]["user"], expected_user);
        assert_eq!(
            body["data"]["company"],
            json!({"id": "1", "c0": 0, "c1": 1, "c2": 2, "c3": 3})
        );
    }

    #[test]
    fn missing_traits_are_left_out_and_ids_are_always_present() {
        let mut event = flow_completed();
        event.as_object_mut().expect("object").remove("userId");
        let empty = json!({});
        let props = selection(&["user.email", "company.name"]);
        let c = PayloadContext {
            user_id: None,
            company_id: None,
            ..ctx(&event, &empty, &empty)
        };
        let body = build(&PayloadFormat::Envelope, &props, &c);
        assert_eq!(body["data"]["user"], json!({"user_id": null}));
        assert_eq!(body["data"]["company"], json!({"id": null}));
    }

    #[test]
    fn ids_win_over_chosen_traits_of_the_same_name() {
        let event = flow_completed();
        let (user, company) = (json!({"user_id": "spoof"}), json!({"id": "spoof"}));
        let props = selection(&["user.user_id", "company.id"]);
        let (u, c) = user_and_company(&props, &ctx(&event, &user, &company));
        assert_eq!((u, c), (json!({"user_id": "1"}), json!({"id": "1"})));
    }

    #[test]
    fn unnamed_events_use_their_type_and_identify_sends_traits() {
        let event = json!({"type": "identify", "userId": "hello@example.com", "messageId": "m2",
                           "timestamp": "2022-08-08T17:15:45Z", "traits": {"phone": "+15558675309"}});
        let empty = json!({});
        let c = PayloadContext {
            user_id: None,
            company_id: None,
            ..ctx(&event, &empty, &empty)
        };
        let body = build(
            &PayloadFormat::Envelope,
            &PropertySelection::default(),
            &PayloadContext { test: true, ..c },
        );
        assert_eq!(body["type"], "identify");
        assert_eq!(body["timestamp"], 1_659_978_945);
        assert_eq!(body["test"], true);
        assert_eq!(body["data"]["phone"], "+15558675309");
        assert_eq!(body["data"]["user"], json!({"user_id": "hello@example.com"}));
        let page = json!({"type": "page", "name": "Pricing", "receivedAt": "2022-08-08T17:15:45.5Z"});
        let body = build(
            &PayloadFormat::Envelope,
            &PropertySelection::default(),
            &ctx(&page, &empty, &empty),
        );
        assert_eq!(
            (&body["type"], &body["timestamp"]),
            (&json!("Pricing"), &json!(1_659_978_945))
        );
        let bare = json!({"type": "page", "timestamp": "yesterday"});
        let body = build(
            &PayloadFormat::Envelope,
            &PropertySelection::default(),
            &ctx(&bare, &empty, &empty),
        );
        assert_eq!((&body["type"], &body["timestamp"]), (&json!("page"), &json!(0)));
        assert!(body.get("test").is_none());
    }

    #[test]
    fn custom_templates_see_the_event_and_the_chosen_properties() {
        let event = flow_completed();
        let user = json!({"email": "john@userpilot.co"});
        let company = json!({"name": "Userpilot"});
        let template = json!({"who": "{{ user.email }}", "uid": "{{ user.user_id }}", "org": "{{ company.name }}",
                              "step": "{{ properties.id }}", "what": "{{ event }} by {{ userId }}"});
        let format = PayloadFormat::custom(template).expect("valid template");
        let props = selection(&["user.email", "company.name"]);
        let c = PayloadContext {
            test: true,
            ..ctx(&event, &user, &company)
        };
        assert_eq!(
            build(&format, &props, &c),
            json!({"who": "john@userpilot.co", "uid": "1", "org": "Userpilot", "step": 1,
                   "what": "flows.completed by 1"})
        );
    }

    #[test]
    fn a_batch_is_a_json_array_in_order() {
        let items = vec![json!({"userId": "123"}), json!({"userId": "456"})];
        assert_eq!(batch(items), json!([{"userId": "123"}, {"userId": "456"}]));
        assert_eq!(batch(Vec::new()), json!([]));
    }
}
