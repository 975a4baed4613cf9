//! `webhooks.version`, bumped by the database on every change of a webhook row, so a worker's
//! cache of decoded webhooks can tell from the claim alone whether its copy is current; and
//! `deliveries.attempts` now counts recorded attempts (it is raised with the attempt row, no
//! longer by the claim), so rows a crashed worker left `in_flight` are handed back as they are.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Version,
}

/// A trigger rather than code in every update: no path that changes a webhook (a form, the API,
/// auto-disable, a `410 Gone`, a future one) can forget it, and on PostgreSQL two concurrent
/// updates of one row still get two versions (the second waits for the row lock and sees the
/// first's `OLD.version`).
const PG_TRIGGER: [&str; 2] = [
    "CREATE FUNCTION webhooks_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$",
    "CREATE TRIGGER webhooks_version BEFORE UPDATE ON webhooks
     FOR EACH ROW EXECUTE FUNCTION webhooks_bump_version()",
];

/// SQLite cannot assign `NEW` in a trigger; an `AFTER UPDATE` one sets the column instead (its own
/// update does not fire it again: recursive triggers are off, and the `WHEN` guard holds anyway).
const SQLITE_TRIGGER: &str = "CREATE TRIGGER webhooks_version AFTER UPDATE ON webhooks
     FOR EACH ROW WHEN NEW.version = OLD.version
     BEGIN UPDATE webhooks SET version = OLD.version + 1 WHERE id = NEW.id; END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Webhooks::Table)
                .add_column(big_integer(Webhooks::Version).default(1))
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                for sql in PG_TRIGGER {
                    conn.execute_unprepared(sql).await?;
                }
            }
            _ => {
                conn.execute_unprepared(SQLITE_TRIGGER).await?;
            }
        }
        // Claims made before this version had already counted their attempt; no worker of the
        // old version runs any more, so their rows go back to the queue with that count undone.
        conn.execute_unprepared(
            "UPDATE deliveries SET status = 'pending', attempts = attempts - 1, lease_until = NULL \
             WHERE status = 'in_flight'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared("DROP TRIGGER webhooks_version ON webhooks")
                    .await?;
                conn.execute_unprepared("DROP FUNCTION webhooks_bump_version()").await?;
            }
            _ => {
                conn.execute_unprepared("DROP TRIGGER webhooks_version").await?;
            }
        }
        m.alter_table(
            Table::alter()
                .table(Webhooks::Table)
                .drop_column(Webhooks::Version)
                .to_owned(),
        )
        .await
    }
}
