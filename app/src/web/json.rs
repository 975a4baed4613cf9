//! JSON request bodies, read strictly: malformed JSON, wrong types and unknown fields are
//! refused with 400 naming the field. Shared by the REST API and the Segment-compatible ingest
//! endpoints, so neither imports the other.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest JSON body accepted by configuration endpoints.
const JSON_LIMIT: usize = 64 * 1024;

/// A JSON body parsed strictly: malformed JSON, wrong types and unknown fields are refused with
/// 400 naming the field (its path, e.g. `scopes[1]`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(|e| {
                if super::client_limits::is_timeout(&e) {
                    ApiError::TooSlow(e.to_string())
                } else {
                    ApiError::TooLarge(format!("The body is larger than {JSON_LIMIT} bytes."))
                }
            })?;
            if bytes.len() > JSON_LIMIT {
                return Err(ApiError::TooLarge(format!(
                    "The body is larger than {JSON_LIMIT} bytes."
                )));
            }
            parse_json(&bytes).map(ApiJson)
        })
    }
}

/// Parses JSON bytes into `T`, reporting the offending field's path.
///
/// # Errors
/// [`ApiError::BadBody`] with code `invalid_json` (syntax) or `invalid_field` (shape).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadBody {
            code: "invalid_json",
            message: "A JSON body is required.".into(),
            field: None,
        });
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadBody {
                code: "invalid_json",
                message: format!("The body is not valid JSON: {inner}"),
                field: None,
            }
        } else {
            let field = (path != ".").then_some(path);
            ApiError::BadBody {
                code: "invalid_field",
                message: format!("The body has a wrong field: {inner}"),
                field,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "the fields are only deserialized")]
    struct Body {
        name: String,
        scopes: Vec<String>,
    }

    fn code_and_field(r: Result<Body, ApiError>) -> (&'static str, Option<String>) {
        match r {
            Err(ApiError::BadBody { code, field, .. }) => (code, field),
            other => panic!("expected a bad body, got {other:?}"),
        }
    }

    #[test]
    fn bad_bodies_name_the_problem() {
        assert_eq!(code_and_field(parse_json(b"{not json")), ("invalid_json", None));
        assert_eq!(code_and_field(parse_json(b"")), ("invalid_json", None));
        assert_eq!(
            code_and_field(parse_json(br#"{"name": 5, "scopes": []}"#)),
            ("invalid_field", Some("name".into()))
        );
        assert_eq!(
            code_and_field(parse_json(br#"{"name": "a", "scopes": ["r", 1]}"#)),
            ("invalid_field", Some("scopes[1]".into()))
        );
        assert_eq!(
            code_and_field(parse_json(br#"{"name": "a", "scopes": [], "x": 1}"#)).0,
            "invalid_field"
        );
    }
}
