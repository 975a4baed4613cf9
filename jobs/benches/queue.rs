//! Delivery queue throughput on SQLite: claim → no-op handler (a 200, nothing sent) → settle
//! (attempt row and outcome, group-committed).
//!
//! Inserts `BENCH_N` (default 20,000) due rows into a temp SQLite file, runs one apalis worker
//! with concurrency 64 (`BENCH_CONCURRENCY`) over `DeliveryQueue`, and stops once every row is
//! `succeeded` (or after 5 minutes, as a failure). Prints handler and acknowledgement rates.
//!
//! `cargo bench -p herald-jobs --bench queue`

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apalis::prelude::{BoxDynError, Data, ParallelizeExt, WorkerBuilder, WorkerBuilderExt};
use herald_jobs::queue::attempt::Outcome;
use herald_jobs::queue::{ClaimedDelivery, DeliveryQueue, QueueConfig};
use herald_jobs::send::{Attempt, Verdict};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement, TransactionTrait};

const DEADLINE: Duration = Duration::from_secs(300);

type Error = Box<dyn std::error::Error + Send + Sync>;

fn env_usize(name: &str, default: usize) -> Result<usize, Error> {
    match std::env::var(name) {
        Ok(v) => Ok(v.parse().map_err(|e| format!("{name}={v:?}: {e}"))?),
        Err(_) => Ok(default),
    }
}

async fn handle(_d: ClaimedDelivery, handled: Data<Arc<AtomicUsize>>) -> Result<Outcome, BoxDynError> {
    handled.fetch_add(1, Ordering::Relaxed);
    Ok(Outcome::Sent(Box::new(Attempt {
        started_at_ms: 0,
        duration_ms: 0,
        request_headers: Vec::new(),
        status: Some(200),
        response_headers: Vec::new(),
        response_body: String::new(),
        error: None,
        verdict: Verdict::Delivered,
    })))
}

async fn connect(path: &std::path::Path) -> Result<DatabaseConnection, DbErr> {
    let mut opt = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
    opt.max_connections(8)
        .min_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    let db = Database::connect(opt).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    row.ok_or_else(|| DbErr::Custom(format!("no row from {sql}")))?
        .try_get_by_index::<i64>(0)
}

async fn seed(db: &DatabaseConnection, n: usize) -> Result<(), DbErr> {
    let account = scalar(
        db,
        "INSERT INTO accounts (name, slug, created_at) VALUES ('Bench', 'bench', 0) RETURNING id",
    )
    .await?;
    let webhook = scalar(
        db,
        &format!(
            "INSERT INTO webhooks (public_id, account_id, name, url, method, headers, signature_scheme, enabled, \
             event_types, triggers, properties, payload_format, filter, app_ids, timeout_secs, created_by, updated_by, \
             created_at, updated_at) VALUES ('wh_bench', {account}, 'bench', 'http://127.0.0.1:9/', 'POST', '{{}}', \
             'none', true, '[]', '[]', '[]', 'json', '', '[]', 5, 'bench', 'bench', 0, 0) RETURNING id"
        ),
    )
    .await?;
    let txn = db.begin().await?;
    let mut left = n;
    while left > 0 {
        let chunk = left.min(500);
        left -= chunk;
        let row = format!("({account}, {webhook}, 'pending', 0, 'scheduled', 0, 0)");
        let values = vec![row; chunk].join(",");
        txn.execute_unprepared(&format!(
            "INSERT INTO deliveries (account_id, webhook_id, status, next_attempt_at, \"trigger\", created_at, updated_at) \
             VALUES {values}"
        ))
        .await?;
    }
    txn.commit().await
}

async fn run(n: usize, concurrency: usize, db: DatabaseConnection) -> Result<(), Error> {
    seed(&db, n).await?;
    let queue = DeliveryQueue::new(db.clone(), QueueConfig::for_concurrency(concurrency));
    let handled = Arc::new(AtomicUsize::new(0));
    let worker = WorkerBuilder::new(format!("bench-{}", std::process::id()))
        .backend(queue.backend())
        .data(Arc::clone(&handled))
        .concurrency(concurrency)
        .parallelize(tokio::spawn)
        .build(handle);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let running = tokio::spawn(worker.run_until(async move {
        let _ = stopped.await;
        Ok::<(), std::io::Error>(())
    }));

    let target = i64::try_from(n)?;
    let mut handlers_done = None;
    loop {
        if handlers_done.is_none() && handled.load(Ordering::Relaxed) >= n {
            handlers_done = Some(started.elapsed());
        }
        if scalar(&db, "SELECT COUNT(*) FROM deliveries WHERE status = 'succeeded'").await? >= target {
            break;
        }
        if started.elapsed() > DEADLINE {
            return Err(format!(
                "not done after {DEADLINE:?}: {} handled",
                handled.load(Ordering::Relaxed)
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let acked = started.elapsed();
    let handlers = handlers_done.unwrap_or(acked);
    let _ = stop.send(());
    running.await??;

    let left = scalar(&db, "SELECT COUNT(*) FROM deliveries WHERE status <> 'succeeded'").await?;
    let calls = handled.load(Ordering::Relaxed);
    let rate = |d: Duration| f64::from(u32::try_from(n).unwrap_or(u32::MAX)) / d.as_secs_f64();
    println!(
        "queue bench (SQLite, release={}): {n} rows, concurrency {concurrency}",
        !cfg!(debug_assertions)
    );
    println!(
        "  handlers: {calls} calls in {handlers:.2?} = {:.0} rows/s",
        rate(handlers)
    );
    println!("  acked:    {n} succeeded in {acked:.2?} = {:.0} rows/s", rate(acked));
    if calls != n || left != 0 {
        return Err(format!("expected {n} calls and 0 rows left, got {calls} calls and {left} left").into());
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = (|| -> Result<(), Error> {
        let n = env_usize("BENCH_N", 20_000)?;
        let concurrency = env_usize("BENCH_CONCURRENCY", 64)?;
        let dir = std::env::temp_dir().join(format!(
            "herald-queue-bench-{:016x}",
            getrandom::u64().map_err(|e| e.to_string())?
        ));
        std::fs::create_dir_all(&dir)?;
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let result = runtime.block_on(async {
            let db = connect(&dir.join("bench.db")).await?;
            let result = run(n, concurrency, db.clone()).await;
            db.close().await?;
            result
        });
        std::fs::remove_dir_all(&dir).ok();
        result
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("queue bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
