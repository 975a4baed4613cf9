use super::*;
use serde_json::json;

fn cond(path: &str, op: Op, value: Value) -> Condition {
    Condition {
        path: path.into(),
        op,
        value,
    }
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

/// Seed 003's click event, trimmed to what the tests look at.
fn supersend(kind: &str, interest: &str) -> Value {
    json!({
        "type": kind,
        "CampaignId": "d9ff359d",
        "contact": {"interest": interest, "appointment": false, "title": null, "score": 7, "tags": ["vip", "beta"]}
    })
}

#[test]
fn the_seed_003_filter_lets_only_interested_contacts_through() {
    let filter =
        Filter::parse_form([("type", "eq", "interest"), ("contact.interest", "eq", "\"interested\"")]).expect("valid");
    assert!(filter.evaluate(&supersend("interest", "interested")));
    assert!(!filter.evaluate(&supersend("click", "interested")));
    assert!(!filter.evaluate(&supersend("interest", "not_interested")));
}

#[test]
fn an_empty_filter_lets_everything_through() {
    assert!(Filter::default().evaluate(&json!({})));
    assert!(
        Filter::parse_form::<&str, &str, &str>([])
            .expect("empty")
            .evaluate(&Value::Null)
    );
}

#[test]
fn eq_compares_json_values_and_numbers_by_value() {
    let e = json!({"n": 1, "f": 1.0, "s": "1", "b": true, "o": {"a": [1, 2.0]}});
    assert!(cond("n", Op::Eq, json!(1.0)).holds(&e));
    assert!(cond("f", Op::Eq, json!(1)).holds(&e));
    assert!(cond("b", Op::Eq, json!(true)).holds(&e));
    assert!(cond("o", Op::Eq, json!({"a": [1.0, 2]})).holds(&e));
    assert!(!cond("missing", Op::Eq, Value::Null).holds(&e));
}

#[test]
fn a_number_and_a_numeric_string_are_not_equal() {
    let e = json!({"n": 5, "s": "5"});
    assert!(!cond("n", Op::Eq, json!("5")).holds(&e));
    assert!(!cond("s", Op::Eq, json!(5)).holds(&e));
    assert!(cond("n", Op::Ne, json!("5")).holds(&e));
}

#[test]
fn ne_holds_when_the_path_is_missing() {
    let e = json!({"status": "open"});
    assert!(cond("other", Op::Ne, json!("cancelled")).holds(&e));
    assert!(!cond("status", Op::Ne, json!("open")).holds(&e));
}

#[test]
fn in_holds_when_the_value_is_one_of_the_list() {
    let e = supersend("reply", "interested");
    assert!(cond("type", Op::In, json!(["open", "reply"])).holds(&e));
    assert!(!cond("type", Op::In, json!(["open", "click"])).holds(&e));
    assert!(!cond("type", Op::In, json!("reply")).holds(&e));
}

#[test]
fn exists_needs_a_present_non_null_value() {
    let e = supersend("click", "interested");
    assert!(cond("contact.appointment", Op::Exists, Value::Null).holds(&e));
    assert!(!cond("contact.title", Op::Exists, Value::Null).holds(&e));
    assert!(!cond("contact.phone", Op::Exists, Value::Null).holds(&e));
}

#[test]
fn contains_looks_inside_strings_and_arrays() {
    let e = supersend("click", "interested");
    assert!(cond("contact.interest", Op::Contains, json!("terest")).holds(&e));
    assert!(cond("contact.tags", Op::Contains, json!("vip")).holds(&e));
    assert!(!cond("contact.tags", Op::Contains, json!("vi")).holds(&e));
    assert!(!cond("contact.score", Op::Contains, json!("7")).holds(&e));
}

#[test]
fn gt_and_lt_compare_numbers_only() {
    let e = json!({"score": 7, "text": "9"});
    assert!(cond("score", Op::Gt, json!(6.5)).holds(&e));
    assert!(!cond("score", Op::Gt, json!(7)).holds(&e));
    assert!(cond("score", Op::Lt, json!(8)).holds(&e));
    assert!(!cond("text", Op::Gt, json!(1)).holds(&e));
    assert!(!cond("missing", Op::Lt, json!(1)).holds(&e));
}

#[test]
fn form_values_are_json_when_they_parse_and_text_otherwise() {
    assert_eq!(parse_value(0, Op::Eq, "42"), Ok(json!(42)));
    assert_eq!(parse_value(0, Op::Eq, " true "), Ok(json!(true)));
    assert_eq!(parse_value(0, Op::Eq, "null"), Ok(Value::Null));
    assert_eq!(parse_value(0, Op::Eq, "\"42\""), Ok(json!("42")));
    assert_eq!(parse_value(0, Op::Eq, "interested"), Ok(json!("interested")));
    assert_eq!(parse_value(0, Op::Eq, "Order Completed"), Ok(json!("Order Completed")));
    assert_eq!(parse_value(0, Op::In, "[\"a\", 1]"), Ok(json!(["a", 1])));
    assert_eq!(parse_value(0, Op::Exists, "whatever"), Ok(Value::Null));
}

#[test]
fn values_that_do_not_suit_the_operator_are_refused_on_the_value() {
    let err = parse_value(2, Op::In, "a, b").expect_err("not array");
    assert_eq!(err.field, "filter[2].value");
    assert!(err.message.contains("JSON array"));
    assert_eq!(parse_value(1, Op::Gt, "ten").expect_err("nan").field, "filter[1].value");
    assert!(parse_value(1, Op::Lt, "\"10\"").is_err());
}

#[test]
fn bad_paths_and_operators_are_refused_on_their_fields() {
    let errors = Filter::parse_form([("a..b", "eq", "1"), ("ok", "like", "x"), ("n", "gt", "x")]).expect_err("bad");
    assert_eq!(fields(&errors), ["filter[0].path", "filter[1].op", "filter[2].value"]);
}

#[test]
fn blank_form_rows_are_skipped_but_counted_in_indexes() {
    let errors = Filter::parse_form([("", "eq", ""), ("x y", "eq", "1")]).expect_err("bad");
    assert_eq!(fields(&errors), ["filter[1].path"]);
    let f = Filter::parse_form([("", "eq", " "), ("type", "EQ", "click")]).expect("valid");
    assert_eq!(f.as_slice(), [cond("type", Op::Eq, json!("click"))]);
}

#[test]
fn a_twenty_first_condition_is_refused_on_filter() {
    let rows: Vec<(String, &str, &str)> = (0..=MAX_CONDITIONS).map(|i| (format!("p{i}"), "exists", "")).collect();
    let errors = Filter::parse_form(rows.clone()).expect_err("too many");
    assert_eq!(fields(&errors), ["filter"]);
    assert!(Filter::parse_form(rows.into_iter().take(MAX_CONDITIONS)).is_ok());
}

#[test]
fn api_rows_take_json_values_as_given() {
    let f = Filter::parse_json([("contact.score", "gt", json!(5)), ("type", "in", json!(["a"]))]).expect("valid");
    assert_eq!(f.as_slice().len(), 2);
    let errors = Filter::parse_json([("type", "in", json!("a"))]).expect_err("not array");
    assert_eq!(fields(&errors), ["filter[0].value"]);
    let f = Filter::parse_json([("type", "exists", json!("ignored"))]).expect("valid");
    assert_eq!(f.as_slice()[0].value, Value::Null);
}

#[test]
fn filters_serialize_as_condition_objects_and_are_rechecked_when_read() {
    let f = Filter::parse_form([("contact.interest", "eq", "interested")]).expect("valid");
    let json = serde_json::to_value(&f).expect("json");
    assert_eq!(
        json,
        json!([{"path": "contact.interest", "op": "eq", "value": "interested"}])
    );
    assert_eq!(serde_json::from_value::<Filter>(json).expect("valid"), f);
    let bad = json!([{"path": "a", "op": "gt", "value": "x"}]);
    assert!(serde_json::from_value::<Filter>(bad).is_err());
}

#[test]
fn a_condition_with_a_malformed_path_finds_nothing() {
    let e = json!({"a b": 1});
    assert!(!cond("a b", Op::Exists, Value::Null).holds(&e));
    assert!(cond("a b", Op::Ne, json!(1)).holds(&e));
}

#[test]
fn every_operator_round_trips_through_its_name() {
    for op in Op::ALL {
        assert_eq!(Op::parse(0, op.as_str()), Ok(op));
        assert_eq!(serde_json::to_value(op).expect("json"), json!(op.as_str()));
    }
}
