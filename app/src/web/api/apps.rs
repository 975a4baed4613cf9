//! `/api/v1/apps`.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};

use entity::app;

use super::{Caller, ErrorBody, ListOut, ListQuery};
use crate::domain::apps;
use crate::timestamps::rfc3339;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::json::ApiJson;

/// An app as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppOut {
    id: i64,
    name: String,
    app_token: String,
    write_key: String,
    created_at: String,
}

impl From<app::Model> for AppOut {
    fn from(a: app::Model) -> Self {
        Self {
            id: a.id,
            name: a.name,
            app_token: a.app_token,
            write_key: a.write_key,
            created_at: rfc3339(a.created_at),
        }
    }
}

/// Body of `POST /apps` and `PATCH /apps/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppIn {
    name: String,
}

/// List the account's apps, newest first.
#[utoipa::path(tag = "apps", params(ListQuery), responses(
    (status = 200, body = ListOut<AppOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/apps")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> Result<web::Json<ListOut<AppOut>>, ApiError> {
    let page = apps::list(&state.db, caller.account_id(), q.page()?).await?;
    Ok(web::Json(ListOut::from_page(page, AppOut::from)))
}

/// One app.
#[utoipa::path(tag = "apps", params(("id" = i64, Path)), responses(
    (status = 200, body = AppOut), (status = 404, body = ErrorBody)))]
#[get("/apps/{id}")]
#[tracing::instrument(skip_all, fields(app.id = *id))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<AppOut>, ApiError> {
    Ok(web::Json(apps::get(&state.db, caller.account_id(), *id).await?.into()))
}

/// Create an app; its app token and write key are generated.
#[utoipa::path(tag = "apps", request_body = AppIn, responses(
    (status = 201, body = AppOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[post("/apps")]
#[tracing::instrument(skip_all)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<AppIn>,
) -> Result<HttpResponse, ApiError> {
    let created = apps::create(&state.db, &caller.actor, &body.0.name).await?;
    Ok(HttpResponse::Created().json(AppOut::from(created)))
}

/// Rename an app.
#[utoipa::path(tag = "apps", params(("id" = i64, Path)), request_body = AppIn, responses(
    (status = 200, body = AppOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[patch("/apps/{id}")]
#[tracing::instrument(skip_all, fields(app.id = *id))]
pub async fn rename(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: ApiJson<AppIn>,
) -> Result<web::Json<AppOut>, ApiError> {
    Ok(web::Json(
        apps::rename(&state.db, &caller.actor, *id, &body.0.name).await?.into(),
    ))
}
