//! Event-type catalog and webhook subscriptions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EventTypes::Table)
                .col(big_pk_auto(EventTypes::Id))
                .col(big_integer(EventTypes::AccountId))
                .col(string(EventTypes::Name))
                .col(text(EventTypes::Description).default(""))
                .col(boolean(EventTypes::Archived).default(false))
                .col(string(EventTypes::Source))
                .col(big_integer(EventTypes::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(EventTypes::Table, EventTypes::AccountId)
                        .to(Accounts::Table, Accounts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("event_types_account_name")
                .table(EventTypes::Table)
                .col(EventTypes::AccountId)
                .col(EventTypes::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Webhooks::Table)
                .col(big_pk_auto(Webhooks::Id))
                .col(string_uniq(Webhooks::PublicId))
                .col(big_integer(Webhooks::AccountId))
                .col(string(Webhooks::Name))
                .col(text(Webhooks::Description).default(""))
                .col(text(Webhooks::Url))
                .col(string(Webhooks::Method))
                .col(text(Webhooks::Headers))
                .col(string(Webhooks::SignatureScheme))
                .col(text_null(Webhooks::SecretSealed))
                .col(text_null(Webhooks::PreviousSecretSealed))
                .col(big_integer_null(Webhooks::PreviousSecretExpiresAt))
                .col(boolean(Webhooks::Enabled))
                .col(text_null(Webhooks::DisabledReason))
                .col(text(Webhooks::EventTypes))
                .col(text(Webhooks::Triggers))
                .col(text(Webhooks::Properties))
                .col(text(Webhooks::PayloadFormat))
                .col(integer_null(Webhooks::BatchMaxEvents))
                .col(integer_null(Webhooks::BatchMaxWaitSecs))
                .col(text(Webhooks::Filter))
                .col(text(Webhooks::AppIds))
                .col(integer(Webhooks::TimeoutSecs))
                .col(string(Webhooks::CreatedBy))
                .col(string(Webhooks::UpdatedBy))
                .col(big_integer(Webhooks::CreatedAt))
                .col(big_integer(Webhooks::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Webhooks::Table, Webhooks::AccountId)
                        .to(Accounts::Table, Accounts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhooks_account")
                .table(Webhooks::Table)
                .col(Webhooks::AccountId)
                .col(Webhooks::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Webhooks::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(EventTypes::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum EventTypes {
    Table,
    Id,
    AccountId,
    Name,
    Description,
    Archived,
    Source,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    PublicId,
    AccountId,
    Name,
    Description,
    Url,
    Method,
    Headers,
    SignatureScheme,
    SecretSealed,
    PreviousSecretSealed,
    PreviousSecretExpiresAt,
    Enabled,
    DisabledReason,
    EventTypes,
    Triggers,
    Properties,
    PayloadFormat,
    BatchMaxEvents,
    BatchMaxWaitSecs,
    Filter,
    AppIds,
    TimeoutSecs,
    CreatedBy,
    UpdatedBy,
    CreatedAt,
    UpdatedAt,
}
