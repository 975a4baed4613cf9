//! Database connection (SQLite or PostgreSQL, chosen by URL), migrations and write transactions.

pub mod backup;
pub mod fault;
pub mod group_commit;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

/// Opens a pool for `url`. SQLite gets WAL, `synchronous=NORMAL`, a busy timeout and foreign keys,
/// set on every pooled connection, and no ping before each checkout (a local file cannot have
/// gone away, and the ping is a round trip to the connection's thread on every statement);
/// `max_pages` caps its size (`PRAGMA max_page_count`, see `HERALD_SQLITE_MAX_PAGES`).
///
/// # Errors
/// The database cannot be reached or opened.
pub async fn connect(url: &str, max_pages: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let mut opt = ConnectOptions::new(url.to_owned());
    opt.acquire_timeout(Duration::from_secs(10)).sqlx_logging(false);
    if url.starts_with("sqlite:") {
        opt.max_connections(8)
            .min_connections(1)
            .test_before_acquire(false)
            .map_sqlx_sqlite_opts(move |o| sqlite_options(o, max_pages));
    } else {
        opt.max_connections(20).min_connections(1);
    }
    Database::connect(opt).await
}

/// The connection the hot write paths (ingest, attempt log, queue) share. On SQLite it is a
/// separate pool of exactly one connection: writers then queue for it in order instead of
/// colliding on the database's write lock, where SQLite's busy handler would make them sleep
/// (1, 2, 5, 10… ms) and retry. Reads keep the shared pool, which WAL lets run beside the writer.
/// The writer never checkpoints the WAL itself (a checkpoint inside a commit, with its fsync,
/// stalled every writer behind it for milliseconds); a task started here checkpoints passively
/// from the shared pool every [`CHECKPOINT_EVERY`] instead, which does not block writers.
/// On PostgreSQL, where rows are locked one by one, it is the shared pool itself.
///
/// # Errors
/// The database cannot be opened.
pub async fn connect_writer(
    db: &DatabaseConnection,
    url: &str,
    max_pages: Option<u32>,
) -> Result<DatabaseConnection, DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(db.clone());
    }
    let mut opt = ConnectOptions::new(url.to_owned());
    opt.acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
        .map_sqlx_sqlite_opts(move |o| sqlite_options(o, max_pages).pragma("wal_autocheckpoint", "0"));
    let writer = Database::connect(opt).await?;
    tokio::spawn(checkpoint(db.clone()));
    Ok(writer)
}

/// How often the WAL is copied back into the database file on SQLite.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

async fn checkpoint(db: DatabaseConnection) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)").await {
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying in a second");
        }
    }
}

fn sqlite_options(o: SqliteConnectOptions, max_pages: Option<u32>) -> SqliteConnectOptions {
    let o = match max_pages {
        Some(pages) => o.pragma("max_page_count", pages.to_string()),
        None => o,
    };
    o.journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .statement_cache_capacity(1024)
        // Statement journals (multi-row inserts and updates inside a transaction) in memory, not
        // in temp files: 3 % of the delivery path's CPU went to writing them.
        .pragma("temp_store", "memory")
}

/// Connects and applies pending migrations (what `herald serve` and `herald migrate` do first).
///
/// # Errors
/// Connection or migration failure.
pub async fn connect_and_migrate(url: &str, max_pages: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url, max_pages).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so a read-then-write transaction waits for the busy timeout instead of
/// failing with `SQLITE_BUSY` when another writer got there first.
///
/// # Errors
/// The transaction could not be started.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}
