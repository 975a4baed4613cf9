//! `/api/v1/audit-log`.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};

use entity::audit_log;

use super::{Caller, ErrorBody, ListOut};
use crate::domain::audit::{self, Filter};
use crate::domain::page::PageRequest;
use crate::domain::{DomainError, stored_json};
use crate::timestamps::rfc3339;
use crate::web::AppState;
use crate::web::error::ApiError;

/// An audit row as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditOut {
    id: i64,
    action: String,
    actor: Party,
    target: Party,
    diff: serde_json::Value,
    ip: Option<String>,
    user_agent: Option<String>,
    created_at: String,
}

/// Who acted, or what was acted on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Party {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    label: String,
}

impl TryFrom<audit_log::Model> for AuditOut {
    type Error = DomainError;

    fn try_from(r: audit_log::Model) -> Result<Self, DomainError> {
        Ok(Self {
            id: r.id,
            action: r.action,
            actor: Party {
                kind: r.actor_type.as_str().to_owned(),
                id: r.actor_id.map(|i| i.to_string()),
                label: r.actor_label,
            },
            target: Party {
                kind: r.target_type,
                id: r.target_id,
                label: r.target_label,
            },
            diff: stored_json::parse("audit_log.diff", r.id, &r.diff)?,
            ip: r.ip,
            user_agent: r.user_agent,
            created_at: rfc3339(r.created_at),
        })
    }
}

/// `?limit=&cursor=&target_type=&target_id=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Page size, 1–200 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only rows about this kind of object (`webhook`, `token`, `app`, …).
    target_type: Option<String>,
    /// Only rows about this object id (with `target_type`).
    target_id: Option<String>,
}

/// The audit log, newest first, optionally about one object.
#[utoipa::path(tag = "audit-log", params(AuditQuery), responses(
    (status = 200, body = ListOut<AuditOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/audit-log")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<AuditQuery>,
) -> Result<web::Json<ListOut<AuditOut>>, ApiError> {
    let req = PageRequest::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    let filter = Filter {
        target_type: q.target_type.clone(),
        target_id: q.target_id.clone(),
    };
    let page = audit::list(&state.db, caller.account_id(), &filter, req).await?;
    Ok(web::Json(ListOut::from_page(page.try_map(AuditOut::try_from)?, |a| a)))
}

/// One audit row.
#[utoipa::path(tag = "audit-log", params(("id" = i64, Path)), responses(
    (status = 200, body = AuditOut), (status = 404, body = ErrorBody)))]
#[get("/audit-log/{id}")]
#[tracing::instrument(skip_all, fields(audit_entry.id = *id))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<AuditOut>, ApiError> {
    Ok(web::Json(
        audit::get(&state.db, caller.account_id(), *id).await?.try_into()?,
    ))
}
