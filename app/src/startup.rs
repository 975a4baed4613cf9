//! Building and running the application: the web server and the background workers as sibling
//! tasks; when either stops, the process says which one and stops too.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;
use sea_orm::DatabaseConnection;
use utoipa_actix_web::AppExt;

use crate::config::Config;
use crate::db;
use crate::web::{AppState, routes};

const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(300);

/// A built, bound, not yet running Herald.
pub struct Application {
    port: u16,
    base_url: String,
    server: Server,
    db: DatabaseConnection,
    with_workers: bool,
}

impl Application {
    /// Connects, migrates and binds (`HERALD_BIND`; port 0 picks a free port).
    ///
    /// # Errors
    /// Database or bind failures.
    pub async fn build(config: Config, with_workers: bool) -> anyhow::Result<Self> {
        let db = db::connect_and_migrate(&config.database_url)
            .await
            .context("opening the database")?;
        let listener = TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
        let addr = listener.local_addr()?;
        let base_url = config.base_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let state = AppState {
            db: db.clone(),
            key: config.secret_key.clone(),
            secrets: Arc::new(config.secret_key.secret_box()),
            secure_cookies: base_url.starts_with("https://"),
            base_url: Arc::from(base_url.as_str()),
            session_ttl_hours: config.session_ttl_hours,
            openapi_json: Arc::from(crate::web::api::openapi().to_json()?.as_str()),
        };
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms"))
                .into_utoipa_app()
                .service(utoipa_actix_web::scope("/api/v1").configure(crate::web::api::routes))
                .into_app()
                .configure(routes)
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(10)
        .run();
        Ok(Self {
            port: addr.port(),
            base_url,
            server,
            db,
            with_workers,
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
        let workers = async {
            if self.with_workers {
                workers(self.db.clone()).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            res = self.server => { report("web server", &res); res?; }
            () = workers => tracing::error!("background workers stopped"),
            () = shutdown_signal() => {
                tracing::info!("shutting down");
                handle.stop(true).await;
            }
        }
        Ok(())
    }
}

/// `herald worker`: background work only.
///
/// # Errors
/// The database cannot be opened.
pub async fn run_workers(config: Config) -> anyhow::Result<()> {
    let db = db::connect_and_migrate(&config.database_url)
        .await
        .context("opening the database")?;
    tokio::select! {
        () = workers(db) => tracing::error!("background workers stopped"),
        () = shutdown_signal() => tracing::info!("shutting down"),
    }
    Ok(())
}

async fn workers(db: DatabaseConnection) {
    herald_jobs::housekeeping::run(db, HOUSEKEEPING_EVERY, db::now_ms).await;
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
