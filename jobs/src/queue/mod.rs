//! The delivery queue: an apalis backend of our own over the `deliveries` table.
//!
//! Rows are inserted by Herald's own code (in the business transaction); the queue claims due
//! rows with everything needed to send them, hands them to a plain apalis worker, and the
//! backend's layer settles each outcome ([`crate::queue::attempt`], which also states the policy):
//!
//! ```text
//! let queue = DeliveryQueue::new(db.clone(), QueueConfig::for_concurrency(64));
//! WorkerBuilder::new(name).backend(queue.backend()).data(state).concurrency(64)
//!     .parallelize(tokio::spawn).build(deliver);
//! async fn deliver(d: ClaimedDelivery, state: Data<State>) -> Result<Outcome, BoxDynError> { .. }
//! ```
//!
//! Deliveries are at-least-once: a worker that dies after sending but before the outcome is
//! committed leaves the row `in_flight` until its lease expires, then it is sent again, so
//! receivers dedupe on `webhook-id`. Keep apalis' `.retry()` off (retries are table-driven and
//! must not hold a slot and a lease), and give the handler a `.timeout()` shorter than the lease.
//!
//! Waking: the enqueuing code calls [`DeliveryQueue::wake`] after its commit (same process);
//! on PostgreSQL it also runs [`notify_sql`] inside its transaction and every process runs
//! [`DeliveryQueue::listen_postgres`]. A poll every [`QueueConfig::poll`] covers the rest.

mod ask;
pub mod attempt;
mod backend;
pub(crate) mod budget;
mod cadence;
mod claim;
mod config;
pub(crate) mod fair;
pub(crate) mod fair_sql;
mod fast;
pub(crate) mod gate;
pub mod ops;
mod pacing;
mod slots;
mod sql;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sea_orm::{DatabaseConnection, DbBackend};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use backend::DeliveryBackend;
pub use config::{QueueConfig, parse_retry_schedule, retry_delay};
pub use pacing::{RATE_WINDOW, probe_interval};

pub(crate) use sql::{PG_BEGIN_PINNED, Pool};

/// The PostgreSQL channel the workers `LISTEN` on. Enqueuing code runs [`notify_sql`] inside
/// the transaction that inserts due rows: PostgreSQL delivers the notification only on commit
/// (so a worker never wakes before the rows are visible) and folds repeats within one
/// transaction, so send it once per transaction, not per row.
pub const NOTIFY_CHANNEL: &str = "deliveries";

/// `NOTIFY deliveries`: run it inside the enqueuing transaction on PostgreSQL (see
/// [`NOTIFY_CHANNEL`]). SQLite has no equivalent; there [`DeliveryQueue::wake`] and the poll
/// fallback do the job.
#[must_use]
pub fn notify_sql() -> &'static str {
    "NOTIFY deliveries"
}

/// The part of a `deliveries` row a worker needs to make an attempt, with the current version
/// of its webhook, so the handler can send from a cached copy without reading anything.
/// Produced only by a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// `deliveries.id`.
    pub id: i64,
    /// This attempt's number (1-based): the attempts recorded so far, plus one.
    pub attempt: i32,
    /// The lease this claim set (unix ms). It fences the outcome, so a late outcome of an
    /// expired claim cannot overwrite a newer one.
    pub lease_until: i64,
    /// Owning account.
    pub account_id: i64,
    /// Target webhook.
    pub webhook_id: i64,
    /// `webhooks.version` at the claim (`None`: the webhook is gone).
    pub webhook_version: Option<i64>,
    /// `scheduled`, `manual` or `test`.
    pub trigger: String,
    /// 0 = first attempt, 1 = retry.
    pub lane: i32,
    /// The frozen request body (read by the claim itself, so the handler needs no second
    /// query); shared with the attempt row that records it. `None` only for rows that never got one.
    pub body: Option<Arc<str>>,
}

