//! Building and running the application: the web server and the background workers as sibling
//! tasks; when either stops, the process says which one and stops too.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::{Context, anyhow};
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::watch;
use tokio::task::{self, JoinError, JoinHandle, JoinSet};

use herald_jobs::can_fail::CanFail;
use herald_jobs::queue::{DeliveryQueue, QueueConfig};
use herald_jobs::send::{Sender, SenderConfig};

use crate::config::Config;
use crate::db;
use crate::domain::credential_cache::CredentialCache;
use crate::domain::ingest::IngestWork;
use crate::domain::token_usage::TokenUsage;
use crate::metrics::Exporter;
use crate::web::{AppState, client_limits, routes};
use crate::worker::{self, WebhookCache, WorkerState};

/// A built, bound, not yet running Herald.
pub struct Application {
    port: u16,
    base_url: String,
    server: Server,
    background: Option<Background>,
}

/// The background side of a process: delivery workers, batch closer, maintenance
/// (auto-disable, retention), housekeeping.
pub struct Background {
    db: DatabaseConnection,
    database_url: String,
    queue: DeliveryQueue,
    state: WorkerState,
    concurrency: usize,
    maintenance: worker::Maintenance,
}

/// The shared pool (migrated) and the writer connection of the hot write paths.
async fn open(config: &Config) -> anyhow::Result<(DatabaseConnection, DatabaseConnection)> {
    let db = db::connect_and_migrate(&config.database_url, config.sqlite_max_pages)
        .await
        .context("opening the database")?;
    let writer = db::connect_writer(&db, &config.database_url, config.sqlite_max_pages)
        .await
        .context("opening the database's writer connection")?;
    Ok((db, writer))
}

fn queue_for(db: &DatabaseConnection, config: &Config) -> DeliveryQueue {
    let cfg = QueueConfig {
        retry_schedule: config.retry_schedule.clone(),
        max_retry_in_flight: (config.workers / 2).max(1),
        lease: config.lease,
        breaker_after: config.breaker_after,
        probe_first: config.breaker_probe,
        probe_max: config.breaker_probe_max.max(config.breaker_probe),
        ..QueueConfig::default()
    };
    DeliveryQueue::new(db.clone(), cfg)
}

impl Background {
    /// Prepares the workers of a process.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(db: DatabaseConnection, queue: DeliveryQueue, config: &Config) -> anyhow::Result<Self> {
        let sender = Sender::new(SenderConfig {
            allow_private_targets: config.allow_private_targets,
            user_agent: format!("Herald/{}", env!("CARGO_PKG_VERSION")),
        })?;
        let state = WorkerState {
            db: db.clone(),
            sender,
            webhooks: Arc::new(WebhookCache::new(db.clone(), Arc::new(config.secret_key.secret_box()))),
        };
        Ok(Self {
            db,
            database_url: config.database_url.clone(),
            queue,
            state,
            concurrency: config.workers,
            maintenance: worker::Maintenance {
                every: config.maintenance_every,
                auto_disable_after: config.auto_disable_after,
                retention: Duration::from_secs(u64::from(config.retention_days) * 86_400),
            },
        })
    }

    /// Runs the loops until `stop` turns true (in-flight deliveries finish first) or until one
    /// of them ends on its own; the others are aborted. Returns the loop that ended and how.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> LoopEnd {
        if self.db.get_database_backend() == DbBackend::Postgres
            && let Err(e) = self.queue.listen_postgres(&self.database_url).await
        {
            tracing::warn!(error = %e, "LISTEN failed; workers fall back to polling");
        }
        let shutdown = async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        let mut loops = Loops::default();
        loops.spawn(
            "delivery workers",
            worker::run(self.state, self.queue.clone(), self.concurrency, shutdown),
        );
        let (db, queue) = (self.db.clone(), self.queue);
        loops.spawn("batch closer", async move {
            worker::close_batches(db, queue).await;
            Ok(())
        });
        let (db, maintenance) = (self.db.clone(), self.maintenance);
        loops.spawn("maintenance", async move {
            worker::maintenance(db, maintenance).await;
            Ok(())
        });
        loops.spawn("housekeeping", async move {
            worker::housekeeping(self.db).await;
            Ok(())
        });
        loops.first_to_end().await
    }
}

/// The background loops of a process, each its own task, by name; dropping this aborts them.
#[derive(Default)]
struct Loops {
    tasks: JoinSet<anyhow::Result<()>>,
    names: HashMap<task::Id, &'static str>,
}

impl Loops {
    fn spawn(&mut self, name: &'static str, run: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        let id = self.tasks.spawn(run).id();
        self.names.insert(id, name);
    }

    /// Waits for the first loop to end: it returned, failed or panicked.
    async fn first_to_end(&mut self) -> LoopEnd {
        let (id, result) = match self.tasks.join_next_with_id().await {
            Some(Ok((id, result))) => (id, result),
            Some(Err(e)) => (e.id(), Err(anyhow!("{}", died(e)))),
            None => {
                return LoopEnd {
                    name: "background",
                    result: Err(anyhow!("no loop was started")),
                };
            }
        };
        LoopEnd {
            name: self.names.get(&id).copied().unwrap_or("a background loop"),
            result,
        }
    }
}

/// Which background loop ended first, and how; [`Background::run`] returns it.
pub struct LoopEnd {
    /// `delivery workers`, `batch closer`, `maintenance` or `housekeeping`.
    pub name: &'static str,
    /// `Ok` when the loop returned; its error, or the panic it died of, otherwise.
    pub result: anyhow::Result<()>,
}

