//! Test databases ([`ThrowawayDb`]: a temp SQLite file, plus PostgreSQL when `TEST_DATABASE_URL`
//! is set), each migrated and seeded, with helpers to insert and inspect `deliveries` rows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use migration::testing::{self, ThrowawayDb};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait};

use crate::queue::now_ms;

/// A name no other test run picks: `<prefix>_<16 hex digits>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{:016x}", getrandom::u64().unwrap())
}

/// One test's database, migrated and seeded with an account and a webhook.
pub struct TestDb {
    pub db: DatabaseConnection,
    pub account_id: i64,
    pub webhook_id: i64,
    /// Declared after `db`, so dropped after it: the database goes once its connections have.
    pub database: ThrowawayDb,
}

impl TestDb {
    /// A fresh SQLite database, and a fresh PostgreSQL one when `TEST_DATABASE_URL` is set.
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![Self::sqlite().await];
        if let Some(admin_url) = testing::postgres_server() {
            dbs.push(Self::postgres(admin_url).await);
        }
        dbs
    }

    async fn sqlite() -> TestDb {
        let database = ThrowawayDb::sqlite();
        let mut opt = ConnectOptions::new(database.url());
        opt.max_connections(8)
            .min_connections(1)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        Self::finish(Database::connect(opt).await.unwrap(), database).await
    }

    async fn postgres(admin_url: String) -> TestDb {
        let database = ThrowawayDb::postgres(admin_url).await;
        let mut opt = ConnectOptions::new(database.url());
        opt.max_connections(10).min_connections(1).sqlx_logging(false);
        Self::finish(Database::connect(opt).await.unwrap(), database).await
    }

    async fn finish(db: DatabaseConnection, database: ThrowawayDb) -> TestDb {
        Migrator::up(&db, None).await.unwrap();
        let mut t = TestDb {
            db,
            account_id: 0,
            webhook_id: 0,
            database,
        };
        t.account_id = t
            .scalar("INSERT INTO accounts (name, slug, hipaa_mode, created_at) VALUES ('Test', 'test', false, 0) RETURNING id")
            .await;
        t.webhook_id = t
            .scalar(&format!(
                "INSERT INTO webhooks (public_id, account_id, name, description, url, method, headers, \
                 signature_scheme, enabled, event_types, triggers, properties, payload_format, filter, app_ids, \
                 timeout_secs, created_by, updated_by, created_at, updated_at) VALUES ('wh_test', {}, 'hook', '', \
                 'http://127.0.0.1:9/', 'POST', '{{}}', 'none', true, '[]', '[]', '[]', 'json', '', '[]', 5, \
                 'test', 'test', 0, 0) RETURNING id",
                t.account_id
            ))
            .await;
        t
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub fn is_postgres(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    pub async fn exec(&self, sql: &str) {
        self.db
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    /// Inserts `n` rows in one transaction; `status`, `lane`, `attempts`, `next_attempt_at`,
    /// `lease_until` as given. Returns their ids in order.
    pub async fn insert(&self, n: usize, row: Row) -> Vec<i64> {
        let txn = self.db.begin().await.unwrap();
        let mut ids = Vec::with_capacity(n);
        let lease = row.lease_until.map_or("NULL".to_owned(), |l| l.to_string());
        let mut left = n;
        while left > 0 {
            let chunk = left.min(500);
            left -= chunk;
            let values = vec![
                format!(
                    "({}, {}, '{}', {}, {}, {}, {lease}, 'scheduled', 1, 0, 0)",
                    self.account_id, self.webhook_id, row.status, row.lane, row.attempts, row.next_attempt_at
                );
                chunk
            ]
            .join(",");
            let sql = format!(
                "INSERT INTO deliveries (account_id, webhook_id, status, lane, attempts, next_attempt_at, lease_until, \
                 \"trigger\", event_count, created_at, updated_at) VALUES {values} RETURNING id"
            );
            for r in txn
                .query_all_raw(Statement::from_string(self.backend(), sql))
                .await
                .unwrap()
            {
                ids.push(r.try_get_by_index::<i64>(0).unwrap());
            }
        }
        txn.commit().await.unwrap();
        ids.sort_unstable();
        ids
    }

    pub async fn insert_due(&self, n: usize) -> Vec<i64> {
        self.insert(n, Row::due()).await
    }

    /// Rows by status.
    pub async fn counts(&self) -> BTreeMap<String, i64> {
        let sql = "SELECT status, COUNT(*) FROM deliveries GROUP BY status";
        let rows = self
            .db
            .query_all_raw(Statement::from_string(self.backend(), sql))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.try_get_by_index::<String>(0).unwrap(),
                    r.try_get_by_index::<i64>(1).unwrap(),
                )
            })
            .collect()
    }

    pub async fn rows(&self) -> Vec<State> {
        let sql = "SELECT id, status, lane, attempts, next_attempt_at, lease_until FROM deliveries ORDER BY id";
        let rows = self
            .db
            .query_all_raw(Statement::from_string(self.backend(), sql))
            .await
            .unwrap();
        rows.iter()
            .map(|r| State {
                id: r.try_get_by_index(0).unwrap(),
                status: r.try_get_by_index(1).unwrap(),
                lane: r.try_get_by_index(2).unwrap(),
                attempts: r.try_get_by_index(3).unwrap(),
                next_attempt_at: r.try_get_by_index(4).unwrap(),
                lease_until: r.try_get_by_index(5).unwrap(),
            })
            .collect()
    }

    /// The attempt rows of delivery `id`.
    pub async fn attempt_rows(&self, id: i64) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) FROM delivery_attempts WHERE delivery_id = {id}"
        ))
        .await
    }

    pub async fn row(&self, id: i64) -> State {
        self.rows().await.into_iter().find(|r| r.id == id).unwrap()
    }

    /// Waits (up to `deadline`) until the row counts equal `want` exactly.
    pub async fn wait_counts(&self, deadline: Duration, want: &[(&str, i64)]) {
        let want: BTreeMap<String, i64> = want.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect();
        let end = Instant::now() + deadline;
        loop {
            let have = self.counts().await;
            if have == want {
                return;
            }
            assert!(
                Instant::now() < end,
                "{:?}: timed out waiting for {want:?}, have {have:?}",
                self.backend()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Column values of inserted rows.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub status: &'static str,
    pub lane: i32,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
}

impl Row {
    pub fn due() -> Self {
        Row {
            status: "pending",
            lane: 0,
            attempts: 0,
            next_attempt_at: now_ms() - 1_000,
            lease_until: None,
        }
    }
}

/// A row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub id: i64,
    pub status: String,
    pub lane: i32,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
}

/// One fair claim of up to `limit` rows (retries included), as a worker's backend makes it.
pub async fn claim(
    queue: &crate::queue::DeliveryQueue,
    limit: usize,
    now: i64,
    lease_until: i64,
) -> Vec<crate::queue::ClaimedDelivery> {
    let ask = crate::queue::fair::Ask {
        limit,
        retries: limit,
        now,
        lease_until,
        cursor: 0,
        claimer: queue.claimer(),
    };
    let got = queue
        .pool()
        .claim_fair(ask, queue.config(), queue.gates())
        .await
        .unwrap();
    queue.gates().widen(&got.caps);
    got.rows
}
