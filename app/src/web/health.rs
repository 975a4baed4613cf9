//! Liveness and readiness probes.

use actix_web::{HttpResponse, web};
use migration::{Migrator, MigratorTrait};
use serde_json::json;

use super::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers and no migration is pending.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match Migrator::get_pending_migrations(&state.db).await {
        Ok(pending) if pending.is_empty() => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Ok(pending) => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "not_ready", "reason": format!("{} migrations pending", pending.len()) })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "not_ready", "reason": "database unreachable" }))
        }
    }
}
