//! Building and running the application: the web server and the background workers as sibling
//! tasks; when either stops, the process says which one and stops too.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::watch;

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

    /// Runs until `stop` turns true; in-flight deliveries finish first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
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
        tokio::select! {
            () = worker::run(self.state, self.queue.clone(), self.concurrency, shutdown) => {}
            () = worker::close_batches(self.db.clone(), self.queue) => {}
            () = worker::maintenance(self.db.clone(), self.maintenance) => {}
            () = worker::housekeeping(self.db) => {}
        }
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
        let mut background = tokio::spawn(async move {
            match self.background {
                Some(b) => b.run(stopped).await,
                None => std::future::pending().await,
            }
        });
        tokio::select! {
            res = self.server => { report("web server", &res); res?; }
            _ = &mut background => tracing::error!("background workers stopped"),
            () = shutdown_signal() => {
                tracing::info!("shutting down");
                stop.send(true).ok();
                handle.stop(true).await;
                background.await.ok();
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
        _ = &mut run => tracing::error!("background workers stopped"),
        () = shutdown_signal() => {
            tracing::info!("shutting down");
            stop.send(true).ok();
            run.await.ok();
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
        let _ = ctrl_c.await;
    }
}
