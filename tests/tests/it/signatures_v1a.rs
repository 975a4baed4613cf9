//! Standard Webhooks `v1a` (ed25519) per webhook, checked by an independent verifier: the
//! `ed25519-dalek` verifying key built from the public key the API shows, over
//! `msg_id.timestamp.body`, `v1a,<base64>` in `webhook-signature` — and rotation, which signs
//! with both keys during the overlap.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use herald_tests::TestApp;
use herald_tests::fixtures::{WAIT, account, send, webhook};
use herald_tests::receiver::{Received, Receiver};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn verifying_key(public_key: &str) -> VerifyingKey {
    let bytes = B64
        .decode(public_key.strip_prefix("whpk_").expect("whpk_ prefix"))
        .unwrap();
    VerifyingKey::from_bytes(&bytes.try_into().expect("32 bytes")).unwrap()
}

/// How many of the request's `v1a` signatures `key` verifies (the spec's signed content).
fn verified_by(r: &Received, key: &VerifyingKey) -> usize {
    let content = [
        r.header("webhook-id").unwrap().as_bytes(),
        b".",
        r.header("webhook-timestamp").unwrap().as_bytes(),
        b".",
        &r.body,
    ]
    .concat();
    r.header("webhook-signature")
        .unwrap()
        .split(' ')
        .map(|part| part.strip_prefix("v1a,").expect("only v1a signatures"))
        .filter(|sig| {
            let sig = Signature::from_slice(&B64.decode(sig).unwrap()).unwrap();
            key.verify(&content, &sig).is_ok()
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1a_deliveries_verify_with_the_shown_public_key_and_rotation_signs_with_both() {
    let app = TestApp::spawn().await;
    let (s, token) = account(&app).await;
    let mut rx = Receiver::start().await;
    let (id, secret) = webhook(
        &s,
        &token,
        &rx.url,
        json!({"signature_scheme": "standard_webhooks_v1a", "patterns": [{"pattern": "*"}]}),
    )
    .await;
    assert!(
        secret.unwrap().starts_with("whsk_"),
        "the signing key is the webhook's secret"
    );
    let (status, keys) = s
        .api(Method::GET, &token, &format!("/webhooks/{id}/public-key"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let first_key = keys["public_key"].as_str().unwrap().to_owned();
    assert!(keys["previous_public_key"].is_null());
    assert!(
        s.page(&format!("/settings/webhooks/{id}")).await.contains(&first_key),
        "the dashboard shows the public key"
    );

    send(&s, &token, json!({"type": "track", "userId": "u", "event": "Signed"})).await;
    let r = rx.next(WAIT).await;
    assert_eq!(verified_by(&r, &verifying_key(&first_key)), 1);

    let (status, _) = s
        .api(
            Method::POST,
            &token,
            &format!("/webhooks/{id}/rotate-secret"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, keys) = s
        .api(Method::GET, &token, &format!("/webhooks/{id}/public-key"), None)
        .await;
    let second_key = keys["public_key"].as_str().unwrap().to_owned();
    assert_ne!(second_key, first_key);
    assert_eq!(keys["previous_public_key"], first_key.as_str());
    assert!(keys["previous_public_key_expires_at"].is_string());

    send(&s, &token, json!({"type": "track", "userId": "u", "event": "Rotated"})).await;
    let r = rx.next(WAIT).await;
    assert_eq!(r.header("webhook-signature").unwrap().split(' ').count(), 2);
    assert_eq!(verified_by(&r, &verifying_key(&second_key)), 1, "the new key verifies");
    assert_eq!(
        verified_by(&r, &verifying_key(&first_key)),
        1,
        "the old key still verifies"
    );

    // An HMAC webhook has no public key; a scheme switch to or from ed25519 is refused.
    let (hmac, _) = webhook(&s, &token, &rx.url, json!({"patterns": [{"pattern": "*"}]})).await;
    let (status, _) = s
        .api(Method::GET, &token, &format!("/webhooks/{hmac}/public-key"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s
        .api(
            Method::PATCH,
            &token,
            &format!("/webhooks/{hmac}"),
            Some(&json!({"signature_scheme": "standard_webhooks_v1a"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "signature_scheme");
}
