//! `herald backup FILE`: a consistent copy of the embedded SQLite database, taken while Herald
//! serves. `VACUUM INTO` reads the database in one read transaction (WAL lets writers go on
//! beside it), so the copy is the database as of one commit: every acknowledged event of that
//! moment with its queued deliveries, never half a transaction. The copy is a plain SQLite file
//! (no WAL beside it) that `HERALD_DATABASE_URL` can point at directly. PostgreSQL has its own
//! tool for this (`pg_dump`, see README), so the command refuses it.

use std::path::Path;

use anyhow::{Context, bail};
use herald_jobs::can_fail::CanFail;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Copies the database at `database_url` into `file`, which must not exist yet.
///
/// # Errors
/// `file` exists, the database is not SQLite, or SQLite fails (no space, unwritable directory).
pub async fn backup(database_url: &str, file: &Path) -> anyhow::Result<()> {
    if file.exists() {
        bail!("{} already exists; a backup never overwrites a file", file.display());
    }
    let target = file.to_str().context("the backup path must be valid UTF-8")?;
    let db = super::connect(database_url, None)
        .await
        .context("opening the database")?;
    if db.get_database_backend() != DbBackend::Sqlite {
        bail!("herald backup copies the embedded SQLite database; back up PostgreSQL with pg_dump (see README)");
    }
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [target.into()],
    ))
    .await
    .with_context(|| format!("writing the backup to {target}"))?;
    db.close()
        .await
        .can_fail("the backup is written; closing the connection cannot spoil it");
    Ok(())
}
