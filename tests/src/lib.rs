//! Test harness: starts the real Herald (the same `Application` that `herald serve` runs) on
//! `127.0.0.1:0` with a fresh database, and drives it over HTTP and in headless Chromium.
//!
//! Database: a [`ThrowawayDb`], a temporary SQLite file or — when `TEST_DATABASE_URL` points at
//! PostgreSQL — a database created for the test and dropped after it.

pub mod browser;
pub mod explain;
pub mod fixtures;
pub mod http;
pub mod process;
pub mod receiver;

use std::time::Duration;

use herald::config::Config;
use herald::crypto::SecretKey;
use herald::startup::Application;
use migration::testing::ThrowawayDb;

pub use http::Session;

/// A running Herald with its own database; stopped and cleaned up when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    config: Config,
    db: ThrowawayDb,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// A second Herald web server on a [`TestApp`]'s database, as `herald serve --no-workers` in
/// another process would be (or `herald serve`, from [`TestApp::spawn_worker_peer`]): its own
/// caches, connections, queue and port, the same rows. Stopped when dropped.
pub struct Peer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    /// Starts Herald with workers, on a fresh database.
    ///
    /// # Panics
    /// When the database or the server cannot be set up: the test cannot run.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts Herald with the test defaults changed by `adjust`. The defaults allow private
    /// targets (the receiver is on 127.0.0.1) and make five attempts: at once, then after 50,
    /// 100, 150 and 200 ms.
    ///
    /// # Panics
    /// As [`TestApp::spawn`].
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        herald::telemetry::init_with_default("warn");
        let db = ThrowawayDb::create().await;
        let mut config = Config {
            database_url: db.url().to_owned(),
            bind: "127.0.0.1:0".into(),
            base_url: None,
            secret_key: SecretKey::generate(),
            session_ttl_hours: 24,
            workers: 16,
            retry_schedule: [0, 50, 100, 150, 200].into_iter().map(Duration::from_millis).collect(),
            lease: Duration::from_secs(60),
            allow_private_targets: true,
            auto_disable_after: Duration::from_secs(120 * 3600),
            retention_days: 30,
            maintenance_every: Duration::from_secs(60),
            metrics: false,
            metrics_bind: None,
            sqlite_max_pages: None,
            client_timeouts: herald::config::ClientTimeouts::default(),
            ingest_events_per_second: 10_000,
            breaker_after: 10,
            breaker_probe: Duration::from_millis(500),
            breaker_probe_max: Duration::from_secs(2),
        };
        adjust(&mut config);
        let app = Application::build(config.clone(), true).await.expect("Herald starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            config,
            db,
            server,
        }
    }

    /// Starts a [`Peer`] on this app's database.
    ///
    /// # Panics
    /// When it cannot start.
    pub async fn spawn_peer(&self) -> Peer {
        self.peer(false).await
    }

    /// Starts a [`Peer`] with its own delivery workers on this app's database.
    ///
    /// # Panics
    /// When it cannot start.
    pub async fn spawn_worker_peer(&self) -> Peer {
        self.peer(true).await
    }

    async fn peer(&self, with_workers: bool) -> Peer {
        let app = Application::build(self.config.clone(), with_workers)
            .await
            .expect("the peer starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(app.run_until_stopped());
        Peer { base, server }
    }

    /// A new browser-like HTTP client with its own cookie jar (one per simulated person).
    #[must_use]
    pub fn session(&self) -> Session {
        Session::new(&self.base)
    }

    /// The database URL this app runs on (for assertions that look at stored rows).
    #[must_use]
    pub fn database_url(&self) -> &str {
        self.db.url()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Peer {
    /// A new browser-like HTTP client for the peer.
    #[must_use]
    pub fn session(&self) -> Session {
        Session::new(&self.base)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Makes a name or email unique within a test run: `ann@example.com` → `ann-1a2b3c4d@example.com`.
///
/// # Panics
/// If the OS has no randomness.
#[must_use]
pub fn unique(base: &str) -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("OS randomness");
    let suffix = hex::encode(b);
    match base.split_once('@') {
        Some((local, domain)) => format!("{local}-{suffix}@{domain}"),
        None => format!("{base}-{suffix}"),
    }
}
