//! HTTP: the route table, shared state, extractors and the two front doors (dashboard pages and
//! the REST API). Handlers parse and authorize, call one domain function, and render.

pub mod api;
mod assets;
pub mod chart;
pub mod csrf;
pub mod error;
pub mod error_pages;
pub mod flash;
pub mod format;
pub mod health;
pub mod ingest;
pub mod meta;
pub mod pages;
pub mod session;

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;

use crate::crypto::SecretKey;

/// What every handler may use. Cheap to clone: handles only.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub key: SecretKey,
    /// Seals and opens stored webhook secrets (derived from `key`).
    pub secrets: Arc<herald_jobs::sealed::SecretBox>,
    /// Public base URL, e.g. `http://127.0.0.1:8080` (invite links).
    pub base_url: Arc<str>,
    /// Cookies get `Secure` when the base URL is https.
    pub secure_cookies: bool,
    pub session_ttl_hours: i64,
    /// The delivery queue; ingest wakes its workers after each commit.
    pub queue: herald_jobs::queue::DeliveryQueue,
    /// Stores ingest requests, several per transaction.
    pub ingestor: crate::domain::ingest::Ingestor,
    /// API tokens and write keys resolved in the last seconds, so requests skip the query.
    pub credentials: crate::domain::credential_cache::CredentialCache,
    /// Tokens' last uses, written off the request path.
    pub token_usage: crate::domain::token_usage::TokenUsage,
    /// The OpenAPI document, rendered once at startup.
    pub openapi_json: Arc<str>,
    /// Answers `GET /metrics` when `HERALD_METRICS` is on; `None` makes it a 404.
    pub metrics: Option<crate::metrics::Exporter>,
}

/// The route table outside `/api/v1` (which [`api::routes`] registers through utoipa). Every
/// path not taken before the dashboard's scope is the dashboard's, so its unknown paths, like its
/// failures, answer [`error_pages`].
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(ingest::routes)
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics))
        .configure(assets::routes)
        .service(
            web::scope("")
                .configure(error_pages::configure)
                .configure(pages::routes)
                .default_service(web::to(error_pages::not_found))
                .wrap(actix_web::middleware::from_fn(error_pages::with_navigation))
                .wrap(actix_web::middleware::from_fn(csrf::ensure_cookie)),
        );
}

/// The Prometheus scrape (see [`crate::metrics`]); a 404 like any unknown path when off.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match &state.metrics {
        Some(exporter) => exporter.respond().await,
        None => {
            actix_web::ResponseError::error_response(&error::PageError::Domain(crate::domain::DomainError::NotFound))
        }
    }
}
