//! The engine's own numbers, in the Prometheus text format (`HERALD_METRICS=true`).
//!
//! `herald serve` answers `GET /metrics` on its web port; a `herald worker` has no web server
//! and answers it on `HERALD_METRICS_BIND`. Each process reports what it did itself; the queue
//! gauges are read from the database at each scrape, so every process shows the same queue
//! (aggregate them with `max`, not `sum`).
//!
//! Every metric, in one place (the names are a contract: dashboards and `herald-bench` read them):
//!
//! | name | type | labels | meaning | recorded by |
//! |---|---|---|---|---|
//! | `herald_events_ingested_total` | counter | – | events stored by ingest (not requests; duplicates and derived visit events not counted) | `web::ingest::accept`, after the commit |
//! | `herald_group_commit_size` | histogram | `writer` | jobs per group-commit transaction | `db::group_commit` (`ingest`); the delivery engine's settle loop (`settle`: attempt rows and outcomes) |
//! | `herald_group_commit_seconds` | histogram | `writer` | time of one such transaction, from `BEGIN` (on SQLite that includes waiting for the one writer connection) to `COMMIT` or rollback | as above |
//! | `herald_queue_depth` | gauge | `lane` (`0` new, `1` retries), `status` (`pending`, `in_flight`) | deliveries in that state; counting stops at [`DEPTH_CAP`] | the scrape, from the database |
//! | `herald_queue_oldest_due_age_seconds` | gauge | `lane` | how long the oldest pending delivery that is due has waited (0 when none) | the scrape, from the database |
//! | `herald_deliveries_total` | counter | `outcome` (`succeeded`, `retry`, `failed`, `cancelled`) | settled claims by what became of the delivery | `herald_jobs::queue::attempt`, after the commit |
//! | `herald_attempt_duration_seconds` | histogram | – | the receiver's time for one recorded attempt, request to response | `herald_jobs::queue::attempt`, after the commit |
//! | `herald_queue_claim_seconds` | histogram | – | one claim (lane 0 and, when due, lane 1) | the queue backend |
//! | `herald_queue_claim_rows` | histogram | – | rows one claim took | the queue backend |
//!
//! Histograms of seconds use [`SECONDS_BUCKETS`] (100 µs to 30 s), those of sizes
//! [`SIZE_BUCKETS`] (1 to 1024). Recording is a few atomic operations; when `HERALD_METRICS` is
//! off no recorder is installed and the `metrics` macros do nothing.

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use entity::delivery::DeliveryStatus;

use crate::config::Config;
use crate::timestamps::now_ms;

/// Counter: events stored by ingest.
pub const EVENTS_INGESTED: &str = "herald_events_ingested_total";
pub use herald_jobs::metric_names::{
    ATTEMPT_DURATION, DELIVERIES, GROUP_COMMIT_SECONDS, GROUP_COMMIT_SIZE, QUEUE_CLAIM_ROWS, QUEUE_CLAIM_SECONDS,
};
/// Gauge by `lane` and `status`: deliveries waiting or being sent.
pub const QUEUE_DEPTH: &str = "herald_queue_depth";
/// Gauge by `lane`: age of the oldest due pending delivery.
pub const QUEUE_OLDEST_DUE_AGE: &str = "herald_queue_oldest_due_age_seconds";

/// Bucket bounds of every `*_seconds` histogram: 100 µs (one SQLite statement) to 30 s (the
/// longest webhook timeout).
pub const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Bucket bounds of the size histograms (jobs per group, rows per claim): powers of two to 1024.
pub const SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];

/// Where counting stops for `herald_queue_depth`: a scrape reads at most this many index entries
/// per lane and status, so a huge backlog cannot make scrapes slow. A gauge at the cap means
/// "at least".
pub const DEPTH_CAP: i64 = 100_000;

