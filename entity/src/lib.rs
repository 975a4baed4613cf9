//! sea-orm entities, one module per table. Plain models only: rules live in the `herald` crate.
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
pub mod tenant;
pub mod user;
pub mod visitor;
pub mod webhook;
