//! Background work of a Herald process: the delivery workers (apalis over our own queue
//! backend), the batch closer and housekeeping. `herald serve` runs them beside the web server,
//! `herald worker` runs only them; any number of processes can share one PostgreSQL database.

mod deliver;
mod housekeeping;
mod webhooks;

pub use deliver::{WorkerState, deliver, message_id};
pub use webhooks::{Target, WebhookCache};

use std::time::Duration;

use apalis::prelude::{Monitor, ParallelizeExt, WorkerBuilder, WorkerBuilderExt};
use sea_orm::DatabaseConnection;

use herald_jobs::queue::DeliveryQueue;

use crate::timestamps::now_ms;

const BATCH_CLOSER_EVERY: Duration = Duration::from_millis(200);
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(300);

/// Runs the workers until `shutdown` completes; in-flight deliveries finish and unstarted
/// claims are handed back before this returns.
///
/// # Errors
/// A worker failed and the monitor stopped the others.
pub async fn run(
    state: WorkerState,
    queue: DeliveryQueue,
    concurrency: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let name = format!("herald-{}-{}", hostname(), std::process::id());
    let monitor = Monitor::new().register(move |run| {
        WorkerBuilder::new(format!("{name}-{run}"))
            .backend(queue.backend())
            .data(state.clone())
            .concurrency(concurrency)
            .parallelize(tokio::spawn)
            .build(deliver)
    });
    monitor
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await?;
    Ok(())
}

/// Closes batches whose max wait has passed, and wakes the workers for them.
pub async fn close_batches(db: DatabaseConnection, queue: DeliveryQueue) {
    let mut tick = tokio::time::interval(BATCH_CLOSER_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match crate::domain::batches::close_due(&db, now_ms()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(batches = n, "closed batches");
                queue.wake();
            }
            Err(e) => tracing::warn!(error = %e, "closing batches failed; retrying on the next tick"),
        }
    }
}

/// What the maintenance loop does and how often.
#[derive(Debug, Clone, Copy)]
pub struct Maintenance {
    /// Between two auto-disable checks.
    pub every: Duration,
    /// See [`crate::domain::deliveries::auto_disable`].
    pub auto_disable_after: Duration,
    /// See [`crate::domain::deliveries::purge_old`].
    pub retention: Duration,
}

/// Least time between two retention runs: purging is bounded work, but there is no hurry.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Auto-disables webhooks that only fail (every `m.every`) and purges old history (hourly).
/// Both are safe to run in several processes at once: each change re-checks its rows.
pub async fn maintenance(db: DatabaseConnection, m: Maintenance) {
    let mut tick = tokio::time::interval(m.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge: Option<tokio::time::Instant> = None;
    loop {
        tick.tick().await;
        match crate::domain::deliveries::auto_disable(&db, m.auto_disable_after).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(webhooks = n, "auto-disabled failing webhooks"),
            Err(e) => tracing::warn!(error = %e, "auto-disable check failed; retrying on the next tick"),
        }
        if last_purge.is_none_or(|t| t.elapsed() >= RETENTION_EVERY) {
            last_purge = Some(tokio::time::Instant::now());
            match crate::domain::deliveries::purge_old(&db, m.retention).await {
                Ok((0, 0)) => {}
                Ok((attempts, bodies)) => tracing::info!(attempts, bodies, "purged old delivery history"),
                Err(e) => tracing::warn!(error = %e, "retention purge failed; retrying in an hour"),
            }
        }
    }
}

/// Expired sessions, invitations and login-failure records.
pub async fn housekeeping(db: DatabaseConnection) {
    housekeeping::run(db, HOUSEKEEPING_EVERY, now_ms).await;
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".to_owned())
}
