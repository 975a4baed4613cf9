//! Throwaway databases for tests (cargo feature `testing`): a fresh SQLite file in a temporary
//! directory, or — when `TEST_DATABASE_URL` names a PostgreSQL server — a fresh database created
//! on it. Dropping the value deletes the file or drops the database.
//!
//! One implementation for the queue's tests in `herald-jobs` and the black-box tests in
//! `herald-tests`; it lives here because both already depend on this crate and neither may
//! depend on the other.

use sea_orm_migration::sea_orm::{ConnectionTrait, Database};

/// The variable naming the PostgreSQL server to test on (a URL to any database on it: that one
/// is only used to create and drop each test's own). Unset or empty means SQLite.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// One test's empty database, deleted or dropped when this is dropped. Not migrated: whoever
/// connects runs the migrations (Herald does at startup).
pub struct ThrowawayDb {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteDir(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl ThrowawayDb {
    /// A PostgreSQL database when `TEST_DATABASE_URL` is set, else a SQLite file.
    ///
    /// # Panics
    /// When PostgreSQL is configured but unreachable: a run must not silently fall back.
    pub async fn create() -> ThrowawayDb {
        match postgres_server() {
            Some(admin_url) => Self::postgres(admin_url).await,
            None => Self::sqlite(),
        }
    }

    /// A PostgreSQL database, for tests that only mean something there.
    ///
    /// # Panics
    /// When `TEST_DATABASE_URL` is unset or unreachable.
    pub async fn postgres_required() -> ThrowawayDb {
        let admin_url = postgres_server().expect("set TEST_DATABASE_URL to a PostgreSQL database");
        Self::postgres(admin_url).await
    }

    /// A SQLite file in a directory of its own under the system's temporary directory.
    ///
    /// # Panics
    /// When the directory cannot be created.
    #[must_use]
    pub fn sqlite() -> ThrowawayDb {
        let dir = std::env::temp_dir().join(unique_name().replace('_', "-"));
        std::fs::create_dir_all(&dir).expect("a temporary directory for the test database");
        ThrowawayDb {
            url: format!("sqlite://{}?mode=rwc", dir.join("herald.db").display()),
            cleanup: Cleanup::SqliteDir(dir),
        }
    }

    /// A database created on the PostgreSQL server of `admin_url`.
    ///
    /// # Panics
    /// When the server is unreachable or refuses `CREATE DATABASE`.
    pub async fn postgres(admin_url: String) -> ThrowawayDb {
        let name = unique_name();
        let admin = Database::connect(admin_url.as_str())
            .await
            .expect("TEST_DATABASE_URL is reachable");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        admin.close().await.expect("closing the admin connection");
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        ThrowawayDb {
            url: url.to_string(),
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// The URL to connect to (`sqlite://…?mode=rwc` or `postgres://…/herald_test_…`).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The PostgreSQL server of `TEST_DATABASE_URL`, when set and not empty.
#[must_use]
pub fn postgres_server() -> Option<String> {
    std::env::var(TEST_DATABASE_URL).ok().filter(|u| !u.is_empty())
}

/// `herald_test_<16 hex digits>`: a valid PostgreSQL identifier that no other test picks.
fn unique_name() -> String {
    format!("herald_test_{:016x}", getrandom::u64().expect("OS randomness"))
}

impl Drop for ThrowawayDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                // Best effort: a leftover file in the temporary directory harms no later test.
                std::fs::remove_dir_all(dir).ok();
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: the async cleanup gets a thread of its own.
                // Best effort, like the SQLite case: a database left behind only takes disk space.
                let done = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    rt.block_on(async {
                        let admin = Database::connect(admin_url.as_str()).await.ok()?;
                        admin
                            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await
                            .ok()?;
                        admin.close().await.ok()
                    })
                });
                done.join().ok();
            }
        }
    }
}
