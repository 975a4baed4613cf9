//! Schema migrations, shared by SQLite and PostgreSQL. One file per change; a landed file is never edited.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_foundation;
mod m20261126_000002_create_webhooks;
mod m20261126_000003_create_events_and_deliveries;
mod m20261127_000001_create_visitors;
mod m20261129_000001_webhook_version;
mod m20261130_000001_attempt_webhook;
mod m20261201_000001_delivery_flows;
mod m20261201_000002_account_security;
mod m20261202_000001_operational_events;
mod m20261203_000001_delivery_slots;
mod m20261203_000002_collecting_index;
mod m20261203_000003_claim_function;

#[cfg(feature = "testing")]
pub mod testing;

/// Runs Herald's migrations in order; the history lives in `seaql_migrations`.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_foundation::Migration),
            Box::new(m20261126_000002_create_webhooks::Migration),
            Box::new(m20261126_000003_create_events_and_deliveries::Migration),
            Box::new(m20261127_000001_create_visitors::Migration),
            Box::new(m20261129_000001_webhook_version::Migration),
            Box::new(m20261130_000001_attempt_webhook::Migration),
            Box::new(m20261201_000001_delivery_flows::Migration),
            Box::new(m20261201_000002_account_security::Migration),
            Box::new(m20261202_000001_operational_events::Migration),
            Box::new(m20261203_000001_delivery_slots::Migration),
            Box::new(m20261203_000002_collecting_index::Migration),
            Box::new(m20261203_000003_claim_function::Migration),
        ]
    }
}
