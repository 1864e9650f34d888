//! Database migrations for the two stores, run unchanged on SQLite (the embedded default) and
//! PostgreSQL. Applied at start-up or by `maturity migrate`; every migration has a `down`.
//!
//! Column types are chosen to mean the same on both backends: whole numbers as BIGINT, scores as
//! DOUBLE, times as microseconds since the Unix epoch (BIGINT, UTC), and structured values as BLOB /
//! BYTEA in the store's own versioned JSON: published figures since m0008, an assessment's answers and
//! result since m0009 (before, the API's protobuf messages).
//!
//! The wall between the stores is in the schema: `benchmark_contributions` has no column that can
//! name a firm (no name, no free text, no tenant, no external reference); a test reads the schema
//! and fails if one appears.

pub use sea_orm_migration::prelude::*;

pub mod m0001_assessments;
pub mod m0002_benchmark;
pub mod m0003_benchmark_releases;
pub mod m0004_report_jobs;
pub mod m0005_tenants;
pub mod m0006_webhooks;
pub mod m0007_publication;
pub mod m0008_figures_encoding;
pub mod m0009_assessment_encoding;
pub mod m0010_assessments_by_firm;
pub mod m0011_contribution_fit;
pub mod m0012_change_contribution;
pub mod m0013_universe_by_id;
pub mod m0014_erasure;
pub mod m0015_contribution_returns;
pub mod m0016_chapter_archive;
pub mod m0017_invitations;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_assessments::Migration),
            Box::new(m0002_benchmark::Migration),
            Box::new(m0003_benchmark_releases::Migration),
            Box::new(m0004_report_jobs::Migration),
            Box::new(m0005_tenants::Migration),
            Box::new(m0006_webhooks::Migration),
            Box::new(m0007_publication::Migration),
            Box::new(m0008_figures_encoding::Migration),
            Box::new(m0009_assessment_encoding::Migration),
            Box::new(m0010_assessments_by_firm::Migration),
            Box::new(m0011_contribution_fit::Migration),
            Box::new(m0012_change_contribution::Migration),
            Box::new(m0013_universe_by_id::Migration),
            Box::new(m0014_erasure::Migration),
            Box::new(m0015_contribution_returns::Migration),
            Box::new(m0016_chapter_archive::Migration),
            Box::new(m0017_invitations::Migration),
        ]
    }
}

use sea_orm_migration::sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

/// The PostgreSQL advisory lock that the migrations run under (any fixed number no other program
/// on the database takes; these are the ASCII bytes of "maturity").
const MIGRATION_LOCK: i64 = 0x6d61_7475_7269_7479;

/// How long a program waits for another's migrations on SQLite before it gives up.
const SQLITE_LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(600);

/// Applies every pending migration on `db` (what `maturity migrate` does, and every program at
/// start unless told not to), under a lock, so that any number of processes started together
/// on one database apply each migration once and all go on: an advisory lock on PostgreSQL, an
/// exclusive transaction on SQLite. All pending migrations are applied in that one transaction,
/// so a failed one leaves the schema as it was.
pub async fn up(db: &DatabaseConnection) -> Result<(), DbErr> {
    let tx = locked(db).await?;
    Migrator::up(&tx, None).await?;
    tx.commit().await
}

