//! The REST API under `/api/v1`: bearer-token authentication, JSON in and out, errors as
//! `{"error": {"code", "message", "field"?}}`, cursor pagination on lists. Its routes, and the
//! token scope each needs, are in [`super::routes`], which also builds the OpenAPI document.

pub mod apps;
pub mod audit;
mod choices;
pub mod deliveries;
mod delivery_json;
pub mod doc;
pub mod event_types;
pub mod events;
pub mod public_key;
pub mod tokens;
mod webhook_json;
pub mod webhooks;

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::Serialize;

use entity::api_token;

use super::AppState;
use super::error::ApiError;
use crate::domain::DomainError;
use crate::domain::audit::{Actor, ActorKind};
use crate::domain::page::{Page, PageRequest};
use crate::domain::roles::Scopes;

/// `GET /api/v1/openapi.json`: the document rendered at startup; needs no token.
#[tracing::instrument(skip_all)]
pub async fn openapi_json(state: web::Data<AppState>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.to_string())
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

/// The token behind an API request, authenticated and checked for the route's scope by the
/// guard of its group ([`super::access::token_scope`]), which leaves it in the request.
pub struct Caller {
    /// As cached by [`crate::domain::credential_cache`]: `last_used_at` may be stale.
    pub token: Arc<api_token::Model>,
    pub scopes: Scopes,
    pub actor: Actor,
}

/// The answer to a request without a usable `Authorization: Bearer` header.
fn no_token() -> ApiError {
    DomainError::Unauthorized("Send an API token in the Authorization header: \"Bearer <token>\".".into()).into()
}

impl Caller {
    /// Authenticates the bearer token of `req`.
    ///
    /// # Errors
    /// 401 without a token or with an unknown, revoked or expired one; database failures.
    pub async fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
        let secret = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(no_token)?
            .to_owned();
        let state = req.app_data::<web::Data<AppState>>().ok_or_else(no_token)?;
        let token =
            crate::domain::tokens::authenticate(&state.db, &state.credentials, &state.token_usage, &secret).await?;
        let origin = super::meta::origin(req);
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
    }

    /// The account every query of this request is limited to.
    #[must_use]
    pub fn account_id(&self) -> i64 {
        self.token.account_id
    }
}

/// Takes the caller the route's guard admitted. A route registered outside every token-scope
/// group has none: it is refused as unauthenticated (and logged), never served unchecked.
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let admitted = req.extensions_mut().remove::<Caller>();
        ready(admitted.ok_or_else(|| {
            tracing::error!(http.route = ?req.match_pattern(), "an API route is registered without a token-scope guard");
            no_token()
        }))
    }
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
