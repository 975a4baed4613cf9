use super::*;
use proptest::prelude::*;
use serde_json::json;

fn event() -> Value {
    json!({
        "type": "track",
        "event": "Signed Up",
        "userId": "123",
        "properties": {"plan": "Startup", "seats": 5, "paid": true, "tags": ["a", "b"], "coupon": null},
        "context": {"page": {"url": "https://x.test/pricing"}},
        "traits": {"name": "Ada"},
        "items": [{"sku": "s-1"}],
        "user": {"email": "ada@example.com"}
    })
}

#[test]
fn event_is_the_default_payload_format() {
    assert_eq!(PayloadFormat::default(), PayloadFormat::Event);
}

#[test]
fn formats_serialize_with_a_kind_tag() {
    assert_eq!(
        serde_json::to_value(PayloadFormat::Envelope).expect("json"),
        json!({"kind": "envelope"})
    );
    let custom = PayloadFormat::parse("custom", Some(r#"{"p": "{{ properties.plan }}"}"#)).expect("valid");
    let json = serde_json::to_value(&custom).expect("json");
    assert_eq!(
        json,
        json!({"kind": "custom", "template": {"p": "{{ properties.plan }}"}})
    );
    assert_eq!(serde_json::from_value::<PayloadFormat>(json).expect("valid"), custom);
    let bad = json!({"kind": "custom", "template": {"p": "{{ a b }}"}});
    assert!(serde_json::from_value::<PayloadFormat>(bad).is_err());
    assert!(serde_json::from_value::<PayloadFormat>(json!({"kind": "custom", "template": 1})).is_err());
}

#[test]
fn kinds_parse_case_insensitively_and_ignore_the_template_unless_custom() {
    assert_eq!(
        PayloadFormat::parse(" Envelope ", Some("not json")),
        Ok(PayloadFormat::Envelope)
    );
    assert_eq!(PayloadFormat::parse("event", None), Ok(PayloadFormat::Event));
    assert_eq!(
        PayloadFormat::parse("xml", None).expect_err("unknown").field,
        "payload_format"
    );
}

#[test]
fn a_custom_format_needs_a_template() {
    for template in [None, Some("   ")] {
        let err = PayloadFormat::parse("custom", template).expect_err("missing");
        assert_eq!(err.field, "template");
    }
}

#[test]
fn invalid_json_is_refused_with_its_line_and_column() {
    let err = parse_template("{\n  \"a\": 1,\n  \"b\": \n}").expect_err("bad json");
    assert_eq!(err.field, "template");
    assert!(err.message.contains("line 4 column 1"), "{}", err.message);
}

#[test]
fn a_template_must_be_an_object_or_an_array() {
    for text in ["\"{{ event }}\"", "42", "null"] {
        let err = parse_template(text).expect_err(text);
        assert!(err.message.contains("object or array"), "{}", err.message);
    }
    assert!(parse_template("[\"{{ event }}\"]").is_ok());
}

#[test]
fn a_template_over_16_kb_is_refused() {
    let big = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_TEMPLATE_BYTES));
    let err = parse_template(&big).expect_err("big");
    assert!(err.message.contains("16 KB"), "{}", err.message);
    let big = json!({"a": "x".repeat(MAX_TEMPLATE_BYTES)});
    assert!(PayloadFormat::custom(big).is_err());
}

