//! Connections and transactions: opening a database (SQLite in WAL mode with its settings, or
//! PostgreSQL), the write gate's transactions, SQLite's checkpoints, and the store's error.

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr, QueryResult, Statement,
};

/// A failure of the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or the connection broke: worth retrying.
    #[error("database unavailable: {0}")]
    Unavailable(DbErr),
    /// Anything else the database refused.
    #[error("database error: {0}")]
    Other(DbErr),
    /// A row the schema guarantees did not look as it should.
    #[error("stored data is malformed: {0}")]
    Malformed(String),
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        if transient(&e) { StoreError::Unavailable(e) } else { StoreError::Other(e) }
    }
}

/// Whether an error says the database could not be reached or went away (a restart, a cut
/// connection, a full pool, SQLite busy), so that the same call can succeed later: those are
/// answered UNAVAILABLE (retryable), the rest INTERNAL. A write whose commit was cut off may or
/// may not have happened; the caller's retry with the same request id settles it.
fn transient(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let runtime = match e {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => return true,
        DbErr::Exec(r) | DbErr::Query(r) => r,
        _ => return false,
    };
    let sea_orm::RuntimeErr::SqlxError(e) = runtime else { return false };
    match e.as_ref() {
        Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::Protocol(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed => true,
        // PostgreSQL: connection exceptions (08), shutting down or starting up (57P01-57P03),
        // too many connections (53300). SQLite: busy or locked (5, 6 and their extended codes).
        Sqlx::Database(d) => d.code().is_some_and(|c| {
            let pg = c.len() == 5 && (c.starts_with("08") || c.starts_with("57P") || c == "53300");
            let sqlite = c.len() < 5 && matches!(c.parse::<u32>(), Ok(n) if n & 0xff == 5 || n & 0xff == 6);
            pg || sqlite
        }),
        _ => false,
    }
}

/// A transaction that writes. On SQLite it is begun IMMEDIATE, holding the write lock from the
/// start: SQLite starts a transaction as a reader and upgrades it at its first write, and if
/// another connection (the webhook dispatcher, the nightly batch) committed in between, the
/// upgrade fails at once instead of waiting. PostgreSQL needs nothing of the kind.
pub async fn begin_write(db: &sea_orm::DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, StoreError> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    Ok(db.begin_with_options(options).await?)
}

/// A transaction that only reads, or writes on PostgreSQL only (see `begin_write` for SQLite).
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, StoreError> {
    use sea_orm::TransactionTrait;
    Ok(db.begin().await?)
}

/// Commits `tx`.
pub async fn commit(tx: DatabaseTransaction) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}

/// After a bulk load (the demo peers), leaves the database as a server should find it. SQLite:
/// the write-ahead log (large after a load at national scale) is copied into the database file
/// and emptied, so the first server on the file does not checkpoint it while answering its first
/// calls. PostgreSQL: the loaded tables get fresh statistics, so the planner does not plan for the
/// empty tables it saw before the load. A checkpoint that a reader keeps from finishing is not an
/// error (a later one completes it); it is logged.
pub async fn settle_after_load(db: &DatabaseConnection) -> Result<(), StoreError> {
    if is_sqlite(db) {
        let (busy, left) = wal_checkpoint(db, "TRUNCATE").await?;
        if busy {
            tracing::warn!(
                frames = left,
                "the write-ahead log could not be emptied now (a reader holds it); a later checkpoint will"
            );
        }
    } else {
        db.execute_unprepared("ANALYZE benchmark_contributions, benchmark_releases").await?;
    }
    Ok(())
}

/// SQLite's checkpoint in `mode`: whether it was kept from finishing, and the frames in the log.
pub(crate) async fn wal_checkpoint(db: &DatabaseConnection, mode: &str) -> Result<(bool, i64), StoreError> {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| StoreError::Malformed("wal_checkpoint answered no row".into()))?;
    Ok((get::<i64>(&row, "busy")? != 0, get(&row, "log")?))
}