impl LoopEnd {
    /// Logs the end: at info when a shutdown asked for it and the loop returned, as an error
    /// otherwise (the process stops with it).
    fn report(self, shutting_down: bool) {
        let name = self.name;
        match self.result {
            Ok(()) if shutting_down => tracing::info!(background.task = name, "{name} stopped"),
            Ok(()) => tracing::error!(
                background.task = name,
                "{name} stopped unexpectedly; stopping the process"
            ),
            Err(e) => tracing::error!(
                background.task = name,
                error = format!("{e:#}"),
                "{name} failed; stopping the process"
            ),
        }
    }
}

/// How a task that did not return ended, for the log.
fn died(e: JoinError) -> String {
    match e.try_into_panic() {
        Ok(panic) => match panic.downcast_ref::<&str>() {
            Some(msg) => format!("panicked: {msg}"),
            None => match panic.downcast_ref::<String>() {
                Some(msg) => format!("panicked: {msg}"),
                None => "panicked".to_owned(),
            },
        },
        Err(e) => format!("{e}"),
    }
}

/// Reports how the task running [`Background::run`] ended.
fn report_background(ended: Result<LoopEnd, JoinError>, shutting_down: bool) {
    match ended {
        Ok(end) => end.report(shutting_down),
        Err(e) => tracing::error!(
            error = died(e),
            "the background workers' task died; stopping the process"
        ),
    }
}

/// Until the background task ends; never, when the process runs none.
async fn background_ended(task: &mut Option<JoinHandle<LoopEnd>>) -> Result<LoopEnd, JoinError> {
    match task {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

impl Application {
    /// Connects, migrates and binds (`HERALD_BIND`; port 0 picks a free port).
    ///
    /// # Errors
    /// Database or bind failures, or another metrics recorder installed first.
    pub async fn build(config: Config, with_workers: bool) -> anyhow::Result<Self> {
        let (db, writer) = open(&config).await?;
        // Installed before the queue and the writers exist, so handles they register record.
        let metrics = config.metrics.then(|| Exporter::install(db.clone())).transpose()?;
        let listener = TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
        let addr = listener.local_addr()?;
        let base_url = config.base_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let queue = queue_for(&writer, &config);
        let state = AppState {
            db: db.clone(),
            key: config.secret_key.clone(),
            secrets: Arc::new(config.secret_key.secret_box()),
            secure_cookies: base_url.starts_with("https://"),
            base_url: Arc::from(base_url.as_str()),
            session_ttl_hours: config.session_ttl_hours,
            queue: queue.clone(),
            ingestor: IngestWork::start(writer.clone()),
            credentials: CredentialCache::default(),
            token_usage: TokenUsage::start(db.clone()),
            openapi_json: Arc::from(routes::openapi().to_json()?.as_str()),
            metrics,
            quota: Arc::new(crate::domain::quota::IngestQuota::new(config.ingest_events_per_second)),
        };
        let data = web::Data::new(state);
        let timeouts = config.client_timeouts;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(middleware::from_fn(move |req, next| {
                    client_limits::body_deadline(timeouts.body, req, next)
                }))
                .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms"))
                .configure(routes::all)
        })
        .client_request_timeout(timeouts.head)
        .keep_alive(timeouts.keep_alive)
        .client_disconnect_timeout(client_limits::DISCONNECT_TIMEOUT)
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(10)
        .run();
        let background = if with_workers {
            Some(Background::new(db, queue, &config)?)
        } else {
            None
        };
        Ok(Self {
            port: addr.port(),
            base_url,
            server,
            background,
        })
    }

    /// The bound port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where the dashboard is served.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Runs until Ctrl-C / SIGTERM or until the server or the workers stop.
    ///
    /// # Errors
    /// The server failed.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let (stop, stopped) = watch::channel(false);
        let mut background = self.background.map(|b| tokio::spawn(b.run(stopped)));
        tokio::select! {
            res = self.server => { report("web server", &res); res?; }
            ended = background_ended(&mut background) => report_background(ended, false),
            () = shutdown_signal() => {
                tracing::info!("shutting down");
                stop.send(true).can_fail("the background workers may have stopped already");
                handle.stop(true).await;
                if let Some(task) = background {
                    report_background(task.await, true);
                }
            }
        }
        Ok(())
    }
}

/// `herald worker`: background work only (and `/metrics` on `HERALD_METRICS_BIND` when on).
///
/// # Errors
/// The database cannot be opened, or the metrics address cannot be bound.
pub async fn run_workers(config: Config) -> anyhow::Result<()> {
    let (db, writer) = open(&config).await?;
    crate::metrics::serve_for_worker(&config, &db)?;
    let queue = queue_for(&writer, &config);
    let background = Background::new(db, queue, &config)?;
    let (stop, stopped) = watch::channel(false);
    let mut run = tokio::spawn(background.run(stopped));
    tokio::select! {
        ended = &mut run => report_background(ended, false),
        () = shutdown_signal() => {
            tracing::info!("shutting down");
            stop.send(true).can_fail("the background workers may have stopped already");
            report_background(run.await, true);
        }
    }
    Ok(())
}

fn report(what: &str, res: &std::io::Result<()>) {
    match res {
        Ok(()) => tracing::info!("{what} stopped"),
        Err(e) => tracing::error!(error = %e, "{what} failed"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        if let Err(e) = ctrl_c.await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C; shutting down");
        }
    }
}
