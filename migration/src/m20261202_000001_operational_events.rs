//! The built-in catalog entries of the operational events (`herald.webhook.failing`,
//! `.recovered`, `.disabled`) for every existing account, so a tenant finds them where it picks
//! events for a webhook. The app seeds the same rows for new accounts.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The operational event types (name, description), as the app's catalog lists them.
const BUILTINS: [(&str, &str); 3] = [
    (
        "herald.webhook.failing",
        "Built in: Herald paused one of your webhooks because its endpoint kept failing (circuit breaker open).",
    ),
    (
        "herald.webhook.recovered",
        "Built in: the endpoint of a paused webhook answered again; its deliveries flow again.",
    ),
    (
        "herald.webhook.disabled",
        "Built in: Herald disabled one of your webhooks (failing for days, or its endpoint answered 410 Gone).",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (name, description) in BUILTINS {
            // `WHERE true` lets SQLite parse an upsert over a SELECT; PostgreSQL accepts it too.
            db.execute_unprepared(&format!(
                "INSERT INTO event_types (account_id, name, description, archived, source, created_at) \
                 SELECT id, '{name}', '{description}', FALSE, 'builtin', created_at FROM accounts WHERE true \
                 ON CONFLICT (account_id, name) DO NOTHING"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in BUILTINS {
            m.get_connection()
                .execute_unprepared(&format!(
                    "DELETE FROM event_types WHERE name = '{name}' AND source = 'builtin'"
                ))
                .await?;
        }
        Ok(())
    }
}
