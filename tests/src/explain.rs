//! Which indexes Herald's own queries use: [`Recorder`] is a database connection that runs every
//! statement on the real database and keeps a copy, so a test can call a domain function and
//! then ask the database for the plan of exactly the SQL it sent ([`plan`]).

use std::sync::Mutex;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, Statement};

/// A connection that records the statements it runs.
pub struct Recorder<C> {
    inner: C,
    seen: Mutex<Vec<Statement>>,
}

impl<C: ConnectionTrait> Recorder<C> {
    #[must_use]
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            seen: Mutex::new(Vec::new()),
        }
    }

    fn keep(&self, stmt: &Statement) {
        self.seen.lock().expect("not poisoned").push(stmt.clone());
    }

    /// The statements run so far whose SQL contains `needle`.
    ///
    /// # Panics
    /// If a recording thread panicked.
    #[must_use]
    pub fn statements_with(&self, needle: &str) -> Vec<Statement> {
        let seen = self.seen.lock().expect("not poisoned");
        seen.iter().filter(|s| s.sql.contains(needle)).cloned().collect()
    }

    /// The wrapped connection.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

#[async_trait::async_trait]
impl<C: ConnectionTrait + Send> ConnectionTrait for Recorder<C> {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.keep(&stmt);
        self.inner.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.inner.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.keep(&stmt);
        self.inner.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.keep(&stmt);
        self.inner.query_all_raw(stmt).await
    }
}

/// The plan of `stmt` as text, one line per plan row (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN`
/// on PostgreSQL), with the statement's own values bound.
///
/// # Panics
/// When the database refuses the `EXPLAIN`.
pub async fn plan(conn: &impl ConnectionTrait, stmt: &Statement) -> String {
    let backend = conn.get_database_backend();
    let (prefix, column) = match backend {
        DbBackend::Postgres => ("EXPLAIN ", "QUERY PLAN"),
        _ => ("EXPLAIN QUERY PLAN ", "detail"),
    };
    let explain = Statement {
        sql: format!("{prefix}{}", stmt.sql),
        ..stmt.clone()
    };
    conn.query_all_raw(explain)
        .await
        .expect("EXPLAIN runs")
        .iter()
        .map(|row| row.try_get::<String>("", column).expect("a plan line"))
        .collect::<Vec<_>>()
        .join("\n")
}
