//! Black-box tests: each starts the real server on a random port with a fresh database.

mod accounts;
mod api;
mod audit_reading;
mod browser;
mod crash;
mod credentials;
mod dashboard;
mod delivery;
mod delivery_log;
mod error_pages;
mod event_types;
mod health;
mod history;
mod isolation;
mod members;
mod metrics;
mod openapi;
mod pacing;
mod prg;
mod scale_out;
mod tokens;
mod validation;
mod viewer;
mod visits;
mod webhook_cache;
mod webhooks;