/// A transaction holding the migration lock.
async fn locked(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        let tx = db.begin().await?;
        // Released with the transaction, also when the process dies. Taken at once when free;
        // otherwise said, then waited for (another process's migrations take as long as they take).
        let sql = format!("SELECT pg_try_advisory_xact_lock({MIGRATION_LOCK}) AS taken");
        let taken = tx.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
        if !taken.map(|row| row.try_get::<bool>("", "taken")).transpose()?.unwrap_or(false) {
            tracing::info!("another process is migrating the database; waiting for it to finish");
            tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")).await?;
        }
        return Ok(tx);
    }
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Exclusive), ..Default::default() };
    let start = std::time::Instant::now();
    let mut said = false;
    loop {
        match db.begin_with_options(options).await {
            Ok(tx) => return Ok(tx),
            // Another process holds the file's write lock (its migrations, or its writes)
            // longer than the driver's busy timeout: wait on.
            Err(e) if e.to_string().contains("locked") && start.elapsed() < SQLITE_LOCK_PATIENCE => {
                if !said {
                    tracing::info!("another process holds the database file; waiting to migrate");
                    said = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How the database's schema stands against the migrations this program knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaState {
    /// Every migration applied, and no other.
    Current,
    /// Migrations this program knows that the database lacks (oldest first): run `maturity
    /// migrate` first.
    Older(Vec<String>),
    /// Migrations applied that this program does not know: a newer release migrated the
    /// database, and this one must not write to it.
    Newer(Vec<String>),
}

impl std::fmt::Display for SchemaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaState::Current => write!(f, "the database schema is current"),
            SchemaState::Older(pending) => write!(
                f,
                "the database schema is older than this release: {} migration(s) not applied ({}); run `maturity migrate` first",
                pending.len(),
                pending.join(", ")
            ),
            SchemaState::Newer(unknown) => write!(
                f,
                "the database schema is newer than this release: migration(s) {} applied by a later release; upgrade this program",
                unknown.join(", ")
            ),
        }
    }
}

/// The state of a database that does not exist yet: every migration pending.
pub fn state_of_nothing() -> SchemaState {
    SchemaState::Older(Migrator::migrations().iter().map(|m| m.name().to_string()).collect())
}

/// Reads which migrations `db` holds, changing nothing.
pub async fn state(db: &DatabaseConnection) -> Result<SchemaState, DbErr> {
    let table = Migrator::migration_table_name();
    let applied: Vec<String> = if SchemaManager::new(db).has_table(table.to_string()).await? {
        let query = Query::select().column(Alias::new("version")).from(table).to_owned();
        let rows = db.query_all(&query).await?;
        rows.iter().map(|r| r.try_get::<String>("", "version")).collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let known: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_string()).collect();
    let unknown: Vec<String> = applied.iter().filter(|a| !known.contains(a)).cloned().collect();
    if !unknown.is_empty() {
        return Ok(SchemaState::Newer(unknown));
    }
    let pending: Vec<String> = known.into_iter().filter(|k| !applied.contains(k)).collect();
    Ok(if pending.is_empty() { SchemaState::Current } else { SchemaState::Older(pending) })
}

#[cfg(feature = "test-db")]
pub mod test_db;

/// Why a program did not get its schema ready.
#[derive(Debug)]
pub enum PrepareError {
    /// The database failed.
    Database(DbErr),
    /// The program was told not to migrate, and the schema is not the one it knows.
    Mismatch(SchemaState),
}

impl std::fmt::Display for PrepareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrepareError::Database(e) => write!(f, "{e}"),
            PrepareError::Mismatch(state) => write!(f, "{state}"),
        }
    }
}

impl std::error::Error for PrepareError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PrepareError::Database(e) => Some(e),
            PrepareError::Mismatch(_) => None,
        }
    }
}

impl From<DbErr> for PrepareError {
    fn from(e: DbErr) -> Self {
        PrepareError::Database(e)
    }
}

/// What a program does with the schema at start: applies pending migrations under the lock
/// (`migrate`), or, when a deployment migrates as a separate step first, checks that the schema
/// is exactly the one this release knows and refuses otherwise.
pub async fn prepare(db: &DatabaseConnection, migrate: bool) -> Result<(), PrepareError> {
    match state(db).await? {
        SchemaState::Current => Ok(()),
        SchemaState::Older(_) if migrate => Ok(up(db).await?),
        // Never written by a release that does not know its schema, migrating or not.
        other => Err(PrepareError::Mismatch(other)),
    }
}
