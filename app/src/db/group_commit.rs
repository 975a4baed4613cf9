//! Group commit: the small writes of many concurrent callers (one ingest request, one attempt
//! log row) applied by one task in one transaction.
//!
//! Why: SQLite has one write lock, and every statement of a transaction is a round trip to the
//! connection's thread. A transaction per caller hands the lock from caller to caller (on SQLite
//! through a sleeping busy handler) and pays `BEGIN`/`COMMIT` each time; one writer that takes
//! whatever has queued up while it was busy pays them once per group and shares the reads and
//! multi-row inserts of the group. On PostgreSQL it saves commits (and WAL flushes) the same way.
//!
//! Contract: [`GroupCommit::submit`] returns only after the transaction holding the job has
//! committed (or failed), so an acknowledgement built on its result is on disk. If the group
//! fails (an error, or a panic in the work, which is contained), every job of it is run again
//! alone, so one bad job never fails the others and the writer keeps running.
//!
//! Every transaction a writer runs (committed or not, groups and retries alone) is recorded in
//! `herald_group_commit_size` and `herald_group_commit_seconds`, labelled with its
//! [`GroupWork::NAME`] (see [`crate::metrics`]).
//!
//! The writer knows nothing of what it stores: the work (ingest's is in `domain::ingest`) is a
//! [`GroupWork`] with its own job, output and error types.

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Instant;

use futures_util::FutureExt;
use herald_jobs::can_fail::CanFail;
use metrics::{Histogram, histogram};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use tokio::sync::{mpsc, oneshot};

use super::begin_write;

/// A boxed future borrowing the transaction and the jobs.
pub type GroupFuture<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// What a group writer does with the jobs of one transaction.
pub trait GroupWork: Send + Sync + 'static {
    /// The writer's name, the `writer` label of its metrics (`ingest`; the delivery engine's settle loop records `settle` itself).
    const NAME: &'static str;

    type Job: Send + Sync + 'static;
    type Output: Send + 'static;
    /// A job's failure; the writer's own (the database, a contained panic) arrive as `DbErr`.
    type Error: From<DbErr> + Display + Send + 'static;

    /// Applies `jobs` inside `txn` and returns one output per job, in order. An error rolls
    /// the whole group back (the writer then retries each job alone).
    fn apply<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        jobs: &'a [Self::Job],
    ) -> GroupFuture<'a, Vec<Self::Output>, Self::Error>;
}

type Outcome<W> = Result<<W as GroupWork>::Output, <W as GroupWork>::Error>;
type Reply<W> = oneshot::Sender<Outcome<W>>;

/// A handle to a running group writer; cheap to clone.
pub struct GroupCommit<W: GroupWork> {
    tx: mpsc::Sender<(W::Job, Reply<W>)>,
}

impl<W: GroupWork> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        Self { tx: self.tx.clone() }
    }
}

impl<W: GroupWork> GroupCommit<W> {
    /// Spawns the writer on the current runtime. At most `max_group` jobs share a transaction;
    /// the writer stops when every handle is dropped.
    #[must_use]
    pub fn start(db: DatabaseConnection, work: W, max_group: usize) -> Self {
        let (tx, rx) = mpsc::channel(max_group * 4);
        tokio::spawn(run(db, work, rx, max_group));
        Self { tx }
    }

    /// Queues `job` and waits until its transaction has committed.
    ///
    /// # Errors
    /// The job's own error, a database failure (nothing of the job was stored), or the writer
    /// has stopped.
    pub async fn submit(&self, job: W::Job) -> Outcome<W> {
        let stopped = || DbErr::Custom("the database writer has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.tx.send((job, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run<W: GroupWork>(
    db: DatabaseConnection,
    work: W,
    mut rx: mpsc::Receiver<(W::Job, Reply<W>)>,
    max_group: usize,
) {
    let stats = Stats {
        size: histogram!(crate::metrics::GROUP_COMMIT_SIZE, "writer" => W::NAME),
        seconds: histogram!(crate::metrics::GROUP_COMMIT_SECONDS, "writer" => W::NAME),
    };
    let mut queued = Vec::with_capacity(max_group);
    while rx.recv_many(&mut queued, max_group).await > 0 {
        let (jobs, replies): (Vec<_>, Vec<_>) = queued.drain(..).unzip();
        match commit(&db, &work, &jobs, &stats).await {
            Ok(outputs) => {
                for (reply, output) in replies.into_iter().zip(outputs) {
                    answer::<W>(reply, Ok(output));
                }
            }
            Err(e) if jobs.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    answer::<W>(reply, Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, jobs = jobs.len(), "group commit failed; retrying each job alone");
                for (job, reply) in jobs.iter().zip(replies) {
                    let alone = commit(&db, &work, std::slice::from_ref(job), &stats).await;
                    let output = alone.and_then(|mut outputs| {
                        outputs
                            .pop()
                            .ok_or_else(|| DbErr::Custom("a group writer returned no output".into()).into())
                    });
                    answer::<W>(reply, output);
                }
            }
        }
    }
}

/// Hands a job's result to its caller. The caller may have gone (its client disconnected): the
/// job's transaction has ended either way, so there is nobody left to tell.
fn answer<W: GroupWork>(reply: Reply<W>, result: Outcome<W>) {
    reply
        .send(result)
        .map_err(|_| "the caller stopped waiting")
        .can_fail("a group-commit caller may go away before its job commits");
}

/// A writer's metrics, registered once when it starts.
struct Stats {
    size: Histogram,
    seconds: Histogram,
}

/// Runs `jobs` in one transaction and records its size and time, whatever its outcome.
async fn commit<W: GroupWork>(
    db: &DatabaseConnection,
    work: &W,
    jobs: &[W::Job],
    stats: &Stats,
) -> Result<Vec<W::Output>, W::Error> {
    let started = Instant::now();
    let result = transaction(db, work, jobs).await;
    stats.size.record(jobs.len() as f64);
    stats.seconds.record(started.elapsed());
    result
}

/// Runs `jobs` in one transaction. A panic in the work is contained: the transaction rolls
/// back and the group fails like on an error, so the writer keeps serving later jobs.
async fn transaction<W: GroupWork>(
    db: &DatabaseConnection,
    work: &W,
    jobs: &[W::Job],
) -> Result<Vec<W::Output>, W::Error> {
    let txn = begin_write(db).await?;
    let outputs = AssertUnwindSafe(work.apply(&txn, jobs))
        .catch_unwind()
        .await
        .map_err(|_| DbErr::Custom("the group writer panicked; the group was rolled back".into()))??;
    if outputs.len() != jobs.len() {
        return Err(DbErr::Custom("a group writer returned the wrong number of outputs".into()).into());
    }
    txn.commit().await?;
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures_util::future::join_all;
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, Statement};

