//! A fresh database per test: a temp SQLite file, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` is set (created here, dropped when the test ends).

use sea_orm::{ConnectionTrait, Database};

/// One test's database.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteDir(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Creates the database.
    ///
    /// # Panics
    /// When PostgreSQL is configured but unreachable: the run must not silently fall back.
    pub async fn create() -> TestDb {
        Self::create_for(false).await
    }

    /// As [`TestDb::create`]; `require_postgres` refuses to fall back to SQLite.
    ///
    /// # Panics
    /// When PostgreSQL is required but `TEST_DATABASE_URL` is unset or unreachable.
    pub async fn create_for(require_postgres: bool) -> TestDb {
        let url = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
        assert!(
            url.is_some() || !require_postgres,
            "set TEST_DATABASE_URL to a PostgreSQL database"
        );
        match url {
            Some(admin_url) => {
                let name = crate::unique("herald_test").replace('-', "_");
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .expect("TEST_DATABASE_URL is reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("CREATE DATABASE");
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                TestDb {
                    url: url.to_string(),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
            None => {
                let dir = std::env::temp_dir().join(crate::unique("herald-test"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.join("herald.db").display());
                TestDb {
                    url,
                    cleanup: Cleanup::SqliteDir(dir),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                std::fs::remove_dir_all(dir).ok();
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: do the async cleanup on a thread of its own.
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
