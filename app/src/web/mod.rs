//! HTTP: the route table, shared state, extractors and the two front doors (dashboard pages and
//! the REST API). Handlers parse and authorize, call one domain function, and render.

pub mod api;
pub mod chart;
pub mod csrf;
pub mod error;
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

/// The route table outside `/api/v1` (which [`api::routes`] registers through utoipa).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(ingest::routes)
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/static/herald.css", web::get().to(stylesheet))
        .route("/static/favicon.svg", web::get().to(favicon))
        .route("/static/rows.js", web::get().to(rows_script))
        .service(
            web::scope("")
                .wrap(actix_web::middleware::from_fn(csrf::ensure_cookie))
                .configure(pages::routes),
        )
        .default_service(web::to(not_found));
}

/// The Prometheus scrape (see [`crate::metrics`]); a 404 like any unknown path when off.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match &state.metrics {
        Some(exporter) => exporter.respond().await,
        None => not_found().await,
    }
}

/// The stylesheet is compiled in, so the binary runs from any directory.
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../../static/herald.css"))
}

/// The webhook form's "Add" / "✕" row buttons (compiled in like the stylesheet).
async fn rows_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../../static/rows.js"))
}

async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(include_str!("../../../static/favicon.svg"))
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("Not found.")
}
