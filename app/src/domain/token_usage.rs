//! When each API token was last used, recorded off the request path: a request only notes the
//! use in memory, and a background task writes the noted uses every [`FLUSH_EVERY`].
//!
//! `last_used_at` is informational (shown in token lists), so it may lag by up to a flush
//! interval plus its one-minute resolution, and uses noted since the last flush are lost if the
//! process stops. In exchange, authenticating a request never writes to the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbErr, QueryFilter};

use entity::api_token;
use entity::tenant::AccountScoped;

use crate::db::begin_write;

/// How often noted uses are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(30);
/// `last_used_at` moves forward only by at least this much, so a busy token costs at most one
/// row write a minute, however many processes use it.
const RESOLUTION_MS: i64 = 60_000;

/// Uses noted since the last flush: token id → latest use (unix ms). Cheap to clone: a handle.
#[derive(Clone, Default)]
pub struct TokenUsage {
    noted: Arc<Mutex<HashMap<i64, i64>>>,
}

impl TokenUsage {
    /// A recorder whose noted uses a task spawned here writes to `db` every [`FLUSH_EVERY`].
    /// The task ends once every handle has been dropped.
    #[must_use]
    pub fn start(db: DatabaseConnection) -> Self {
        let usage = Self::default();
        tokio::spawn(flush_every(Arc::downgrade(&usage.noted), db));
        usage
    }

    /// Notes that token `token_id` was used at `at_ms`. Memory only; no I/O.
    pub fn note(&self, token_id: i64, at_ms: i64) {
        let mut noted = self.noted.lock().unwrap_or_else(PoisonError::into_inner);
        let latest = noted.entry(token_id).or_insert(at_ms);
        *latest = (*latest).max(at_ms);
    }

    /// Writes the uses noted so far, in one transaction with one `UPDATE` per token; a token's
    /// `last_used_at` changes only when it moves forward by at least a minute. Returns how many
    /// tokens were noted. The noted uses are taken first, so on failure they are dropped (the
    /// next use of each token notes it again).
    ///
    /// # Errors
    /// Database failure.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<usize, DbErr> {
        let noted = std::mem::take(&mut *self.noted.lock().unwrap_or_else(PoisonError::into_inner));
        write(db, &noted).await?;
        Ok(noted.len())
    }
}

async fn write(db: &DatabaseConnection, noted: &HashMap<i64, i64>) -> Result<(), DbErr> {
    if noted.is_empty() {
        return Ok(());
    }
    let txn = begin_write(db).await?;
    for (&id, &at) in noted {
        // Uses are noted by token id from every account's requests and written together.
        api_token::Entity::update_many_across_accounts()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(at))
            .filter(api_token::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(api_token::Column::LastUsedAt.is_null())
                    .add(api_token::Column::LastUsedAt.lte(at - RESOLUTION_MS)),
            )
            .exec(&txn)
            .await?;
    }
    txn.commit().await
}

async fn flush_every(noted: Weak<Mutex<HashMap<i64, i64>>>, db: DatabaseConnection) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + FLUSH_EVERY, FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(noted) = noted.upgrade() else {
            return;
        };
        let usage = TokenUsage { noted };
        match usage.flush(&db).await {
            Ok(n) => tracing::debug!(tokens = n, "wrote the tokens' last-use times"),
            Err(e) => tracing::warn!(error = %e, "writing the tokens' last-use times failed; those uses are dropped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, Set};

    use super::*;

    async fn database_with_a_token() -> (DatabaseConnection, i64) {
        let mut opt = ConnectOptions::new("sqlite::memory:");
        opt.max_connections(1).min_connections(1).sqlx_logging(false);
        let db = Database::connect(opt).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        db.execute_unprepared("INSERT INTO accounts (id, name, slug, created_at) VALUES (1, 'A', 'a', 0)")
            .await
            .unwrap();
        let token = api_token::ActiveModel {
            account_id: Set(1),
            name: Set("ci".into()),
            prefix: Set("hrld_0123abcd".into()),
            token_hash: Set("ab".repeat(32)),
            scopes: Set("ingest".into()),
            created_at: Set(0),
            ..Default::default()
        }
        .insert(&db)
        .await
        .unwrap();
        (db, token.id)
    }

    async fn last_used(db: &DatabaseConnection, id: i64) -> Option<i64> {
        api_token::Entity::find_by_id_in(1, id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .last_used_at
    }

    #[tokio::test]
    async fn a_flush_writes_the_latest_noted_use_at_most_once_a_minute() {
        let (db, id) = database_with_a_token().await;
        let usage = TokenUsage::default();
        assert_eq!(usage.flush(&db).await.unwrap(), 0, "nothing noted, nothing written");

        usage.note(id, 1_000_000);
        usage.note(id, 1_005_000);
        usage.note(id, 1_002_000);
        assert_eq!(last_used(&db, id).await, None, "noting does not write");
        assert_eq!(usage.flush(&db).await.unwrap(), 1);
        assert_eq!(last_used(&db, id).await, Some(1_005_000), "the latest use");

        usage.note(id, 1_005_000 + RESOLUTION_MS - 1);
        usage.flush(&db).await.unwrap();
        assert_eq!(
            last_used(&db, id).await,
            Some(1_005_000),
            "less than a minute later: unchanged"
        );

        usage.note(id, 1_005_000 + RESOLUTION_MS);
        usage.flush(&db).await.unwrap();
        assert_eq!(last_used(&db, id).await, Some(1_005_000 + RESOLUTION_MS));
        assert_eq!(usage.flush(&db).await.unwrap(), 0, "a flush takes the noted uses");
    }
}
