//! `/api/v1/tokens`.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};

use entity::api_token;

use super::choices;
use super::{Caller, ErrorBody, ListOut, ListQuery};
use crate::domain::roles::Scopes;
use crate::domain::tokens::{self, NewToken};
use crate::timestamps::rfc3339;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::json::ApiJson;

/// A token as the API lists it: never the secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenOut {
    id: i64,
    name: String,
    prefix: String,
    /// Subset of `ingest`, `read`, `write`.
    #[schema(value_type = Vec<choices::Scope>, inline)]
    scopes: Vec<String>,
    app_id: Option<i64>,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    revoked_at: Option<String>,
}

impl From<api_token::Model> for TokenOut {
    fn from(t: api_token::Model) -> Self {
        Self {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            scopes: Scopes::from_stored(&t.scopes)
                .list()
                .into_iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            app_id: t.app_id,
            created_at: rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
            expires_at: t.expires_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

/// The answer to `POST /tokens`: the only response that contains the secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedTokenOut {
    #[serde(flatten)]
    token: TokenOut,
    /// The secret; store it now, it is not shown again.
    secret: String,
}

/// Body of `POST /tokens`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    name: String,
    /// Subset of `ingest`, `read`, `write`.
    #[schema(value_type = Vec<choices::Scope>, inline)]
    scopes: Vec<String>,
    /// The app the token is tied to. Required for a token with the `ingest` scope when the
    /// account has several apps (a 400 on `app_id` otherwise); when the account has one app, an
    /// ingest token without it is tied to that app. Tokens without `ingest` may leave it out.
    #[serde(default)]
    app_id: Option<i64>,
    /// Days until the token expires, 1–3650; none for a token that never expires.
    #[serde(default)]
    expires_in_days: Option<i64>,
}

/// List the account's tokens (never their secrets), newest first.
#[utoipa::path(tag = "tokens", params(ListQuery), responses(
    (status = 200, body = ListOut<TokenOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/tokens")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> Result<web::Json<ListOut<TokenOut>>, ApiError> {
    let page = tokens::list(&state.db, caller.account_id(), q.page()?).await?;
    Ok(web::Json(ListOut::from_page(page, TokenOut::from)))
}

/// One token.
#[utoipa::path(tag = "tokens", params(("id" = i64, Path)), responses(
    (status = 200, body = TokenOut), (status = 404, body = ErrorBody)))]
#[get("/tokens/{id}")]
#[tracing::instrument(skip_all, fields(token.id = *id))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TokenOut>, ApiError> {
    Ok(web::Json(
        tokens::get(&state.db, caller.account_id(), *id).await?.into(),
    ))
}

/// Create a token. The answer holds the secret, the only time it is shown. A token can't create
/// a token with scopes it lacks. An `ingest` token is always tied to one app: `app_id`, or the
/// account's only app; every invalid field is reported in one 400.
#[utoipa::path(tag = "tokens", request_body = TokenIn, responses(
    (status = 201, body = CreatedTokenOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[post("/tokens")]
#[tracing::instrument(skip_all)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<TokenIn>,
) -> Result<HttpResponse, ApiError> {
    let TokenIn {
        name,
        scopes,
        app_id,
        expires_in_days,
    } = body.0;
    let text = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let input = NewToken {
        name,
        scopes,
        app_id: text(app_id),
        expires_in_days: text(expires_in_days),
    };
    let created = tokens::create(&state.db, &caller.actor, &input, Some(caller.scopes)).await?;
    Ok(HttpResponse::Created().json(CreatedTokenOut {
        token: created.token.into(),
        secret: created.secret,
    }))
}

/// Revoke a token; it answers 401 from then on (on other servers of the same database, within
/// 5 seconds).
#[utoipa::path(tag = "tokens", params(("id" = i64, Path)), responses(
    (status = 200, body = TokenOut), (status = 404, body = ErrorBody)))]
#[delete("/tokens/{id}")]
#[tracing::instrument(skip_all, fields(token.id = *id))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TokenOut>, ApiError> {
    Ok(web::Json(
        tokens::revoke(&state.db, &state.credentials, &caller.actor, *id)
            .await?
            .into(),
    ))
}