    use super::*;

    /// Inserts each job's value into `t`; a negative value fails. Records each group's size.
    struct Insert {
        groups: Arc<Mutex<Vec<usize>>>,
    }

    impl GroupWork for Insert {
        const NAME: &'static str = "test";
        type Job = i64;
        type Output = i64;
        type Error = DbErr;

        fn apply<'a>(&'a self, txn: &'a DatabaseTransaction, jobs: &'a [i64]) -> GroupFuture<'a, Vec<i64>, DbErr> {
            Box::pin(async move {
                self.groups.lock().unwrap().push(jobs.len());
                for &v in jobs {
                    assert_ne!(v, 0, "a job of 0 panics");
                    if v < 0 {
                        return Err(DbErr::Custom("negative".into()));
                    }
                    txn.execute_raw(Statement::from_sql_and_values(
                        txn.get_database_backend(),
                        "INSERT INTO t (v) VALUES (?)",
                        [v.into()],
                    ))
                    .await?;
                }
                Ok(jobs.to_vec())
            })
        }
    }

    async fn setup() -> (DatabaseConnection, GroupCommit<Insert>, Arc<Mutex<Vec<usize>>>) {
        let mut opt = ConnectOptions::new("sqlite::memory:");
        opt.max_connections(1).min_connections(1).sqlx_logging(false);
        let db = Database::connect(opt).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (v INTEGER NOT NULL)")
            .await
            .unwrap();
        let groups = Arc::new(Mutex::new(Vec::new()));
        let writer = GroupCommit::start(db.clone(), Insert { groups: groups.clone() }, 64);
        (db, writer, groups)
    }

    async fn stored(db: &DatabaseConnection) -> Vec<i64> {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT v FROM t ORDER BY v",
            ))
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get::<i64>("", "v").unwrap()).collect()
    }

    #[tokio::test]
    async fn jobs_queued_together_share_one_transaction_and_are_stored_when_submit_returns() {
        let (db, writer, groups) = setup().await;
        let outputs = join_all((1..=50).map(|v| writer.submit(v))).await;
        assert!(outputs.iter().all(Result::is_ok));
        assert_eq!(*groups.lock().unwrap(), [50], "one transaction for the 50 queued jobs");
        assert_eq!(stored(&db).await, (1..=50).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_failing_job_fails_alone_and_the_rest_of_its_group_is_stored() {
        let (db, writer, groups) = setup().await;
        let outputs = join_all([1, 2, -3, 4].map(|v| writer.submit(v))).await;
        let ok: Vec<i64> = outputs.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(ok, [1, 2, 4]);
        assert!(
            matches!(&outputs[2], Err(DbErr::Custom(m)) if m == "negative"),
            "{:?}",
            outputs[2]
        );
        assert_eq!(
            *groups.lock().unwrap(),
            [4, 1, 1, 1, 1],
            "the group rolled back, then each job ran alone"
        );
        assert_eq!(
            stored(&db).await,
            [1, 2, 4],
            "nothing of the failed group attempt remains"
        );
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_writer_keeps_serving() {
        let (db, writer, _) = setup().await;
        let outputs = join_all([1, 0, 2].map(|v| writer.submit(v))).await;
        assert!(outputs[0].is_ok() && outputs[2].is_ok(), "{outputs:?}");
        assert!(
            matches!(&outputs[1], Err(DbErr::Custom(m)) if m.contains("panicked")),
            "{:?}",
            outputs[1]
        );
        assert_eq!(writer.submit(3).await.unwrap(), 3, "the writer is still running");
        assert_eq!(stored(&db).await, [1, 2, 3]);
    }
}
