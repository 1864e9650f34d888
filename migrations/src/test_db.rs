//! Fresh databases for storage tests, on both backends, migrated by the same code production
//! uses. SQLite: a new file in a new temporary directory. PostgreSQL: a new database on the server
//! named by `MATURITY_TEST_POSTGRES_URL` (which `make test` and CI set); when that variable is
//! absent the test fails with a message saying so, it is never skipped.

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

use crate::Migrator;

/// The environment variable with the PostgreSQL server URL for tests.
pub const POSTGRES_URL_VAR: &str = "MATURITY_TEST_POSTGRES_URL";

/// Which backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// Both backends, for tests that loop over them.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// A fresh, empty database. Dropped with the value (the PostgreSQL database is dropped too).
#[derive(Debug)]
pub struct TestDb {
    /// Connection URL: `sqlite://` and a file in a temporary directory, or the test server's URL
    /// naming this database.
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Dir(std::path::PathBuf),
    Database { server: String, name: String },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// The PostgreSQL server URL for tests, or a panic that says how to set it.
pub fn postgres_server() -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set: storage tests run on PostgreSQL too and are not skipped. \
             Set it to a server URL, for example postgres://postgres@127.0.0.1:5432/postgres \
             (`make test` sets that default)."
        )
    })
}

fn replace_database(url: &str, name: &str) -> String {
    match url.rfind('/') {
        Some(i) if url[..i].contains("://") && i > url.find("://").map_or(0, |j| j + 2) => {
            let rest = &url[i + 1..];
            let query = rest.find('?').map_or("", |q| &rest[q..]);
            format!("{}/{name}{query}", &url[..i])
        }
        _ => format!("{}/{name}", url.trim_end_matches('/')),
    }
}

impl TestDb {
    /// A fresh, empty (unmigrated) database.
    pub async fn empty(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(unique("maturity_test"));
                std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
                let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
                TestDb { url, backend, cleanup: Cleanup::Dir(dir) }
            }
            Backend::Postgres => {
                let server = postgres_server();
                let name = unique("maturity_test");
                let admin = Database::connect(server.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {server}: {e}"));
                admin
                    .execute_raw(Statement::from_string(DbBackend::Postgres, format!("CREATE DATABASE \"{name}\"")))
                    .await
                    .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
                let _ = admin.close().await;
                let url = replace_database(&server, &name);
                TestDb { url, backend, cleanup: Cleanup::Database { server, name } }
            }
        }
    }

    /// A fresh database with every migration applied.
    pub async fn migrated(backend: Backend) -> (TestDb, DatabaseConnection) {
        let db = TestDb::empty(backend).await;
        let conn = db.connect().await;
        Migrator::up(&conn, None).await.unwrap_or_else(|e| panic!("migrations failed on {backend:?}: {e}"));
        (db, conn)
    }

    /// A new connection to it.
    pub async fn connect(&self) -> DatabaseConnection {
        let mut options = ConnectOptions::new(self.url.clone());
        options.sqlx_logging(false).max_connections(8);
        Database::connect(options).await.unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.url))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { server, name } => {
                let (server, name) = (server.clone(), name.clone());
                // Drop runs inside or outside a runtime; a thread with its own runtime works in both.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(server.as_str()).await {
                            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                            let _ = admin.execute_raw(Statement::from_string(DbBackend::Postgres, sql)).await;
                            let _ = admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}
