//! The shape of Herald's stored data: sea-orm entities, one module per table, and the webhook
//! specification (`spec`) that types the JSON columns of `webhooks`.
//!
//! Entities are plain models: the rules about changing them live in the `herald` crate, which
//! reads tenant tables through the account-scoped constructors of `tenant`. The spec
//! is here, beside the table it types, because both the app (forms, API, ingest matching) and the
//! delivery engine in `herald-jobs` (rendering, headers, signing scheme) read it, and both crates
//! depend on this one.
//!
//! Timestamps are unix milliseconds (`i64`) so SQLite and PostgreSQL store and sort them alike.

pub mod account;
pub mod api_token;
pub mod app;
pub mod audit_log;
pub mod company;
pub mod delivery;
pub mod delivery_attempt;
pub mod delivery_flow;
pub mod delivery_item;
pub mod event;
pub mod event_type;
pub mod invitation;
pub mod login_failure;
pub mod membership;
pub mod profile;
pub mod recovery_code;
pub mod session;
pub mod spec;
pub mod tenant;
pub mod user;
pub mod visitor;
pub mod webhook;
