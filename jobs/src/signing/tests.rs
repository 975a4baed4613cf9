use super::*;
use serde::Deserialize;

/// The official Standard Webhooks vectors, copied from shared/testdata so a clean checkout builds.
const VECTORS: &str = include_str!("../../testdata/standard-webhooks-vectors.json");

#[derive(Deserialize)]
struct Vectors {
    valid: Vec<Vector>,
    must_not_verify_for_vector_0: Vec<String>,
}

#[derive(Deserialize)]
struct Vector {
    secret: String,
    id: String,
    timestamp: i64,
    payload: String,
    signature: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("the vector file is valid JSON")
}

#[test]
fn standard_signatures_match_the_official_vectors() {
    let v = vectors();
    assert!(v.valid.len() >= 2);
    for case in &v.valid {
        let sig = sign_standard(&case.secret, &case.id, case.timestamp, case.payload.as_bytes()).expect("valid secret");
        assert_eq!(sig, case.signature, "vector {}", case.id);
        assert!(verify_standard(
            &case.secret,
            &case.id,
            case.timestamp,
            case.timestamp,
            case.payload.as_bytes(),
            &case.signature
        ));
    }
}

#[test]
fn altered_signatures_from_the_official_vectors_do_not_verify() {
    let v = vectors();
    let case = &v.valid[0];
    for bad in &v.must_not_verify_for_vector_0 {
        assert!(
            !verify_standard(
                &case.secret,
                &case.id,
                case.timestamp,
                case.timestamp,
                case.payload.as_bytes(),
                bad
            ),
            "{bad}"
        );
    }
}

#[test]
fn a_changed_body_id_or_timestamp_does_not_verify() {
    let v = vectors();
    let c = &v.valid[1];
    let body = c.payload.as_bytes();
    assert!(!verify_standard(
        &c.secret,
        &c.id,
        c.timestamp,
        c.timestamp,
        b"{}",
        &c.signature
    ));
    assert!(!verify_standard(
        &c.secret,
        "msg_other",
        c.timestamp,
        c.timestamp,
        body,
        &c.signature
    ));
    assert!(!verify_standard(
        &c.secret,
        &c.id,
        c.timestamp + 1,
        c.timestamp,
        body,
        &c.signature
    ));
}

#[test]
fn verification_refuses_timestamps_more_than_five_minutes_away() {
    let v = vectors();
    let c = &v.valid[1];
    let body = c.payload.as_bytes();
    let check = |now: i64| verify_standard(&c.secret, &c.id, c.timestamp, now, body, &c.signature);
    assert!(check(c.timestamp + 300));
    assert!(check(c.timestamp - 300));
    assert!(!check(c.timestamp + 301));
    assert!(!check(c.timestamp - 301));
}

#[test]
fn during_a_rotation_the_header_carries_both_signatures() {
    let old = generate_secret(SignatureScheme::StandardWebhooks).expect("secret");
    let new = generate_secret(SignatureScheme::StandardWebhooks).expect("secret");
    let body = br#"{"a":1}"#;
    let header = standard_signature_header(&new, Some(&old), "msg_1", 1_700_000_000, body).expect("valid");
    let parts: Vec<&str> = header.split(' ').collect();
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| p.starts_with("v1,")));
    for secret in [&old, &new] {
        assert!(verify_standard(
            secret,
            "msg_1",
            1_700_000_000,
            1_700_000_000,
            body,
            &header
        ));
    }
    let single = standard_signature_header(&new, None, "msg_1", 1_700_000_000, body).expect("valid");
    assert_eq!(single, parts[0]);
}

#[test]
fn signing_with_a_malformed_secret_is_an_error() {
    for secret in ["whsec_", "whsec_not base64!", ""] {
        assert_eq!(
            sign_standard(secret, "m", 1, b"x"),
            Err(SignError::InvalidStandardSecret),
            "{secret}"
        );
        assert!(!verify_standard(secret, "m", 1, 1, b"x", "v1,AAAA"));
    }
    assert!(standard_signature_header("whsec_AAAA", Some("bad!"), "m", 1, b"x").is_err());
}

#[test]
fn hmac_sha1_matches_rfc_2202_case_2() {
    let sig = sign_hmac_sha1_hex("Jefe", b"what do ya want for nothing?");
    assert_eq!(sig, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    assert!(verify_hmac_sha1_hex(
        "Jefe",
        b"what do ya want for nothing?",
        &sig.to_uppercase()
    ));
    assert!(!verify_hmac_sha1_hex("Jefe", b"what do ya want for nothing!", &sig));
    assert!(!verify_hmac_sha1_hex(
        "Jefe",
        b"what do ya want for nothing?",
        "not hex"
    ));
}

#[test]
fn generated_standard_secrets_are_whsec_and_24_bytes() {
    let s = generate_secret(SignatureScheme::StandardWebhooks).expect("secret");
    let key = B64.decode(s.strip_prefix("whsec_").expect("prefix")).expect("base64");
    assert_eq!(key.len(), 24);
    assert_eq!(validate_secret(SignatureScheme::StandardWebhooks, &s), Ok(s));
}

#[test]
fn generated_hmac_secrets_are_64_hex_characters() {
    let s = generate_secret(SignatureScheme::HmacSha1).expect("secret");
    assert_eq!(s.len(), 64);
    assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(validate_secret(SignatureScheme::HmacSha1, &s), Ok(s));
}

#[test]
fn generated_secrets_differ_every_time() {
    for scheme in [SignatureScheme::StandardWebhooks, SignatureScheme::HmacSha1] {
        assert_ne!(generate_secret(scheme), generate_secret(scheme));
    }
}

#[test]
fn unsigned_webhooks_have_no_secret() {
    assert_eq!(generate_secret(SignatureScheme::None), None);
    assert_eq!(
        validate_secret(SignatureScheme::None, "anything")
            .expect_err("none")
            .field,
        "secret"
    );
}

#[test]
fn tenant_standard_secrets_are_checked() {
    let ok = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    assert_eq!(
        validate_secret(SignatureScheme::StandardWebhooks, &format!(" {ok} ")),
        Ok(ok.to_owned())
    );
    let short = format!("whsec_{}", B64.encode([7u8; 23]));
    let long = format!("whsec_{}", B64.encode([7u8; 65]));
    assert!(
        validate_secret(
            SignatureScheme::StandardWebhooks,
            &format!("whsec_{}", B64.encode([7u8; 64]))
        )
        .is_ok()
    );
    for bad in [
        "",
        "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "whsec_%%%",
        short.as_str(),
        long.as_str(),
    ] {
        let err = validate_secret(SignatureScheme::StandardWebhooks, bad).expect_err(bad);
        assert_eq!(err.field, "secret");
    }
}

#[test]
fn tenant_hmac_secrets_are_checked() {
    assert!(validate_secret(SignatureScheme::HmacSha1, "sixteen-chars-ok").is_ok());
    assert!(validate_secret(SignatureScheme::HmacSha1, &"x".repeat(200)).is_ok());
    for bad in [
        "too-short",
        "has a space inside it",
        "non-ascii-secret-é",
        &"x".repeat(201),
    ] {
        let err = validate_secret(SignatureScheme::HmacSha1, bad).expect_err(bad);
        assert_eq!(err.field, "secret");
    }
}
