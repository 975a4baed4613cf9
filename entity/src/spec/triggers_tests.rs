use super::*;
use proptest::prelude::*;

fn pattern(raw: &str) -> EventPattern {
    EventPattern::parse(0, raw).expect(raw)
}

fn on(raw: &str) -> Trigger {
    Trigger {
        pattern: pattern(raw),
        enabled: true,
    }
}

#[test]
fn a_star_matches_every_name() {
    assert_eq!(pattern(" * "), EventPattern::All);
    assert!(pattern("*").matches("anything at all"));
}

#[test]
fn derived_visitor_events_are_taken_only_by_their_exact_name() {
    for name in RESERVED_EVENT_NAMES {
        assert!(!pattern("*").matches(name));
        assert!(!pattern("NEW.*").matches(name));
        assert!(pattern(name).matches(name));
    }
}

#[test]
fn a_prefix_pattern_matches_names_below_the_prefix_only() {
    let p = pattern("flows.*");
    assert_eq!(p, EventPattern::Prefix("flows".into()));
    assert!(p.matches("flows.completed"));
    assert!(p.matches("flows.a.b"));
    assert!(!p.matches("flows"));
    assert!(!p.matches("flows."));
    assert!(!p.matches("flowsx.completed"));
    assert!(!p.matches("checklist.completed"));
}

#[test]
fn an_exact_pattern_matches_only_that_name_case_sensitively() {
    let p = pattern("Order Completed");
    assert!(p.matches("Order Completed"));
    assert!(!p.matches("order completed"));
    assert!(!p.matches("Order Completed 2"));
}

#[test]
fn misplaced_stars_are_refused() {
    for raw in ["flows*", "*.completed", "fl*ws.*", "**", ".*", "a.*.*"] {
        let err = EventPattern::parse(3, raw).expect_err(raw);
        assert_eq!(err.field, "patterns[3].pattern");
    }
}

#[test]
fn empty_overlong_and_control_character_patterns_are_refused() {
    assert!(EventPattern::parse(0, "  ").is_err());
    assert!(EventPattern::parse(0, &"e".repeat(201)).is_err());
    assert!(EventPattern::parse(0, &"e".repeat(200)).is_ok());
    assert!(EventPattern::parse(0, "a\tb").is_err());
}

#[test]
fn patterns_serialize_as_the_text_written() {
    let t = Triggers::parse([("flows.*", true), ("*", false), ("NEW_VISIT", true)]).expect("valid");
    assert_eq!(
        serde_json::to_value(&t).expect("json"),
        serde_json::json!([
            {"pattern": "flows.*", "enabled": true},
            {"pattern": "*", "enabled": false},
            {"pattern": "NEW_VISIT", "enabled": true},
        ])
    );
    let back: Triggers = serde_json::from_value(serde_json::to_value(&t).expect("json")).expect("valid");
    assert_eq!(back, t);
}

#[test]
fn a_repeated_pattern_is_refused_on_the_later_row() {
    let errors = Triggers::parse([("flows.*", true), (" flows.* ", false)]).expect_err("dup");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "patterns[1].pattern");
}

#[test]
fn a_fifty_first_pattern_is_refused_on_patterns() {
    let rows: Vec<(String, bool)> = (0..=MAX_PATTERNS).map(|i| (format!("e{i}"), true)).collect();
    let errors = Triggers::parse(rows.clone()).expect_err("too many");
    assert_eq!(errors[0].field, "patterns");
    assert!(Triggers::parse(rows.into_iter().take(MAX_PATTERNS)).is_ok());
}

#[test]
fn blank_pattern_rows_are_skipped() {
    let t = Triggers::parse([("", true), ("a", true)]).expect("valid");
    assert_eq!(t.as_slice().len(), 1);
}

#[test]
fn track_events_need_an_enabled_matching_trigger() {
    let types = EventTypes::default();
    let triggers = [on("flows.*")];
    assert!(matches_event(
        &types,
        &triggers,
        EventType::Track,
        Some("flows.completed")
    ));
    assert!(!matches_event(
        &types,
        &triggers,
        EventType::Track,
        Some("nps.feedback")
    ));
    let off = [Trigger {
        enabled: false,
        ..on("flows.*")
    }];
    assert!(!matches_event(&types, &off, EventType::Track, Some("flows.completed")));
}

#[test]
fn a_webhook_without_triggers_takes_no_track_events() {
    assert!(!matches_event(
        &EventTypes::default(),
        &[],
        EventType::Track,
        Some("signed_up")
    ));
    assert!(!matches_event(
        &EventTypes::default(),
        &[on("*")],
        EventType::Track,
        None
    ));
}

#[test]
fn events_of_types_not_chosen_are_never_taken() {
    let types = EventTypes::default();
    assert!(!matches_event(&types, &[on("*")], EventType::Identify, None));
    assert!(!matches_event(&types, &[on("*")], EventType::Page, Some("NEW_VISIT")));
}

#[test]
fn unnamed_events_of_chosen_types_are_decided_by_type_alone() {
    let types = EventTypes::new([EventType::Identify, EventType::Group]).expect("valid");
    assert!(matches_event(&types, &[], EventType::Identify, None));
    assert!(matches_event(&types, &[on("flows.*")], EventType::Group, None));
}

#[test]
fn a_named_event_of_another_type_still_needs_a_trigger() {
    let types = EventTypes::new([EventType::Page]).expect("valid");
    assert!(matches_event(
        &types,
        &[on("NEW_VISIT")],
        EventType::Page,
        Some("NEW_VISIT")
    ));
    assert!(!matches_event(
        &types,
        &[on("NEW_VISITOR")],
        EventType::Page,
        Some("NEW_VISIT")
    ));
}

proptest! {
    #[test]
    fn a_prefix_pattern_matches_every_name_below_it(prefix in "[a-z_]{1,10}", rest in "[a-z._ ]{1,20}") {
        let p = pattern(&format!("{prefix}.*"));
        let name = format!("{prefix}.{rest}");
        prop_assert!(p.matches(&name));
        prop_assert!(!p.matches(&prefix));
    }

    #[test]
    fn an_exact_pattern_round_trips_through_its_text(name in "[^*\\p{Cc}]{1,50}") {
        let trimmed = name.trim();
        prop_assume!(!trimmed.is_empty() && !trimmed.ends_with(".*"));
        let p = pattern(trimmed);
        prop_assert!(p.matches(trimmed));
        prop_assert_eq!(pattern(&p.to_string()), p);
    }
}