/// How often histogram samples are folded into their buckets when nobody scrapes (the
/// exporter otherwise keeps every sample until the next scrape).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The scrape side of a process: renders what the process recorded, with the queue gauges
/// refreshed from the database first. Cheap to clone.
#[derive(Clone)]
pub struct Exporter {
    handle: &'static PrometheusHandle,
    db: DatabaseConnection,
}

impl Exporter {
    /// Installs the Prometheus recorder (once per process: later calls, e.g. from several apps
    /// started by one test binary, share it) and returns an exporter reading the queue from `db`.
    ///
    /// # Errors
    /// Another metrics recorder was installed in this process first.
    pub fn install(db: DatabaseConnection) -> anyhow::Result<Self> {
        static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
        let handle = HANDLE
            .get_or_init(|| install_recorder().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))?;
        Ok(Self { handle, db })
    }

    /// The `/metrics` answer: the queue gauges are refreshed (a failed query is logged and the
    /// gauges keep their last values), then everything is rendered.
    pub async fn respond(&self) -> HttpResponse {
        if let Err(e) = refresh_queue_gauges(&self.db).await {
            tracing::warn!(error = %e, "reading the queue depth for /metrics failed");
        }
        HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(self.handle.render())
    }
}

fn install_recorder() -> anyhow::Result<PrometheusHandle> {
    let mut builder =
        PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?;
    for name in [GROUP_COMMIT_SIZE, QUEUE_CLAIM_ROWS] {
        builder = builder.set_buckets_for_metric(Matcher::Full(name.into()), SIZE_BUCKETS)?;
    }
    let handle = builder.install_recorder()?;
    describe();
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        })
        .context("starting the metrics upkeep thread")?;
    Ok(handle)
}

/// The `# HELP` lines: the module table, in short.
fn describe() {
    describe_counter!(EVENTS_INGESTED, "Events stored by ingest.");
    describe_histogram!(GROUP_COMMIT_SIZE, "Jobs per group-commit transaction, by writer.");
    describe_histogram!(
        GROUP_COMMIT_SECONDS,
        Unit::Seconds,
        "Time of one group-commit transaction, BEGIN (incl. waiting for the writer) to COMMIT, by writer."
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Deliveries pending or in flight, by lane (0 new, 1 retries); counted up to 100000."
    );
    describe_gauge!(
        QUEUE_OLDEST_DUE_AGE,
        Unit::Seconds,
        "How long the oldest due pending delivery has waited, by lane."
    );
    describe_counter!(DELIVERIES, "Finished delivery attempts by outcome.");
    describe_histogram!(ATTEMPT_DURATION, Unit::Seconds, "One HTTP delivery attempt.");
    describe_histogram!(QUEUE_CLAIM_SECONDS, Unit::Seconds, "One queue claim statement.");
    describe_histogram!(QUEUE_CLAIM_ROWS, "Rows taken by one queue claim.");
}

/// The queue gauges in one statement. Every part reads an index, never the history: on SQLite
/// `deliveries_due (status, lane, next_attempt_at)` (forced with `INDEXED BY`), on PostgreSQL
/// the partial `deliveries_due (lane, next_attempt_at) WHERE status = 'pending'` for pending
/// rows and the partial `deliveries_lease (lease_until) WHERE lease_until IS NOT NULL` for
/// in-flight ones (only in-flight rows hold a lease). Counts stop at [`DEPTH_CAP`]; the
/// oldest due row is the first index entry of its lane. Each count is named after the status
/// it counts and its lane (`pending0`, `in_flight1`), as [`refresh_queue_gauges`] reads them.
fn queue_sql(backend: DbBackend) -> String {
    let (now, due, leased) = match backend {
        DbBackend::Postgres => (
            "$1",
            "deliveries WHERE status = 'pending'",
            "deliveries WHERE lease_until IS NOT NULL AND status = 'in_flight'",
        ),
        _ => (
            "?1",
            "deliveries INDEXED BY deliveries_due WHERE status = 'pending'",
            "deliveries INDEXED BY deliveries_due WHERE status = 'in_flight'",
        ),
    };
    let mut parts = Vec::new();
    for lane in 0..=1 {
        parts.push(format!(
            "(SELECT count(*) FROM (SELECT 1 FROM {due} AND lane = {lane} LIMIT {DEPTH_CAP}) p) AS pending{lane}"
        ));
        parts.push(format!(
            "(SELECT count(*) FROM (SELECT 1 FROM {leased} AND lane = {lane} LIMIT {DEPTH_CAP}) f) AS in_flight{lane}"
        ));
        parts.push(format!(
            "(SELECT min(next_attempt_at) FROM {due} AND lane = {lane} AND next_attempt_at <= {now}) AS oldest{lane}"
        ));
    }
    format!("SELECT {}", parts.join(", "))
}

