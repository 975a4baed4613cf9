//! Ingested events, user and company profiles, and the delivery queue with its attempt log.

use sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Events::Table)
                .col(big_pk_auto(Events::Id))
                .col(big_integer(Events::AccountId))
                .col(big_integer(Events::AppId))
                .col(string(Events::MessageId))
                .col(string(Events::Kind))
                .col(string_null(Events::Name))
                .col(string_null(Events::UserId))
                .col(string_null(Events::AnonymousId))
                .col(string_null(Events::GroupId))
                .col(big_integer(Events::Timestamp))
                .col(big_integer(Events::ReceivedAt))
                .col(text(Events::Body))
                .foreign_key(&mut cascade(
                    (Events::Table, Events::AccountId),
                    (Accounts::Table, Accounts::Id),
                ))
                .foreign_key(&mut cascade((Events::Table, Events::AppId), (Apps::Table, Apps::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("events_app_message")
                .table(Events::Table)
                .col(Events::AppId)
                .col(Events::MessageId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("events_account")
                .table(Events::Table)
                .col(Events::AccountId)
                .col(Events::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Profiles::Table)
                .col(big_pk_auto(Profiles::Id))
                .col(big_integer(Profiles::AccountId))
                .col(string(Profiles::UserId))
                .col(text(Profiles::Traits))
                .col(string_null(Profiles::GroupId))
                .col(big_integer(Profiles::UpdatedAt))
                .foreign_key(&mut cascade(
                    (Profiles::Table, Profiles::AccountId),
                    (Accounts::Table, Accounts::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("profiles_account_user")
                .table(Profiles::Table)
                .col(Profiles::AccountId)
                .col(Profiles::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Companies::Table)
                .col(big_pk_auto(Companies::Id))
                .col(big_integer(Companies::AccountId))
                .col(string(Companies::GroupId))
                .col(text(Companies::Traits))
                .col(big_integer(Companies::UpdatedAt))
                .foreign_key(&mut cascade(
                    (Companies::Table, Companies::AccountId),
                    (Accounts::Table, Accounts::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("companies_account_group")
                .table(Companies::Table)
                .col(Companies::AccountId)
                .col(Companies::GroupId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Deliveries::Table)
                .col(big_pk_auto(Deliveries::Id))
                .col(big_integer(Deliveries::AccountId))
                .col(big_integer(Deliveries::WebhookId))
                .col(big_integer_null(Deliveries::EventId))
                .col(string(Deliveries::Status))
                .col(integer(Deliveries::Lane).default(0))
                .col(integer(Deliveries::Attempts).default(0))
                .col(big_integer(Deliveries::NextAttemptAt))
                .col(big_integer_null(Deliveries::LeaseUntil))
                .col(string(Deliveries::Trigger))
                .col(text_null(Deliveries::Body))
                .col(integer(Deliveries::EventCount).default(1))
                .col(text_null(Deliveries::EventName))
                .col(integer_null(Deliveries::LastStatus))
                .col(string_null(Deliveries::LastError))
                .col(big_integer(Deliveries::CreatedAt))
                .col(big_integer(Deliveries::UpdatedAt))
                .foreign_key(&mut cascade(
                    (Deliveries::Table, Deliveries::AccountId),
                    (Accounts::Table, Accounts::Id),
                ))
                .foreign_key(&mut cascade(
                    (Deliveries::Table, Deliveries::WebhookId),
                    (Webhooks::Table, Webhooks::Id),
                ))
                .to_owned(),
        )
        .await?;
        // The claim's index. PostgreSQL gets a partial index so finished history never enters it.
        match m.get_database_backend() {
            DbBackend::Postgres => {
                let conn = m.get_connection();
                conn.execute_unprepared(
                    "CREATE INDEX deliveries_due ON deliveries (lane, next_attempt_at) WHERE status = 'pending'",
                )
                .await?;
                conn.execute_unprepared(
                    "CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE lease_until IS NOT NULL",
                )
                .await?;
            }
            _ => {
                m.create_index(
                    Index::create()
                        .name("deliveries_due")
                        .table(Deliveries::Table)
                        .col(Deliveries::Status)
                        .col(Deliveries::Lane)
                        .col(Deliveries::NextAttemptAt)
                        .to_owned(),
                )
                .await?;
                m.create_index(
                    Index::create()
                        .name("deliveries_lease")
                        .table(Deliveries::Table)
                        .col(Deliveries::Status)
                        .col(Deliveries::LeaseUntil)
                        .to_owned(),
                )
                .await?;
            }
        }
        m.create_index(
            Index::create()
                .name("deliveries_webhook")
                .table(Deliveries::Table)
                .col(Deliveries::WebhookId)
                .col(Deliveries::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DeliveryItems::Table)
                .col(big_integer(DeliveryItems::DeliveryId))
                .col(big_integer(DeliveryItems::EventId))
                .primary_key(
                    Index::create()
                        .col(DeliveryItems::DeliveryId)
                        .col(DeliveryItems::EventId),
                )
                .foreign_key(&mut cascade(
                    (DeliveryItems::Table, DeliveryItems::DeliveryId),
                    (Deliveries::Table, Deliveries::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DeliveryAttempts::Table)
                .col(big_pk_auto(DeliveryAttempts::Id))
                .col(big_integer(DeliveryAttempts::AccountId))
                .col(big_integer(DeliveryAttempts::DeliveryId))
                .col(integer(DeliveryAttempts::Attempt))
                .col(string(DeliveryAttempts::Trigger))
                .col(big_integer(DeliveryAttempts::StartedAt))
                .col(integer(DeliveryAttempts::DurationMs))
                .col(text(DeliveryAttempts::RequestHeaders))
                .col(text_null(DeliveryAttempts::RequestBody))
                .col(integer_null(DeliveryAttempts::ResponseStatus))
                .col(text_null(DeliveryAttempts::ResponseHeaders))
                .col(text_null(DeliveryAttempts::ResponseBody))
                .col(string_null(DeliveryAttempts::ErrorKind))
                .col(text_null(DeliveryAttempts::ErrorMessage))
                .foreign_key(&mut cascade(
                    (DeliveryAttempts::Table, DeliveryAttempts::DeliveryId),
                    (Deliveries::Table, Deliveries::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("delivery_attempts_delivery")
                .table(DeliveryAttempts::Table)
                .col(DeliveryAttempts::DeliveryId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            DeliveryAttempts::Table.into_iden(),
            DeliveryItems::Table.into_iden(),
            Deliveries::Table.into_iden(),
            Companies::Table.into_iden(),
            Profiles::Table.into_iden(),
            Events::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}
#[derive(DeriveIden)]
enum Apps {
    Table,
    Id,
}
#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    AccountId,
    AppId,
    MessageId,
    Kind,
    Name,
    UserId,
    AnonymousId,
    GroupId,
    Timestamp,
    ReceivedAt,
    Body,
}

#[derive(DeriveIden)]
enum Profiles {
    Table,
    Id,
    AccountId,
    UserId,
    Traits,
    GroupId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Companies {
    Table,
    Id,
    AccountId,
    GroupId,
    Traits,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    AccountId,
    WebhookId,
    EventId,
    Status,
    Lane,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    Trigger,
    Body,
    EventCount,
    EventName,
    LastStatus,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeliveryItems {
    Table,
    DeliveryId,
    EventId,
}

#[derive(DeriveIden)]
enum DeliveryAttempts {
    Table,
    Id,
    AccountId,
    DeliveryId,
    Attempt,
    Trigger,
    StartedAt,
    DurationMs,
    RequestHeaders,
    RequestBody,
    ResponseStatus,
    ResponseHeaders,
    ResponseBody,
    ErrorKind,
    ErrorMessage,
}