#[test]
fn a_placeholder_with_a_bad_path_is_refused_and_named() {
    let err = parse_template(r#"{"a": {"b": ["ok {{ user.email }}", "{{ properties..plan }}"]}}"#).expect_err("bad");
    assert_eq!(err.field, "template");
    assert!(err.message.contains("“{{ properties..plan }}”"), "{}", err.message);
    assert!(parse_template(r#"{"a": "{{}}"}"#).is_err());
    assert!(parse_template(r#"{"a": "{{ first name }}"}"#).is_err());
}

#[test]
fn an_unclosed_placeholder_is_refused() {
    let err = parse_template(r#"{"a": "Hi {{ traits.name"}"#).expect_err("unclosed");
    assert!(err.message.contains("no closing"), "{}", err.message);
}

#[test]
fn placeholders_in_keys_are_plain_text() {
    let t = parse_template(r#"{"{{ not a path }}": 1}"#).expect("keys are not checked");
    assert_eq!(render_template(&t, &event()), json!({"{{ not a path }}": 1}));
}

#[test]
fn a_whole_string_placeholder_keeps_the_json_type() {
    let t = json!({
        "plan": "{{ properties.plan }}",
        "seats": "{{properties.seats}}",
        "paid": "{{ properties.paid }}",
        "tags": "{{ properties.tags }}",
        "url": "{{ context.page.url }}",
        "sku": "{{ items[0].sku }}",
        "email": "{{ user.email }}",
        "props": "{{ properties }}",
    });
    let out = render_template(&t, &event());
    assert_eq!(out["plan"], json!("Startup"));
    assert_eq!(out["seats"], json!(5));
    assert_eq!(out["paid"], json!(true));
    assert_eq!(out["tags"], json!(["a", "b"]));
    assert_eq!(out["url"], json!("https://x.test/pricing"));
    assert_eq!(out["sku"], json!("s-1"));
    assert_eq!(out["email"], json!("ada@example.com"));
    assert_eq!(out["props"], event()["properties"]);
}

#[test]
fn a_missing_value_renders_as_null() {
    let out = render_template(
        &json!({"x": "{{ properties.nope }}", "y": ["{{ items[9] }}"]}),
        &event(),
    );
    assert_eq!(out, json!({"x": null, "y": [null]}));
}

#[test]
fn placeholders_inside_text_are_interpolated() {
    let t = json!({
        "greeting": "Hi {{ traits.name }}!",
        "line": "{{ event }} for {{ properties.seats }} seats, paid={{properties.paid}}",
        "missing": "[{{ traits.nope }}][{{ properties.coupon }}]",
        "list": "tags: {{ properties.tags }}",
    });
    let out = render_template(&t, &event());
    assert_eq!(out["greeting"], json!("Hi Ada!"));
    assert_eq!(out["line"], json!("Signed Up for 5 seats, paid=true"));
    assert_eq!(out["missing"], json!("[][]"));
    assert_eq!(out["list"], json!(r#"tags: ["a","b"]"#));
}

#[test]
fn rendering_goes_through_arrays_and_nested_objects() {
    let t = json!([{"user": {"id": "{{ userId }}", "static": 1}}, "{{ type }}", 2, null]);
    assert_eq!(
        render_template(&t, &event()),
        json!([{"user": {"id": "123", "static": 1}}, "track", 2, null])
    );
}

#[test]
fn malformed_placeholders_render_as_written() {
    let t = json!({"a": "{{ bad path }}", "b": "x {{ bad path }} y", "c": "Hi {{ name"});
    assert_eq!(render_template(&t, &event()), t);
}

#[test]
fn the_seed_004_mapping_renders_a_flat_body() {
    let t = parse_template(
        r#"{"type": "{{ type }}", "userId": "{{ userId }}", "event": "{{ event }}",
            "properties": {"plan": "{{ properties.plan }}", "referred_by": "{{ properties.referred_by }}"}}"#,
    )
    .expect("valid");
    assert_eq!(
        render_template(&t, &event()),
        json!({"type": "track", "userId": "123", "event": "Signed Up",
               "properties": {"plan": "Startup", "referred_by": null}})
    );
}

fn plain_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z {}]{0,10}"
            .prop_filter("no braces pair", |s| !s.contains("{{"))
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn a_template_without_placeholders_renders_to_itself(t in plain_json()) {
        prop_assert_eq!(render_template(&t, &event()), t);
    }

    #[test]
    fn scanning_and_rendering_never_panic(s in "\\PC{0,30}") {
        let _ = render_template(&Value::String(s.clone()), &event());
        let _ = validate_template(&json!([s]));
    }
}
