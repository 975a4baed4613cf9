//! Herald: a multi-tenant webhook platform.
//!
//! `web` parses requests and renders responses, `domain` holds every business rule and is shared
//! by the dashboard and the REST API, `db` owns connections and transactions.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod metrics;
pub mod startup;
pub mod telemetry;
pub mod timestamps;
pub mod web;
pub mod worker;
