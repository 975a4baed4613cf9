//! HTTP: the route table ([`routes`]), who may use which route ([`access`]), shared state,
//! extractors and the front doors (dashboard pages, the REST API, the Segment-compatible
//! ingest). Handlers parse, call one domain function, and render; their guard has authorized
//! the request before they run.

pub mod access;
pub mod api;
mod assets;
pub mod chart;
pub mod client_limits;
pub mod csrf;
pub mod error;
pub mod error_pages;
pub mod flash;
pub mod format;
pub mod health;
pub mod ingest;
pub mod json;
pub mod meta;
pub mod pages;
pub mod routes;
pub mod security_headers;
pub mod session;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::crypto::SecretKey;

/// What every handler may use. Cheap to clone: handles only.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub key: SecretKey,
    /// Seals and opens stored webhook secrets (derived from `key`).
    pub secrets: Arc<crate::crypto::sealed::SecretBox>,
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
    /// Events per second per account (`HERALD_INGEST_EVENTS_PER_SECOND`), in this process.
    pub quota: Arc<crate::domain::quota::IngestQuota>,
}
