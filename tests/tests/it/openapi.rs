//! The OpenAPI document is generated from the router's own registrations; this checks that the
//! two agree from the outside: every documented operation exists, and no undocumented method
//! answers on a documented path; and that every closed set of the API is an `enum`.

use herald_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_router() {
    let app = TestApp::spawn().await;
    let s = app.session();
    let res = s.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc: serde_json::Value = res.json().await.expect("the document is JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    for expected in [
        "/api/v1/apps",
        "/api/v1/apps/{id}",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/audit-log",
        "/api/v1/webhooks/{id}/deliveries",
        "/api/v1/webhooks/{id}/replay",
        "/api/v1/webhooks/{id}/test",
        "/api/v1/webhooks/{id}/stats",
        "/api/v1/deliveries/{id}",
        "/api/v1/deliveries/{id}/retry",
    ] {
        assert!(paths.contains_key(expected), "{expected} is documented");
    }
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path.replace("{id}", "1");
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let documented = item.get(method.as_str().to_lowercase()).is_some();
            let res = s
                .client
                .request(method.clone(), format!("{}{concrete}", app.base))
                .send()
                .await
                .unwrap();
            if documented {
                operations += 1;
                assert_eq!(
                    res.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} is routed (and needs a token)"
                );
            } else {
                assert!(
                    matches!(res.status(), StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED),
                    "{method} {path} answers {} but is not documented",
                    res.status()
                );
            }
        }
    }
    assert!(operations >= 30, "{operations} operations");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// The string values a schema allows, looking through `$ref`, `items` and the `oneOf`/`anyOf`/
/// `allOf` that wrap an optional value.
fn enum_values(doc: &Value, schema: &Value) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return enum_values(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(values) = schema["enum"].as_array() {
        return values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
    }
    if schema["items"].is_object() {
        return enum_values(doc, &schema["items"]);
    }
    ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|k| schema[*k].as_array())
        .flatten()
        .flat_map(|s| enum_values(doc, s))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_closed_set_is_an_enum() {
    let app = TestApp::spawn().await;
    let doc: Value = app.session().get("/api/v1/openapi.json").await.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    let methods = ["POST", "PUT", "PATCH", "DELETE"].as_slice();
    let event_types = ["track", "identify", "page", "screen", "group"].as_slice();
    let formats = ["event", "envelope", "custom"].as_slice();
    let schemes = ["standard_webhooks", "standard_webhooks_v1a", "hmac_sha1", "none"].as_slice();
    let scopes = ["ingest", "read", "write"].as_slice();
    let statuses = [
        "succeeded",
        "failed",
        "retrying",
        "pending",
        "in_flight",
        "cancelled",
        "collecting",
    ]
    .as_slice();
    let triggers = ["scheduled", "manual", "test"].as_slice();
    let kinds = ["timeout", "connect", "dns", "tls", "blocked", "http_status", "internal"].as_slice();
    let states = ["healthy", "failing", "paused", "disabled", "no_traffic"].as_slice();
    let ops = ["eq", "ne", "in", "exists", "contains", "gt", "lt"].as_slice();
    let sources = ["dashboard", "api", "traffic", "builtin"].as_slice();
    for (schema, property, expected) in [
        ("WebhookIn", "method", methods),
        ("WebhookOut", "method", methods),
        ("WebhookIn", "event_types", event_types),
        ("WebhookOut", "event_types", event_types),
        ("WebhookIn", "payload_format", formats),
        ("WebhookOut", "payload_format", formats),
        ("WebhookIn", "signature_scheme", schemes),
        ("WebhookOut", "signature_scheme", schemes),
        ("ConditionIo", "op", ops),
        ("TokenIn", "scopes", scopes),
        ("TokenOut", "scopes", scopes),
        ("DeliveryFields", "status", statuses),
        ("DeliveryFields", "trigger", triggers),
        ("AttemptOut", "trigger", triggers),
        ("AttemptOut", "error_kind", kinds),
        ("StatsOut", "state", states),
        ("EventTypeOut", "source", sources),
    ] {
        let mut got = enum_values(&doc, &schemas[schema]["properties"][property]);
        let mut want: Vec<String> = expected.iter().map(|v| (*v).to_owned()).collect();
        got.sort();
        want.sort();
        assert_eq!(
            got, want,
            "{schema}.{property}: {}",
            schemas[schema]["properties"][property]
        );
    }
    let status_param = doc["paths"]["/api/v1/deliveries"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "status")
        .expect("a status filter");
    let mut got = enum_values(&doc, &status_param["schema"]);
    got.sort();
    let mut want: Vec<&str> = statuses.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "the status filter");
    for (property, max) in [("max_in_flight", 100), ("rate_limit", 10_000)] {
        let p = &schemas["WebhookIn"]["properties"][property];
        assert_eq!(p["minimum"], 1, "{property}: {p}");
        assert_eq!(p["maximum"], max, "{property}: {p}");
    }
}
