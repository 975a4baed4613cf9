//! Deletes what has expired: login sessions, unused invitations and old login-failure records,
//! the dashboard's sign-in state (so it is the app's work, not the delivery engine's). Safe to
//! run in any number of processes at once: each pass is a set of idempotent deletes.

use std::time::Duration;

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use entity::tenant::AccountScoped;
use entity::{invitation, login_failure, session};

/// Login failures older than this no longer count towards throttling (the window is 15 minutes).
const FAILURE_RETENTION_MS: i64 = 24 * 3_600_000;

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub invitations: u64,
    pub login_failures: u64,
}

/// One housekeeping pass at time `now_ms`, over every account: expiry is maintenance, not a
/// request of one tenant.
///
/// # Errors
/// Database failure; nothing is half-done that the next pass would not finish.
pub async fn sweep(db: &DatabaseConnection, now_ms: i64) -> Result<Swept, DbErr> {
    let sessions = session::Entity::delete_many_across_accounts()
        .filter(session::Column::ExpiresAt.lte(now_ms))
        .exec(db)
        .await?
        .rows_affected;
    let invitations = invitation::Entity::delete_many_across_accounts()
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.lte(now_ms))
        .exec(db)
        .await?
        .rows_affected;
    let login_failures = login_failure::Entity::delete_many()
        .filter(login_failure::Column::CreatedAt.lte(now_ms - FAILURE_RETENTION_MS))
        .exec(db)
        .await?
        .rows_affected;
    Ok(Swept {
        sessions,
        invitations,
        login_failures,
    })
}

/// Runs [`sweep`] every `every` until the task is dropped. Failures are logged and retried on
/// the next tick.
pub async fn run(db: DatabaseConnection, every: Duration, now_ms: impl Fn() -> i64) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match sweep(&db, now_ms()).await {
            Ok(s) if s != Swept::default() => tracing::info!(
                swept.sessions = s.sessions,
                swept.invitations = s.invitations,
                swept.login_failures = s.login_failures,
                "housekeeping removed expired rows"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; retrying on the next tick"),
        }
    }
}
