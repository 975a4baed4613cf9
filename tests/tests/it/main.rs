//! Black-box tests: each starts the real server on a random port with a fresh database.

mod accounts;
mod api;
mod browser;
mod crash;
mod credentials;
mod delivery;
mod error_pages;
mod event_types;
mod history;
mod isolation;
mod members;
mod metrics;
mod openapi;
mod scale_out;
mod validation;
mod viewer;
mod visits;
mod webhook_cache;
mod webhooks;
