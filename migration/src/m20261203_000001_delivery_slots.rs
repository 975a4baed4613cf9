//! Send slots per webhook and process (`delivery_slots`), which replace counting other
//! processes' in-flight rows (`deliveries.claimed_by`) to hold a webhook's in-flight cap across
//! processes.
//!
//! In-flight rows include rows already answered and waiting for their settle commit, so the
//! process that claimed first saw the webhook as its own and the others found it full: one
//! process's settle loop carried a busy webhook. A row here says how many requests of the
//! webhook its process may have open at once (`slots`, granted by the claim under the webhook's
//! lock, so the unexpired grants never add up to more than the cap) and until when the grant
//! holds (`lease_until`, unix ms, the delivery lease: a crashed process's grant lapses with its rows).
//! `deliveries_flight` now only answers "is anything of this webhook in flight" (ordered
//! delivery, breaker probes).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    ClaimedBy,
}

#[derive(DeriveIden)]
enum DeliverySlots {
    Table,
    WebhookId,
    Claimer,
    Slots,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: its statements then share one connection (otherwise a
    /// pooled connection with the old schema cached refuses to create the index just dropped).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DeliverySlots::Table)
                .col(big_integer(DeliverySlots::WebhookId))
                .col(big_integer(DeliverySlots::Claimer))
                .col(integer(DeliverySlots::Slots))
                .col(big_integer(DeliverySlots::LeaseUntil))
                .primary_key(
                    Index::create()
                        .col(DeliverySlots::WebhookId)
                        .col(DeliverySlots::Claimer),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(DeliverySlots::Table, DeliverySlots::WebhookId)
                        .to(Webhooks::Table, Webhooks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        // SQLite drops a column only once no index names it.
        conn.execute_unprepared("DROP INDEX deliveries_flight").await?;
        conn.execute_unprepared("ALTER TABLE deliveries DROP COLUMN claimed_by")
            .await?;
        conn.execute_unprepared("CREATE INDEX deliveries_flight ON deliveries (webhook_id) WHERE status = 'in_flight'")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        conn.execute_unprepared("DROP INDEX deliveries_flight").await?;
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .add_column(big_integer_null(Deliveries::ClaimedBy))
                .to_owned(),
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX deliveries_flight ON deliveries (webhook_id, claimed_by) WHERE status = 'in_flight'",
        )
        .await?;
        m.drop_table(Table::drop().table(DeliverySlots::Table).to_owned())
            .await?;
        Ok(())
    }
}
