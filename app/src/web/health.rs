//! Liveness and readiness probes, and the Prometheus scrape.

use actix_web::{HttpResponse, web};
use migration::{Migrator, MigratorTrait};
use serde_json::json;

use super::AppState;

/// `GET /healthz`: the process is up.
#[tracing::instrument(skip_all)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers and no migration is pending.
#[tracing::instrument(skip_all)]
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

/// `GET /metrics`: the Prometheus scrape (see [`crate::metrics`]); a 404 like any unknown path
/// when `HERALD_METRICS` is off.
#[tracing::instrument(skip_all)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match &state.metrics {
        Some(exporter) => exporter.respond().await,
        None => actix_web::ResponseError::error_response(&super::error::PageError::Domain(
            crate::domain::DomainError::NotFound,
        )),
    }
}
