//! Visitors for the derived `NEW_VISIT` / `NEW_VISITOR` events, the per-account visit timeout, and
//! the two built-in catalog entries for every existing account.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The built-in event types (name, description). The app seeds the same rows for new accounts.
const BUILTINS: [(&str, &str); 2] = [
    (
        "NEW_VISITOR",
        "Built in: derived by Herald from page events, the first page ever of a visitor.",
    ),
    (
        "NEW_VISIT",
        "Built in: derived by Herald from page events, the first page of a visit.",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Accounts::Table)
                .add_column(integer(Accounts::VisitTimeoutMinutes).default(30))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Visitors::Table)
                .col(big_pk_auto(Visitors::Id))
                .col(big_integer(Visitors::AccountId))
                .col(string(Visitors::VisitorKey))
                .col(big_integer(Visitors::FirstSeen))
                .col(big_integer(Visitors::LastPageAt))
                .col(string(Visitors::CurrentVisitId))
                .foreign_key(
                    ForeignKey::create()
                        .from(Visitors::Table, Visitors::AccountId)
                        .to(Accounts::Table, Accounts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The race guard: two concurrent first pages of one visitor insert one row, not two.
        m.create_index(
            Index::create()
                .name("visitors_account_key")
                .table(Visitors::Table)
                .col(Visitors::AccountId)
                .col(Visitors::VisitorKey)
                .unique()
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for (name, description) in BUILTINS {
            // `WHERE true` lets SQLite parse an upsert over a SELECT; PostgreSQL accepts it too.
            db.execute_unprepared(&format!(
                "INSERT INTO event_types (account_id, name, description, archived, source, created_at) \
                 SELECT id, '{name}', '{description}', FALSE, 'builtin', created_at FROM accounts WHERE true \
                 ON CONFLICT (account_id, name) DO NOTHING"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "UPDATE event_types SET source = 'builtin', description = '{description}' WHERE name = '{name}'"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Visitors::Table).to_owned()).await?;
        m.alter_table(
            Table::alter()
                .table(Accounts::Table)
                .drop_column(Accounts::VisitTimeoutMinutes)
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared("DELETE FROM event_types WHERE source = 'builtin'")
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    VisitTimeoutMinutes,
}

#[derive(DeriveIden)]
enum Visitors {
    Table,
    Id,
    AccountId,
    VisitorKey,
    FirstSeen,
    LastPageAt,
    CurrentVisitId,
}
