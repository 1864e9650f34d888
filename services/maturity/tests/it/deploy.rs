//! Deployment as an operator does it, on both backends: servers and `report-gen` commands started
//! together on an empty database (the schema applied once, every process running), migration as a
//! separate step (a program told not to migrate refuses a schema that is not its release's), and
//! operators' commands that find no database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use migrations::sea_orm::{ConnectionTrait, DbBackend, Statement};
use migrations::test_db::{BACKENDS, Backend, TestDb};

use crate::webhooks::Server;
use crate::{BIN, scratch};

/// The `report-gen` binary the workspace's test build makes beside `maturity`.
pub(crate) fn report_gen() -> PathBuf {
    let path = Path::new(BIN).with_file_name("report-gen");
    assert!(
        path.is_file(),
        "{} is missing: build the workspace's binaries (`cargo test --workspace` does)",
        path.display()
    );
    path
}

fn database_args(url: &str, dir: &Path) -> Vec<String> {
    vec!["--database-url".into(), url.into(), "--pseudonym-key-file".into(), dir.join("key").display().to_string()]
}

/// `maturity serve` on free ports; its first line of output is read on a thread, so that several
/// can start at once.
fn spawn_server(url: &str, dir: &Path, log: &Path, extra: &[&str]) -> (Server, std::thread::JoinHandle<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "off", "--admin-addr", "off"])
        .args(["--log-level", "warn,sea_orm_migration=info", "--drain-seconds", "2"])
        .args(database_args(url, dir))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = std::thread::spawn(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap_or_default();
        line
    });
    (Server(child), first)
}

