//! Business rules. Every function takes a connection, the account it acts in and typed input,
//! and is called by both the dashboard and the REST API.
//!
//! Error policy: domain functions return [`DomainError`]; the web layer maps it to an HTTP status
//! once (`web::error`). Database errors are never shown to clients.

pub mod accounts;
pub mod apps;
pub mod audit;
pub mod auth;
pub mod batches;
pub mod credential_cache;
pub mod deliveries;
pub mod event_types;
pub mod ingest;
pub mod members;
pub mod message;
pub mod page;
pub mod payloads;
pub mod profiles;
pub mod quota;
pub mod roles;
pub mod security;
pub mod stored_json;
pub mod token_usage;
pub mod tokens;
pub mod two_factor;
pub mod validate;
pub mod visits;
pub mod webhooks;

use sea_orm::DbErr;

/// A problem with one input field: its API name and a sentence a user can act on. Shared with
/// the webhook specification parsers in `entity::spec`.
pub use entity::spec::FieldError;

/// Why a domain operation did not happen. Nothing was written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input broke a rule; one entry per offending field.
    #[error("{}", .0.first().map_or("invalid input", |e| e.message.as_str()))]
    Invalid(Vec<FieldError>),
    /// The input clashes with existing data (a taken email, for instance).
    #[error("{}", .0.message)]
    Conflict(FieldError),
    /// The object does not exist in this account (or at all: the two are indistinguishable).
    #[error("not found")]
    NotFound,
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Credentials did not match.
    #[error("{0}")]
    Unauthorized(String),
    /// Too many recent failures; try again later.
    #[error("{0}")]
    RateLimited(String),
    #[error("database error")]
    Db(#[from] DbErr),
    #[error("password hashing failed")]
    Hashing,
}

impl DomainError {
    /// A single-field validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// A single-field conflict.
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::Conflict(FieldError {
            field: field.to_owned(),
            message: message.into(),
        })
    }

    /// The field errors to show inline in a form (empty for other kinds of error).
    #[must_use]
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            Self::Conflict(error) => vec![error.clone()],
            _ => Vec::new(),
        }
    }
}

/// Result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;