/// How often a server checkpoints its SQLite write-ahead log (`run_checkpointer`) unless configured
/// otherwise (`sqlite_checkpoint_ms`): often, so that each checkpoint has little log to copy and
/// the p99 of submissions stays low; longer intervals give no better rate (BENCHMARKS.md,
/// national scale, "the lease in the write gate").
pub const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Until `stop`, checkpoints the SQLite write-ahead log every `interval`, beside the connection
/// that commits: SQLite's passive checkpoint, which waits for no one (writers go on appending, a
/// reader's snapshot keeps its frames in the log until a later checkpoint). Under a steady stream
/// of commits the log still starts again from its beginning only after the committing
/// connection's own checkpoint (at `wal_autocheckpoint` pages): SQLite restarts the log only at a
/// write that begins with all of it copied. But by then this one has copied nearly all of it, so
/// that commit copies the last few pages instead of 16 MB while the submissions behind it wait.
/// Returns at once on PostgreSQL. A failed checkpoint is logged and tried again at the next tick.
pub async fn run_checkpointer(db: DatabaseConnection, interval: std::time::Duration, stop: impl Future<Output = ()>) {
    if !is_sqlite(&db) {
        return;
    }
    let mut stop = std::pin::pin!(stop);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        if let Err(e) = wal_checkpoint(&db, "PASSIVE").await {
            tracing::warn!(error = %e, "the write-ahead log could not be checkpointed; trying again");
        }
    }
}

/// Whether `db` is SQLite (one writer at a time) rather than PostgreSQL.
pub fn is_sqlite(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == sea_orm::DbBackend::Sqlite
}

/// The model version as the store's columns hold it.
pub fn version_column(version: u32) -> i32 {
    i32::try_from(version).unwrap_or(i32::MAX)
}

/// The connection pool's size and waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections at most.
    pub max_connections: u32,
    /// How long a call waits for a free connection before it is answered UNAVAILABLE.
    pub acquire_timeout: std::time::Duration,
    /// How long a new connection may take to open (TLS handshake included).
    pub connect_timeout: std::time::Duration,
}

impl Default for PoolSettings {
    /// 16 connections (the submission writer, the publisher, the readers and the background jobs
    /// of one server, with room); 5 s for either wait, so that a call finds a connection within
    /// 5 s or is answered UNAVAILABLE instead of queueing for sqlx's default 30 s while the
    /// database restarts.
    fn default() -> Self {
        PoolSettings {
            max_connections: 16,
            acquire_timeout: std::time::Duration::from_secs(5),
            connect_timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// Connects to the database at `url` with the default pool (`open_with`).
pub async fn open(url: &str) -> Result<DatabaseConnection, StoreError> {
    open_with(url, PoolSettings::default()).await
}

/// Whether the database `url` names is there: an SQLite URL's file exists (a PostgreSQL database
/// always counts as there; connecting says whether it is). Operators' commands check this, so that
/// one run from the wrong folder does not create an empty database beside the real one.
pub fn exists(url: &str) -> bool {
    match url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        Some(rest) => {
            let path = rest.split('?').next().unwrap_or(rest);
            path == ":memory:" || std::path::Path::new(path).is_file()
        }
        None => true,
    }
}

/// Connects to the database at `url` (creating an SQLite file and its folder when needed, in WAL
/// mode). The schema is the migrations' (`migrations::up`, which programs run on the connection
/// before using it, or `migrations::state` to check it); the store depends on no migration.
/// PostgreSQL over TLS as the URL's `sslmode` (`disable`, `prefer`, `require`, `verify-ca`,
/// `verify-full`), `sslrootcert`, `sslcert` and `sslkey` say.
pub async fn open_with(url: &str, pool: PoolSettings) -> Result<DatabaseConnection, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Malformed(format!("cannot create {}: {e}", parent.display())))?;
        }
    }
    let mut options = ConnectOptions::new(url.to_string());
    // A pooled connection is pinged before each use to find one the server dropped; an SQLite
    // connection is a thread of this process, and the ping only a hand-off to it and back.
    options.test_before_acquire(!url.starts_with("sqlite:"));
    options
        .sqlx_logging(false)
        .max_connections(pool.max_connections)
        .acquire_timeout(pool.acquire_timeout)
        .connect_timeout(pool.connect_timeout)
        // SQLite keeps 2 MiB of pages per connection by default: at national scale a submission's
        // index lookups (a random pseudonym, request id, reference) then go to the operating
        // system for pages again and again. 32 MiB, allocated as used, keeps the indexes' upper
        // levels and the recently written pages at hand.
        // The committing connection copies the write-ahead log back into the file once it holds
        // this many pages (SQLite's default: 1 000). A submission dirties few pages, most of them
        // the same ones (the tables' last pages, the indexes' upper levels) from commit to commit;
        // a longer log copies each of those once for more commits. 4 000 pages (16 MB of log at
        // most) give more submissions per second at the cost of a higher p99 (the commit that
        // copies); every commit is synced either way (BENCHMARKS.md, national scale, "1M and 20k
        // with the seed settled").
        // Erasure must leave no copy of a firm's name in the file: deleted content is overwritten
        // with zeros (cells and freed pages) instead of left in free space.
        // `synchronous = FULL` in WAL mode syncs the log at every commit: an acknowledged write
        // survives a power cut, not only a crash of the process (the driver's default, said here
        // so that no change of default weakens it).
        .map_sqlx_sqlite_opts(|o| {
            o.pragma("cache_size", "-32768")
                .pragma("wal_autocheckpoint", "4000")
                .pragma("secure_delete", "ON")
                .pragma("synchronous", "FULL")
        });
    let db = Database::connect(options).await?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    Ok(db)
}

