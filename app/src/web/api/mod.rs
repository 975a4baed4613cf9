//! The REST API under `/api/v1`: bearer-token authentication, JSON in and out, errors as
//! `{"error": {"code", "message", "field"?}}`, cursor pagination on lists.

mod apps;
mod audit;
mod choices;
mod deliveries;
mod delivery_json;
mod doc_errors;
mod event_types;
mod events;
mod public_key;
mod tokens;
mod webhook_json;
mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa_actix_web::service_config::ServiceConfig;

use entity::api_token;

use super::AppState;
use super::error::ApiError;
use crate::domain::DomainError;
use crate::domain::audit::{Actor, ActorKind};
use crate::domain::page::{Page, PageRequest};
use crate::domain::roles::{Scope, Scopes};

/// Largest JSON body accepted by configuration endpoints.
const JSON_LIMIT: usize = 64 * 1024;

/// Routes of `/api/v1`, registered through utoipa so the OpenAPI document is generated from
/// the same registrations and cannot drift from the router.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| ApiError::Domain(DomainError::NotFound).into()))
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError::BadBody {
                code: "invalid_query",
                message: format!("The query string is not valid: {e}"),
                field: None,
            }
            .into()
        }))
        .app_data(web::PayloadConfig::new(crate::web::ingest::MAX_BODY))
        .service(events::ingest)
        .service(apps::list)
        .service(apps::create)
        .service(apps::get)
        .service(apps::rename)
        .service(tokens::list)
        .service(tokens::create)
        .service(tokens::get)
        .service(tokens::revoke)
        .service(event_types::list)
        .service(event_types::create)
        .service(event_types::get)
        .service(event_types::archive)
        .service(event_types::restore)
        .service(webhooks::list)
        .service(webhooks::create)
        .service(webhooks::get)
        .service(webhooks::update)
        .service(webhooks::remove)
        .service(webhooks::enable)
        .service(webhooks::disable)
        .service(webhooks::rotate_secret)
        .service(webhooks::secret)
        .service(public_key::get)
        .service(deliveries::list)
        .service(deliveries::log)
        .service(deliveries::get)
        .service(deliveries::retry)
        .service(deliveries::replay)
        .service(deliveries::test)
        .service(deliveries::stats)
        .service(audit::list)
        .service(audit::get)
        .route("/openapi.json", web::get().to(openapi_json))
        .default_service(web::to(|| async {
            Err::<web::Json<()>, _>(ApiError::Domain(DomainError::NotFound))
        }));
}

/// The OpenAPI 3 document of every `/api/v1` route.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    use utoipa_actix_web::AppExt;
    let mut doc = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(routes))
        .split_for_parts()
        .1;
    doc_errors::document(&mut doc);
    doc
}

async fn openapi_json(state: web::Data<AppState>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.to_string())
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Herald API", description = "Manage webhooks, apps and tokens, read the audit log, send events."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The shape of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// `code` is stable and machine-readable; `message` is a sentence for people; `field` names the
/// offending input when there is one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    code: String,
    message: String,
    field: Option<String>,
}

/// The token behind an API request.
pub struct Caller {
    /// As cached by [`crate::domain::credential_cache`]: `last_used_at` may be stale.
    pub token: Arc<api_token::Model>,
    pub scopes: Scopes,
    pub actor: Actor,
}

impl Caller {
    /// Refuses with 403 unless the token has `scope`.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] naming the missing scope.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.has(scope) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!("This token lacks the \"{}\" scope.", scope.as_str())).into())
        }
    }

    /// The account every query of this request is limited to.
    #[must_use]
    pub fn account_id(&self) -> i64 {
        self.token.account_id
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let missing = || {
                DomainError::Unauthorized("Send an API token in the Authorization header: \"Bearer <token>\".".into())
            };
            let secret = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(missing)?
                .to_owned();
            let state = req.app_data::<web::Data<AppState>>().ok_or_else(missing)?;
            let token =
                crate::domain::tokens::authenticate(&state.db, &state.credentials, &state.token_usage, &secret).await?;
            let origin = super::meta::origin(&req);
            let actor = Actor {
                account_id: token.account_id,
                kind: ActorKind::Token {
                    id: token.id,
                    name: token.name.clone(),
                },
                ip: origin.ip,
                user_agent: origin.user_agent,
            };
            Ok(Caller {
                scopes: Scopes::from_stored(&token.scopes),
                token,
                actor,
            })
        })
    }
}

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
                if crate::web::client_limits::is_timeout(&e) {
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

/// `?limit=&cursor=` of list endpoints.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `next_cursor` (older rows) or `prev_cursor` (newer rows) of a page.
    cursor: Option<String>,
}

impl ListQuery {
    /// # Errors
    /// A bad limit or cursor, naming it.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.limit.as_deref(), self.cursor.as_deref())?)
    }
}

/// A page of results as JSON, newest first: `{"data": [...], "next_cursor": "…" | null,
/// "prev_cursor": "…" | null}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListOut<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to read older rows; `null` on the oldest page.
    pub next_cursor: Option<String>,
    /// Pass as `cursor` to read newer rows; `null` on the newest page.
    pub prev_cursor: Option<String>,
}

impl<T> ListOut<T> {
    /// Converts a domain page.
    pub fn from_page<M>(page: Page<M>, f: impl FnMut(M) -> T) -> Self {
        let page = page.map(f);
        Self {
            data: page.items,
            next_cursor: page.next_cursor,
            prev_cursor: page.prev_cursor,
        }
    }
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