/// A backend's SQL dialect.
fn dialect(backend: Backend) -> DbBackend {
    if backend == Backend::Sqlite { DbBackend::Sqlite } else { DbBackend::Postgres }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_processes_started_together_on_an_empty_database_apply_the_schema_once_and_all_run() {
    for backend in BACKENDS {
        let db = TestDb::empty(backend).await;
        let dir = scratch(&format!("six-{backend:?}"));
        let log = |name: &str| dir.join(format!("{name}.log"));
        // Four servers and two nightly batches, all started before any has opened the database.
        let mut servers = Vec::new();
        for i in 0..4 {
            servers.push(spawn_server(&db.url, &dir, &log(&format!("serve-{i}")), &[]));
        }
        let mut batches = Vec::new();
        for i in 0..2 {
            let child = Command::new(report_gen())
                .args(["nightly", "--date", "2026-12-01", "--out"])
                .arg(dir.join(format!("night-{i}")))
                .args(["--log-level", "warn,sea_orm_migration=info"])
                .args(["--database-url", &db.url])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(log(&format!("night-{i}"))).unwrap())
                .spawn()
                .unwrap();
            batches.push(child);
        }
        for (i, mut batch) in batches.into_iter().enumerate() {
            let status = batch.wait().unwrap();
            let err = std::fs::read_to_string(log(&format!("night-{i}"))).unwrap();
            assert!(status.success(), "{backend:?}: report-gen nightly {i}: {status}: {err}");
        }
        for (i, (server, first)) in servers.iter_mut().enumerate() {
            let line = std::mem::replace(first, std::thread::spawn(String::new)).join().unwrap();
            let err = std::fs::read_to_string(log(&format!("serve-{i}"))).unwrap();
            assert!(
                line.starts_with("maturity: gRPC listening on"),
                "{backend:?}: server {i} did not start: {line}{err}"
            );
            assert!(server.0.try_wait().unwrap().is_none(), "{backend:?}: server {i} exited: {err}");
        }
        for (mut server, _) in servers {
            assert!(Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap().success());
            assert_eq!(server.0.wait().unwrap().code(), Some(0), "{backend:?}");
        }

        // Each migration was applied by one process, once.
        let mut logs = String::new();
        for name in ["serve-0", "serve-1", "serve-2", "serve-3", "night-0", "night-1"] {
            logs.push_str(&std::fs::read_to_string(log(name)).unwrap());
        }
        let names: Vec<String> = <migrations::Migrator as migrations::MigratorTrait>::migrations()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        for name in &names {
            let applied = logs.matches(&format!("Applying migration '{name}'")).count();
            assert_eq!(applied, 1, "{backend:?}: {name} applied {applied} times:\n{logs}");
        }
        let conn = db.connect().await;
        assert_eq!(migrations::state(&conn).await.unwrap(), migrations::SchemaState::Current, "{backend:?}");
        let sql = "SELECT COUNT(*) AS n FROM seaql_migrations".to_string();
        let row = conn.query_one_raw(Statement::from_string(dialect(backend), sql)).await.unwrap().unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), names.len() as i64, "{backend:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn told_not_to_migrate_a_program_refuses_an_older_or_newer_schema_with_exit_75() {
    for backend in BACKENDS {
        let db = TestDb::empty(backend).await;
        let dir = scratch(&format!("no-migrate-{backend:?}"));
        // A database an earlier release left: six of the migrations.
        let conn = db.connect().await;
        <migrations::Migrator as migrations::MigratorTrait>::up(&conn, Some(6)).await.unwrap();
        let older = migrations::state(&conn).await.unwrap();
        assert!(matches!(&older, migrations::SchemaState::Older(p) if p.len() > 1), "{backend:?}: {older:?}");

        let serve_once = |extra: &[&str]| {
            Command::new(BIN)
                .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "off", "--admin-addr", "off"])
                .args(database_args(&db.url, &dir))
                .args(extra)
                .output()
                .unwrap()
        };
        let out = serve_once(&["--migrate-on-start", "false"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(75), "{backend:?}: {err}");
        assert!(err.contains("older than this release") && err.contains("run `maturity migrate` first"), "{err}");
        let night = Command::new(report_gen())
            .args(["nightly", "--out"])
            .arg(dir.join("night"))
            .args(["--database-url", &db.url, "--migrate-on-start", "false"])
            .output()
            .unwrap();
        assert_eq!(night.status.code(), Some(75), "{backend:?}: {}", String::from_utf8_lossy(&night.stderr));
        // Refused means untouched: still the older schema.
        assert_eq!(migrations::state(&conn).await.unwrap(), older, "{backend:?}");

        // The deployment's first step; then a server that does not migrate starts.
        let out = Command::new(BIN).arg("migrate").args(database_args(&db.url, &dir)).output().unwrap();
        assert!(out.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&out.stderr));
        let (server, first) = spawn_server(&db.url, &dir, &dir.join("serve.log"), &["--migrate-on-start", "false"]);
        let line = first.join().unwrap();
        assert!(
            line.starts_with("maturity: gRPC listening on"),
            "{backend:?}: {line}{}",
            std::fs::read_to_string(dir.join("serve.log")).unwrap()
        );
        drop(server);

        // A later release migrated the database: this one neither serves nor migrates it.
        let later = "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m9999_a_later_release', 0)";
        conn.execute_raw(Statement::from_string(dialect(backend), later.to_string())).await.unwrap();
        for out in [serve_once(&["--migrate-on-start", "false"]), serve_once(&[])] {
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(75), "{backend:?}: {err}");
            assert!(err.contains("newer than this release") && err.contains("m9999_a_later_release"), "{err}");
        }
        let out = Command::new(BIN).arg("migrate").args(database_args(&db.url, &dir)).output().unwrap();
        assert_eq!(out.status.code(), Some(75), "{backend:?}: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn an_admin_command_that_finds_no_database_says_so_and_creates_nothing() {
    let dir = scratch("admin-nowhere");
    let out = Command::new(BIN)
        .args(["admin", "create-tenant", "acme", "--name", "Acme"])
        .arg("--database-url")
        .arg(format!("sqlite://{}/m.db?mode=rwc", dir.display()))
        .arg("--pseudonym-key-file")
        .arg(dir.join("key"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("there is no database at") && err.contains("--database-url"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "created {left:?}");
    // The database options go after the subcommand's arguments too, and the tenant is created
    // once the database is there.
    let url = format!("sqlite://{}/m.db?mode=rwc", dir.display());
    let key = dir.join("key").display().to_string();
    let out =
        Command::new(BIN).args(["migrate", "--database-url", &url, "--pseudonym-key-file", &key]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(BIN)
        .args(["admin", "create-tenant", "acme", "--name", "Acme", "--database-url", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("tenant `acme` created"));
    std::fs::remove_dir_all(dir).unwrap();
}