pub(crate) fn get<T: sea_orm::TryGetable>(row: &QueryResult, col: &str) -> Result<T, StoreError> {
    row.try_get::<T>("", col).map_err(|e| StoreError::Malformed(format!("column {col}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::TransactionTrait;

    /// Every connection `open` gives on SQLite works in the log mode and with the settings it
    /// promises, every commit synced to disk (`synchronous = FULL`) among them (asked in
    /// transactions held open together, so that several of the pool's connections answer).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_sqlite_database_opens_in_wal_mode_with_every_commit_synced_on_every_connection() {
        let dir = std::env::temp_dir().join(format!("store_open_{}_{}", std::process::id(), crate::time::now_us()));
        let db = open(&format!("sqlite://{}/s.db?mode=rwc", dir.display())).await.unwrap();
        let mut held = Vec::new();
        for _ in 0..4 {
            let tx = db.begin().await.unwrap();
            let one = |sql: &str| Statement::from_string(sea_orm::DbBackend::Sqlite, sql.to_string());
            // A connection learns the file's log mode when it first reads the file; before that it
            // reports its own default.
            tx.query_one_raw(one("SELECT count(*) FROM sqlite_master")).await.unwrap();
            let mode: String =
                tx.query_one_raw(one("PRAGMA journal_mode")).await.unwrap().unwrap().try_get_by_index(0).unwrap();
            let pages: i64 =
                tx.query_one_raw(one("PRAGMA wal_autocheckpoint")).await.unwrap().unwrap().try_get_by_index(0).unwrap();
            let cache: i64 =
                tx.query_one_raw(one("PRAGMA cache_size")).await.unwrap().unwrap().try_get_by_index(0).unwrap();
            // 2 is FULL: every commit synced to disk.
            let synchronous: i64 =
                tx.query_one_raw(one("PRAGMA synchronous")).await.unwrap().unwrap().try_get_by_index(0).unwrap();
            let secure_delete: i64 =
                tx.query_one_raw(one("PRAGMA secure_delete")).await.unwrap().unwrap().try_get_by_index(0).unwrap();
            assert_eq!((mode.as_str(), pages, cache, synchronous, secure_delete), ("wal", 4000, -32768, 2, 1));
            held.push(tx);
        }
        drop(held);
        db.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