async fn refresh_queue_gauges(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let now = now_ms();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            queue_sql(backend),
            [now.into()],
        ))
        .await?
        .ok_or_else(|| sea_orm::DbErr::Custom("the queue depth query returned no row".into()))?;
    for (lane, label) in [(0, "0"), (1, "1")] {
        for status in [DeliveryStatus::Pending, DeliveryStatus::InFlight] {
            let n: i64 = row.try_get("", &format!("{status}{lane}"))?;
            gauge!(QUEUE_DEPTH, "lane" => label, "status" => status.as_str()).set(n as f64);
        }
        let oldest: Option<i64> = row.try_get("", &format!("oldest{lane}"))?;
        let age_ms = oldest.map_or(0, |due| (now - due).max(0));
        gauge!(QUEUE_OLDEST_DUE_AGE, "lane" => label).set(age_ms as f64 / 1000.0);
    }
    Ok(())
}

async fn scrape(exporter: web::Data<Exporter>) -> HttpResponse {
    exporter.respond().await
}

/// For `herald worker`: with `HERALD_METRICS` on, installs the recorder and serves
/// `GET /metrics` on `HERALD_METRICS_BIND` in the background (a worker has no web server).
/// Metrics on without an address: a warning, and nothing is recorded (nobody could read it).
/// Call it before the workers start, so their writers record into the installed recorder.
///
/// # Errors
/// The recorder cannot be installed or the address cannot be bound.
pub fn serve_for_worker(config: &Config, db: &DatabaseConnection) -> anyhow::Result<()> {
    if !config.metrics {
        return Ok(());
    }
    let Some(bind) = &config.metrics_bind else {
        tracing::warn!("HERALD_METRICS is on but HERALD_METRICS_BIND is unset: this worker serves no /metrics");
        return Ok(());
    };
    let exporter = web::Data::new(Exporter::install(db.clone())?);
    let server: Server = HttpServer::new(move || {
        App::new()
            .app_data(exporter.clone())
            .route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(bind)
    .with_context(|| format!("binding HERALD_METRICS_BIND {bind}"))?
    .run();
    tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "the /metrics server failed");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, Statement};

    use super::queue_sql;

    /// SQLite refuses an `INDEXED BY` it cannot use, so preparing the statement against the
    /// real schema proves every part reads `deliveries_due`.
    #[tokio::test]
    async fn the_queue_query_runs_on_the_due_index() {
        let mut opt = ConnectOptions::new("sqlite::memory:");
        opt.max_connections(1).min_connections(1).sqlx_logging(false);
        let db = Database::connect(opt).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        let backend = db.get_database_backend();
        let plan = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!("EXPLAIN QUERY PLAN {}", queue_sql(backend)),
                [0i64.into()],
            ))
            .await
            .unwrap();
        let details: Vec<String> = plan
            .iter()
            .map(|r| r.try_get::<String>("", "detail").unwrap())
            .collect();
        let reads: Vec<&String> = details.iter().filter(|d| d.contains("deliveries")).collect();
        assert_eq!(reads.len(), 6, "{details:#?}");
        assert!(
            reads
                .iter()
                .all(|d| d.starts_with("SEARCH deliveries USING COVERING INDEX deliveries_due")),
            "{details:#?}"
        );
    }
}
