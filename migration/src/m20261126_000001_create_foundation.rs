//! Accounts, users, memberships, sessions, apps, API tokens, invitations, login throttling, audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
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
                .table(Accounts::Table)
                .col(big_pk_auto(Accounts::Id))
                .col(string(Accounts::Name))
                .col(string_uniq(Accounts::Slug))
                .col(boolean(Accounts::HipaaMode).default(false))
                .col(big_integer(Accounts::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(big_pk_auto(Users::Id))
                .col(string_uniq(Users::Email))
                .col(string(Users::PasswordHash))
                .col(big_integer(Users::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(big_pk_auto(Memberships::Id))
                .col(big_integer(Memberships::AccountId))
                .col(big_integer(Memberships::UserId))
                .col(string(Memberships::Role))
                .col(big_integer(Memberships::CreatedAt))
                .foreign_key(&mut fk(
                    (Memberships::Table, Memberships::AccountId),
                    (Accounts::Table, Accounts::Id),
                ))
                .foreign_key(&mut fk(
                    (Memberships::Table, Memberships::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("memberships_account_user")
                .table(Memberships::Table)
                .col(Memberships::AccountId)
                .col(Memberships::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("memberships_user")
                .table(Memberships::Table)
                .col(Memberships::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(big_pk_auto(Sessions::Id))
                .col(string_uniq(Sessions::TokenHash))
                .col(big_integer(Sessions::UserId))
                .col(big_integer(Sessions::AccountId))
                .col(big_integer(Sessions::CreatedAt))
                .col(big_integer(Sessions::ExpiresAt))
                .foreign_key(&mut fk((Sessions::Table, Sessions::UserId), (Users::Table, Users::Id)))
                .foreign_key(&mut fk(
                    (Sessions::Table, Sessions::AccountId),
                    (Accounts::Table, Accounts::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("sessions_expires_at")
                .table(Sessions::Table)
                .col(Sessions::ExpiresAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Apps::Table)
                .col(big_pk_auto(Apps::Id))
                .col(big_integer(Apps::AccountId))
                .col(string(Apps::Name))
                .col(string_uniq(Apps::AppToken))
                .col(string_uniq(Apps::WriteKey))
                .col(big_integer(Apps::CreatedAt))
                .foreign_key(&mut fk((Apps::Table, Apps::AccountId), (Accounts::Table, Accounts::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("apps_account")
                .table(Apps::Table)
                .col(Apps::AccountId)
                .col(Apps::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(big_pk_auto(ApiTokens::Id))
                .col(big_integer(ApiTokens::AccountId))
                .col(big_integer_null(ApiTokens::AppId))
                .col(string(ApiTokens::Name))
                .col(string(ApiTokens::Prefix))
                .col(string_uniq(ApiTokens::TokenHash))
                .col(string(ApiTokens::Scopes))
                .col(big_integer_null(ApiTokens::CreatedByUserId))
                .col(big_integer_null(ApiTokens::CreatedByTokenId))
                .col(big_integer_null(ApiTokens::LastUsedAt))
                .col(big_integer_null(ApiTokens::ExpiresAt))
                .col(big_integer_null(ApiTokens::RevokedAt))
                .col(big_integer(ApiTokens::CreatedAt))
                .foreign_key(&mut fk(
                    (ApiTokens::Table, ApiTokens::AccountId),
                    (Accounts::Table, Accounts::Id),
                ))
                .foreign_key(&mut fk((ApiTokens::Table, ApiTokens::AppId), (Apps::Table, Apps::Id)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("api_tokens_account")
                .table(ApiTokens::Table)
                .col(ApiTokens::AccountId)
                .col(ApiTokens::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Invitations::Table)
                .col(big_pk_auto(Invitations::Id))
                .col(big_integer(Invitations::AccountId))
                .col(string(Invitations::Email))
                .col(string(Invitations::Role))
                .col(string_uniq(Invitations::TokenHash))
                .col(big_integer(Invitations::InvitedByUserId))
                .col(big_integer(Invitations::CreatedAt))
                .col(big_integer(Invitations::ExpiresAt))
                .col(big_integer_null(Invitations::AcceptedAt))
                .foreign_key(&mut fk(
                    (Invitations::Table, Invitations::AccountId),
                    (Accounts::Table, Accounts::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("invitations_account")
                .table(Invitations::Table)
                .col(Invitations::AccountId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LoginFailures::Table)
                .col(big_pk_auto(LoginFailures::Id))
                .col(string(LoginFailures::Email))
                .col(big_integer(LoginFailures::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("login_failures_email_time")
                .table(LoginFailures::Table)
                .col(LoginFailures::Email)
                .col(LoginFailures::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(big_pk_auto(AuditLog::Id))
                .col(big_integer(AuditLog::AccountId))
                .col(string(AuditLog::ActorType))
                .col(big_integer_null(AuditLog::ActorId))
                .col(string(AuditLog::ActorLabel))
                .col(string(AuditLog::Action))
                .col(string(AuditLog::TargetType))
                .col(string_null(AuditLog::TargetId))
                .col(string(AuditLog::TargetLabel))
                .col(text(AuditLog::Diff))
                .col(string_null(AuditLog::Ip))
                .col(string_null(AuditLog::UserAgent))
                .col(big_integer(AuditLog::CreatedAt))
                .foreign_key(&mut fk(
                    (AuditLog::Table, AuditLog::AccountId),
                    (Accounts::Table, Accounts::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_log_account")
                .table(AuditLog::Table)
                .col(AuditLog::AccountId)
                .col(AuditLog::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_log_target")
                .table(AuditLog::Table)
                .col(AuditLog::AccountId)
                .col(AuditLog::TargetType)
                .col(AuditLog::TargetId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            LoginFailures::Table.into_iden(),
            Invitations::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Apps::Table.into_iden(),
            Sessions::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Name,
    Slug,
    HipaaMode,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    AccountId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    AccountId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Apps {
    Table,
    Id,
    AccountId,
    Name,
    AppToken,
    WriteKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    AccountId,
    AppId,
    Name,
    Prefix,
    TokenHash,
    Scopes,
    CreatedByUserId,
    CreatedByTokenId,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    AccountId,
    Email,
    Role,
    TokenHash,
    InvitedByUserId,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Email,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    AccountId,
    ActorType,
    ActorId,
    ActorLabel,
    Action,
    TargetType,
    TargetId,
    TargetLabel,
    Diff,
    Ip,
    UserAgent,
    CreatedAt,
}
