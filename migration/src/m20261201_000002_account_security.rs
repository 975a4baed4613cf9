//! Guarding the accounts (issue 15): optional TOTP two-factor login per user (the sealed secret,
//! when it was turned on, the last time step used so a code works once), one-time recovery codes
//! (hashed), an account-wide "every member must use two-factor" switch, and per session the
//! origin shown in the sessions list plus whether it still waits for its second factor.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TotpSecretSealed,
    TotpEnabledAt,
    TotpLastStep,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    RequireTwoFactor,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    PendingTwoFactor,
    Ip,
    UserAgent,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    CreatedAt,
}

/// SQLite takes one column per `ALTER TABLE`.
async fn add(m: &SchemaManager<'_>, table: impl IntoIden, column: ColumnDef) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add(m, Users::Table, text_null(Users::TotpSecretSealed)).await?;
        add(m, Users::Table, big_integer_null(Users::TotpEnabledAt)).await?;
        add(m, Users::Table, big_integer_null(Users::TotpLastStep)).await?;
        add(
            m,
            Accounts::Table,
            boolean(Accounts::RequireTwoFactor).default(false).to_owned(),
        )
        .await?;
        add(
            m,
            Sessions::Table,
            boolean(Sessions::PendingTwoFactor).default(false).to_owned(),
        )
        .await?;
        add(m, Sessions::Table, text_null(Sessions::Ip)).await?;
        add(m, Sessions::Table, text_null(Sessions::UserAgent)).await?;
        m.create_table(
            Table::create()
                .table(RecoveryCodes::Table)
                .col(big_pk_auto(RecoveryCodes::Id))
                .col(big_integer(RecoveryCodes::UserId))
                .col(string_uniq(RecoveryCodes::CodeHash))
                .col(big_integer(RecoveryCodes::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RecoveryCodes::Table, RecoveryCodes::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("recovery_codes_user")
                .table(RecoveryCodes::Table)
                .col(RecoveryCodes::UserId)
                .to_owned(),
        )
        .await
    }
}