/// What can go wrong in the queue itself (handler errors are outcomes, not queue errors).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A statement failed. The backend logs these and retries (claims after a poll interval,
    /// settling a few times, then the lease); they never end a worker.
    #[error("delivery queue database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The connection is neither SQLite nor PostgreSQL: the worker stops with this error.
    #[error("the delivery queue runs on SQLite or PostgreSQL, not {0:?}")]
    UnsupportedBackend(DbBackend),
    /// Outcomes could not be encoded as JSON (SQLite); cannot happen for numbers and strings,
    /// reported rather than unwrapped.
    #[error("could not encode delivery outcomes: {0}")]
    Encode(#[from] serde_json::Error),
    /// The task running a claim panicked or was cancelled (a runtime shutting down).
    #[error("the claim task did not finish: {0}")]
    ClaimTask(#[from] tokio::task::JoinError),
}

/// A handle on the delivery queue of one database, cheap to clone and shared by the web side
/// (to [`wake`](Self::wake) workers) and the workers (each takes a [`backend`](Self::backend)).
#[derive(Clone)]
pub struct DeliveryQueue {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    pool: Pool,
    notify: Arc<Notify>,
    cfg: QueueConfig,
    /// Lane-1 rows claimed and not yet settled, across all backends of this queue.
    retries: Arc<AtomicUsize>,
    /// The per-webhook send gates of this process (the in-flight cap, [`gate`]).
    gates: Arc<gate::Gates>,
    /// This process's name in `delivery_slots.claimer`: random, so processes never share one.
    claimer: i64,
}

impl fmt::Debug for DeliveryQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryQueue")
            .field("backend", &self.inner.db.get_database_backend())
            .field("cfg", &self.inner.cfg)
            .field("retries_in_flight", &self.retries_in_flight())
            .finish_non_exhaustive()
    }
}

impl DeliveryQueue {
    /// A queue over `db`'s `deliveries` table, reusing sea-orm's sqlx pool (no extra
    /// connections). Only SQLite and PostgreSQL are supported; on another backend the workers
    /// stop at their first poll with [`QueueError::UnsupportedBackend`].
    #[must_use]
    pub fn new(db: DatabaseConnection, cfg: QueueConfig) -> Self {
        let pool = match db.get_database_backend() {
            DbBackend::Sqlite => Pool::Sqlite(db.get_sqlite_connection_pool().clone()),
            DbBackend::Postgres => Pool::Postgres(db.get_postgres_connection_pool().clone()),
            other => Pool::Unsupported(other),
        };
        let inner = Inner {
            db,
            pool,
            notify: Arc::new(Notify::new()),
            cfg,
            retries: Arc::new(AtomicUsize::new(0)),
            gates: Arc::default(),
            claimer: getrandom::u64().map_or_else(
                |_| i64::from(std::process::id()),
                |n| i64::try_from(n >> 1).unwrap_or(0),
            ),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Wakes one idle worker to claim now. Call it right after committing new due rows. If no
    /// worker is waiting, the wake-up is kept for the next one, so it cannot be lost in a race
    /// with a claim that just found nothing.
    pub fn wake(&self) {
        self.inner.notify.notify_one();
    }

    /// Starts a task that `LISTEN`s on [`NOTIFY_CHANNEL`] over a connection of its own (not one
    /// of the pool's) and [`wake`](Self::wake)s a worker on every notification — and after a
    /// reconnect, since notifications may have been lost meanwhile. PostgreSQL only; abort the
    /// handle at shutdown.
    ///
    /// # Errors
    /// The first connection or the `LISTEN` failed; later failures are logged and retried.
    pub async fn listen_postgres(&self, database_url: &str) -> Result<JoinHandle<()>, sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect(database_url).await?;
        listener.listen(NOTIFY_CHANNEL).await?;
        let notify = Arc::clone(&self.inner.notify);
        Ok(tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(_) | None) => notify.notify_one(),
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN deliveries failed; reconnecting in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        notify.notify_one();
                    }
                }
            }
        }))
    }

    /// A fresh apalis backend for one worker (call it in the `Monitor` factory, once per
    /// worker start). It implements `Backend` + `BackendConfig` with `Kind = Ephemeral`,
    /// `Args = ClaimedDelivery` and the [`SettleLayer`](crate::queue::attempt::SettleLayer) as its layer.
    #[must_use]
    pub fn backend(&self) -> DeliveryBackend {
        DeliveryBackend::new(self.clone())
    }

    /// The configuration this queue runs with.
    #[must_use]
    pub fn config(&self) -> &QueueConfig {
        &self.inner.cfg
    }

    /// The send gates of this process.
    pub(crate) fn gates(&self) -> &Arc<gate::Gates> {
        &self.inner.gates
    }

    /// This process's name in `delivery_slots.claimer`.
    pub(crate) fn claimer(&self) -> i64 {
        self.inner.claimer
    }

    /// The sqlx pool the queue writes through.
    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Retries (lane 1) claimed by this process and not yet settled; bounded by
    /// [`QueueConfig::max_retry_in_flight`].
    #[must_use]
    pub fn retries_in_flight(&self) -> usize {
        self.inner.retries.load(Ordering::Acquire)
    }
}

/// Now as unix milliseconds, the unit of every timestamp column of `deliveries`.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
