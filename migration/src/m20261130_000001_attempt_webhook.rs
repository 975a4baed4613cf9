//! What the health figures, charts and the account-wide delivery log read, kept answerable
//! from indexes as history grows: `delivery_attempts.webhook_id` (copied from the delivery when
//! the attempt is recorded) and a covering index over attempts by webhook in time order (an
//! account's figures are its webhooks' — an index led by `account_id` would also tempt SQLite's
//! planner away from `delivery_attempts_delivery` for an account's attempts of a few
//! deliveries); deliveries by account; events by user id (the log's user filter).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeliveryAttempts {
    Table,
    WebhookId,
    StartedAt,
    Trigger,
    ErrorKind,
    ResponseStatus,
    DurationMs,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    AccountId,
    Id,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    AccountId,
    UserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(DeliveryAttempts::Table)
                .add_column(big_integer(DeliveryAttempts::WebhookId).default(0))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE delivery_attempts SET webhook_id = \
                 (SELECT webhook_id FROM deliveries WHERE deliveries.id = delivery_attempts.delivery_id)",
            )
            .await?;
        // Every column a health window or a chart reads is in the index: counting a week of a
        // busy webhook's attempts never touches the table.
        m.create_index(
            Index::create()
                .name("delivery_attempts_webhook_time")
                .table(DeliveryAttempts::Table)
                .col(DeliveryAttempts::WebhookId)
                .col(DeliveryAttempts::StartedAt)
                .col(DeliveryAttempts::Trigger)
                .col(DeliveryAttempts::ErrorKind)
                .col(DeliveryAttempts::ResponseStatus)
                .col(DeliveryAttempts::DurationMs)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("deliveries_account")
                .table(Deliveries::Table)
                .col(Deliveries::AccountId)
                .col(Deliveries::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("events_account_user")
                .table(Events::Table)
                .col(Events::AccountId)
                .col(Events::UserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("events_account_user", Events::Table.into_iden()),
            ("deliveries_account", Deliveries::Table.into_iden()),
            ("delivery_attempts_webhook_time", DeliveryAttempts::Table.into_iden()),
        ] {
            m.drop_index(Index::drop().name(name).table(table).to_owned()).await?;
        }
        m.alter_table(
            Table::alter()
                .table(DeliveryAttempts::Table)
                .drop_column(DeliveryAttempts::WebhookId)
                .to_owned(),
        )
        .await
    }
}
