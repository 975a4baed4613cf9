//! Fair, paced and ordered delivery (issue 14): per-webhook `max_in_flight` (default 8),
//! `rate_limit` and `ordered`; the `delivery_flows` table (circuit breaker and rate limiter
//! state per webhook); and two partial indexes the fair claim reads: pending rows by webhook
//! (`deliveries_flow`, which also enumerates the webhooks with work) and in-flight rows by
//! webhook (`deliveries_flight`, to count what a webhook has in flight across processes).
//! `deliveries.claimed_by` names the process that claimed an in-flight row: a webhook's rows
//! are in flight in one process at a time, whose send gate holds the cap.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    MaxInFlight,
    RateLimit,
    Ordered,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    ClaimedBy,
}

#[derive(DeriveIden)]
enum DeliveryFlows {
    Table,
    WebhookId,
    Failures,
    FailingSince,
    NextProbeAt,
    Probes,
    RateTat,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut rate_limit = integer_null(Webhooks::RateLimit);
        for col in [
            integer(Webhooks::MaxInFlight).default(8),
            &mut rate_limit,
            boolean(Webhooks::Ordered).default(false),
        ] {
            m.alter_table(Table::alter().table(Webhooks::Table).add_column(col).to_owned())
                .await?;
        }
        m.create_table(
            Table::create()
                .table(DeliveryFlows::Table)
                .col(big_integer(DeliveryFlows::WebhookId).primary_key())
                .col(integer(DeliveryFlows::Failures).default(0))
                .col(big_integer_null(DeliveryFlows::FailingSince))
                .col(big_integer_null(DeliveryFlows::NextProbeAt))
                .col(integer(DeliveryFlows::Probes).default(0))
                .col(big_integer(DeliveryFlows::RateTat).default(0))
                .foreign_key(
                    ForeignKey::create()
                        .from(DeliveryFlows::Table, DeliveryFlows::WebhookId)
                        .to(Webhooks::Table, Webhooks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .add_column(big_integer_null(Deliveries::ClaimedBy))
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX deliveries_flow ON deliveries (webhook_id, lane, next_attempt_at, id) \
             WHERE status = 'pending'",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX deliveries_flight ON deliveries (webhook_id, claimed_by) WHERE status = 'in_flight'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        conn.execute_unprepared("DROP INDEX deliveries_flight").await?;
        conn.execute_unprepared("DROP INDEX deliveries_flow").await?;
        m.drop_table(Table::drop().table(DeliveryFlows::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .drop_column(Deliveries::ClaimedBy)
                .to_owned(),
        )
        .await?;
        for col in [Webhooks::Ordered, Webhooks::RateLimit, Webhooks::MaxInFlight] {
            m.alter_table(Table::alter().table(Webhooks::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
