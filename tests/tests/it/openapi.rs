//! The OpenAPI document is generated from the router's own registrations; this checks that the
//! two agree from the outside: every documented operation exists, and no undocumented method
//! answers on a documented path.

use herald_tests::TestApp;
use reqwest::{Method, StatusCode};

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
