//! The store: the only code that speaks SQL, on SQLite and PostgreSQL through sea-orm's query
//! builder (so that one statement serves both dialects). It holds its own types, never an API
//! message, and knows neither tonic nor protobuf. Every function takes any connection or
//! transaction.
//!
//! - this module: connections and transactions, the assessment store, idempotency records, the
//!   benchmark contributions, releases and the publication's bookkeeping;
//! - `figures` and `records`: the store's own encodings (one versioned JSON form, `versioned`) of published figures and of an
//!   assessment's answers and result;
//! - `publish` and `engine`: publication under disclosure control, out of the write path, and
//!   the in-memory cache every benchmark answer comes from; `peers`: a group found for a request;
//! - `tenants`: tenants, API keys (and the key cache) and the audit log;
//! - `reports`: the nightly batch's queue; `webhooks`: endpoints, events and the outbox;
//! - `keys`: the pseudonym key file; `time`: calendar arithmetic; `random`: random bytes.

pub mod engine;
pub mod figures;
pub mod keys;
pub mod peers;
pub mod publish;
pub mod random;
pub mod records;
pub mod reports;
pub mod schema;
pub mod tenants;
pub mod time;
mod versioned;
pub mod webhooks;

/// The connection and transaction types callers hold (re-exported, so that no other crate
/// depends on sea-orm).
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};

use crate::schema::{
    Assessments as A, BenchmarkChanges as C, BenchmarkContributions as B, BenchmarkPublisher as P,
    BenchmarkReleases as R, BenchmarkUniverses as U, IdempotencyKeys as I,
};
use sea_orm::{ConnectOptions, Database, DbErr, QueryResult, Statement};

use domain_model::{FirmProfile, FitVerdict, Province, SbiSection, SizeClass};

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
/// the write-ahead log (about 390 MB after a million firm-years) is copied into the database file
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
async fn wal_checkpoint(db: &DatabaseConnection, mode: &str) -> Result<(bool, i64), StoreError> {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| StoreError::Malformed("wal_checkpoint answered no row".into()))?;
    Ok((get::<i64>(&row, "busy")? != 0, get(&row, "log")?))
}

/// How often a server checkpoints its SQLite write-ahead log (`run_checkpointer`) unless configured
/// otherwise (`sqlite_checkpoint_ms`): at 2 000 submissions a second about 150 pages of log each time.
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

/// Connects to the database at `url` (creating an SQLite file and its folder when needed, in WAL
/// mode). The schema is the migrations' (`migrations::up`, which every program runs on the
/// connection before using it); the store depends on no migration.
pub async fn open(url: &str) -> Result<DatabaseConnection, StoreError> {
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
    // Bounded waits: a call finds a connection within 5 s or is answered UNAVAILABLE (instead of
    // queueing for sqlx's default 30 s while the database restarts); a new connection gets 5 s.
    options
        .sqlx_logging(false)
        .max_connections(16)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_timeout(std::time::Duration::from_secs(5))
        // SQLite keeps 2 MiB of pages per connection by default: at national scale a submission's
        // index lookups (a random pseudonym, request id, reference) then go to the operating
        // system for pages again and again. 32 MiB, allocated as used, keeps the indexes' upper
        // levels and the recently written pages at hand.
        // The committing connection copies the write-ahead log back into the file once it holds
        // this many pages (SQLite's default: 1 000). A submission dirties about ten pages, most of
        // them the same few (the tables' last pages, the indexes' upper levels) from commit to
        // commit; a longer log copies each of those once for more commits. 4 000 pages (16 MB of
        // log at most) gave about 10% more submissions per second at 1 000 000 firm-years and at
        // 20 000, for a p99 of 24-38 ms where it was about 20 (the commit that copies); every
        // commit is synced as before (BENCHMARKS.md, "1M and 20k with the seed settled").
        // Erasure must leave no copy of a firm's name in the file: deleted content is overwritten
        // with zeros (cells and freed pages) instead of left in free space.
        .map_sqlx_sqlite_opts(|o| {
            o.pragma("cache_size", "-32768").pragma("wal_autocheckpoint", "4000").pragma("secure_delete", "ON")
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

/// A new assessment row.
#[derive(Clone, Debug)]
pub struct NewAssessment {
    /// Owning tenant.
    pub tenant: String,
    /// The CRM's reference.
    pub external_ref: String,
    /// The firm's name.
    pub firm_name: String,
    /// Coarse attributes.
    pub profile: FirmProfile,
    /// Benchmark year.
    pub year: i32,
    /// Model id.
    pub model_id: String,
    /// Model version.
    pub model_version: i32,
    /// Maturity index, for listing.
    pub maturity_index: f64,
    /// The answers as scored.
    pub answers: records::Answers,
    /// The result as answered (in Dutch).
    pub result: records::ResultSnapshot,
    /// Completion time.
    pub completed_at_us: i64,
}

/// A stored assessment.
#[derive(Clone, Debug)]
pub struct StoredAssessment {
    /// Id.
    pub id: i64,
    /// Owning tenant.
    pub tenant: String,
    /// Benchmark year.
    pub year: i32,
    /// The CRM's reference.
    pub external_ref: String,
    /// The firm's name.
    pub firm_name: String,
    /// Model id.
    pub model_id: String,
    /// Model version.
    pub model_version: i32,
    // The answers and the result in the store's encoding (`records`), decoded on demand.
    answers: Vec<u8>,
    result: Vec<u8>,
    /// Where its chapter stands.
    pub report_status: ReportStatus,
    /// Completion time.
    pub completed_at_us: i64,
    /// Creation time.
    pub created_at_us: i64,
}

/// Where an assessment's chapter stands in the nightly batch's queue (`reports`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportStatus {
    /// Waiting for the nightly batch.
    Pending,
    /// The chapter is durable under `report_path`.
    Rendered,
    /// Rendering failed `report_attempts` times; retried while attempts are left.
    Failed,
}

impl ReportStatus {
    /// Every status.
    pub const ALL: [ReportStatus; 3] = [ReportStatus::Pending, ReportStatus::Rendered, ReportStatus::Failed];

    /// As the column holds it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Pending => "pending",
            ReportStatus::Rendered => "rendered",
            ReportStatus::Failed => "failed",
        }
    }

    /// The status a column holds.
    pub fn parse(text: &str) -> Option<ReportStatus> {
        ReportStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub(crate) fn column(row: &QueryResult) -> Result<ReportStatus, StoreError> {
        let text: String = get(row, "report_status")?;
        ReportStatus::parse(&text).ok_or_else(|| StoreError::Malformed(format!("report status `{text}`")))
    }
}

impl StoredAssessment {
    /// The answers as scored.
    pub fn answers(&self) -> Result<records::Answers, StoreError> {
        records::Answers::decode(&self.answers)
    }

    /// The result as it was answered.
    pub fn result(&self) -> Result<records::ResultSnapshot, StoreError> {
        records::ResultSnapshot::decode(&self.result)
    }
}

pub(crate) const ASSESSMENT_COLUMNS: [A; 12] = [
    A::Id,
    A::Tenant,
    A::Year,
    A::ExternalRef,
    A::FirmName,
    A::ModelId,
    A::ModelVersion,
    A::Answers,
    A::Result,
    A::ReportStatus,
    A::CompletedAtUs,
    A::CreatedAtUs,
];

pub(crate) fn assessment(row: &QueryResult) -> Result<StoredAssessment, StoreError> {
    Ok(StoredAssessment {
        id: get(row, "id")?,
        tenant: get(row, "tenant")?,
        year: get(row, "year")?,
        external_ref: get(row, "external_ref")?,
        firm_name: get(row, "firm_name")?,
        model_id: get(row, "model_id")?,
        model_version: get(row, "model_version")?,
        answers: get(row, "answers")?,
        result: get(row, "result")?,
        report_status: ReportStatus::column(row)?,
        completed_at_us: get(row, "completed_at_us")?,
        created_at_us: get(row, "created_at_us")?,
    })
}

/// Inserts an assessment; returns its id.
pub async fn insert_assessment(db: &impl ConnectionTrait, a: &NewAssessment, now_us: i64) -> Result<i64, StoreError> {
    let ids = insert_assessments(db, std::slice::from_ref(a), now_us).await?;
    ids.first().copied().ok_or_else(|| StoreError::Malformed("insert returned no id".into()))
}

/// Inserts assessments in one statement; returns their ids in their order. No two may have the
/// same tenant, reference and completion time (that is how the returned rows are told apart).
pub async fn insert_assessments(
    db: &impl ConnectionTrait,
    rows: &[NewAssessment],
    now_us: i64,
) -> Result<Vec<i64>, StoreError> {
    let key = |tenant: &str, external_ref: &str, at: i64| (tenant.to_string(), external_ref.to_string(), at);
    let mut order = std::collections::HashMap::with_capacity(rows.len());
    for (i, a) in rows.iter().enumerate() {
        if order.insert(key(&a.tenant, &a.external_ref, a.completed_at_us), i).is_some() {
            return Err(StoreError::Malformed(format!("assessment {} twice in one insert", a.external_ref)));
        }
    }
    let mut stmt = Query::insert();
    stmt.into_table(A::Table).columns([
        A::Tenant,
        A::ExternalRef,
        A::FirmName,
        A::SbiSection,
        A::SizeClass,
        A::Province,
        A::Year,
        A::ModelId,
        A::ModelVersion,
        A::MaturityIndex,
        A::Answers,
        A::Result,
        A::ReportStatus,
        A::CompletedAtUs,
        A::CreatedAtUs,
        A::UpdatedAtUs,
    ]);
    for a in rows {
        stmt.values_panic([
            a.tenant.clone().into(),
            a.external_ref.clone().into(),
            a.firm_name.clone().into(),
            a.profile.section.code().into(),
            a.profile.size.code().into(),
            a.profile.province.code().into(),
            a.year.into(),
            a.model_id.clone().into(),
            a.model_version.into(),
            a.maturity_index.into(),
            a.answers.encode().into(),
            a.result.encode().into(),
            ReportStatus::Pending.as_str().into(),
            a.completed_at_us.into(),
            now_us.into(),
            now_us.into(),
        ]);
    }
    stmt.returning(Query::returning().columns([A::Id, A::Tenant, A::ExternalRef, A::CompletedAtUs]));
    let mut ids = vec![None; rows.len()];
    for row in db.query_all(&stmt).await? {
        let k =
            key(&get::<String>(&row, "tenant")?, &get::<String>(&row, "external_ref")?, get(&row, "completed_at_us")?);
        if let Some(&i) = order.get(&k) {
            ids[i] = Some(get(&row, "id")?);
        }
    }
    ids.into_iter().map(|id| id.ok_or_else(|| StoreError::Malformed("insert returned no id".into()))).collect()
}

/// One assessment of `tenant`.
pub async fn get_assessment(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: i64,
) -> Result<Option<StoredAssessment>, StoreError> {
    let stmt = Query::select()
        .columns(ASSESSMENT_COLUMNS)
        .from(A::Table)
        .and_where(Expr::col(A::Tenant).eq(tenant))
        .and_where(Expr::col(A::Id).eq(id))
        .to_owned();
    db.query_one(&stmt).await?.as_ref().map(assessment).transpose()
}

/// Filters of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListFilter {
    /// Completed at or after.
    pub completed_after_us: Option<i64>,
    /// Completed before.
    pub completed_before_us: Option<i64>,
    /// Report status.
    pub report_status: Option<ReportStatus>,
    /// Only this firm: the CRM's reference (index `assessments_tenant_external_ref`).
    pub external_ref: Option<String>,
}

/// A page of `tenant`'s assessments, newest first, with ids below `before_id`.
pub async fn list_assessments(
    db: &impl ConnectionTrait,
    tenant: &str,
    filter: &ListFilter,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<StoredAssessment>, StoreError> {
    let mut q = Query::select();
    q.columns(ASSESSMENT_COLUMNS).from(A::Table).and_where(Expr::col(A::Tenant).eq(tenant));
    if let Some(t) = filter.completed_after_us {
        q.and_where(Expr::col(A::CompletedAtUs).gte(t));
    }
    if let Some(t) = filter.completed_before_us {
        q.and_where(Expr::col(A::CompletedAtUs).lt(t));
    }
    if let Some(s) = &filter.report_status {
        q.and_where(Expr::col(A::ReportStatus).eq(s.as_str()));
    }
    if let Some(r) = &filter.external_ref {
        q.and_where(Expr::col(A::ExternalRef).eq(r.as_str()));
    }
    if let Some(id) = before_id {
        q.and_where(Expr::col(A::Id).lt(id));
    }
    q.order_by(A::Id, Order::Desc).limit(limit);
    db.query_all(&q).await?.iter().map(assessment).collect()
}

/// Erases one assessment of `tenant`, in `db`'s transaction: the row; the response remembered for
/// the request that stored it (redacted: it held the firm's name and reference); the request id
/// itself, which a CRM often builds from its reference, in that row and in the audit log, replaced
/// by `erased_request_id` of it (a keyed hash, so that a replay can still be recognised and told
/// the assessment was erased); and the webhook events about it with their deliveries (their
/// payloads carry the reference). The anonymised contribution stays: it names no firm. Whether
/// the assessment existed.
pub async fn erase_assessment(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: i64,
    now_us: i64,
    erased_request_id: impl Fn(&str) -> String,
) -> Result<bool, StoreError> {
    let stmt = Query::delete()
        .from_table(A::Table)
        .and_where(Expr::col(A::Tenant).eq(tenant))
        .and_where(Expr::col(A::Id).eq(id))
        .to_owned();
    if db.execute(&stmt).await?.rows_affected() == 0 {
        return Ok(false);
    }
    let stmt = Query::select()
        .column(I::RequestId)
        .from(I::Table)
        .and_where(Expr::col(I::Tenant).eq(tenant))
        .and_where(Expr::col(I::AssessmentId).eq(id))
        .and_where(Expr::col(I::ErasedAtUs).is_null())
        .to_owned();
    let request_ids: Vec<String> =
        db.query_all(&stmt).await?.iter().map(|r| get(r, "request_id")).collect::<Result<_, _>>()?;
    for request_id in request_ids {
        let erased = erased_request_id(&request_id);
        let stmt = Query::update()
            .table(I::Table)
            .value(I::RequestId, erased.as_str())
            .value(I::Response, Vec::<u8>::new())
            .value(I::ErasedAtUs, now_us)
            .and_where(Expr::col(I::Tenant).eq(tenant))
            .and_where(Expr::col(I::RequestId).eq(request_id.as_str()))
            .to_owned();
        db.execute(&stmt).await?;
        tenants::forget_request_id(db, tenant, &request_id, &erased).await?;
    }
    webhooks::erase_assessment_events(db, tenant, id).await?;
    Ok(true)
}

/// After an erasure on SQLite, copies the write-ahead log into the database file and empties it:
/// the log still holds the pages as they were before (with the firm's name), and the file's own
/// copies were overwritten with zeros (`secure_delete`). A reader that keeps the log from being
/// emptied now is logged; the next restart of the log overwrites it. Nothing to do on PostgreSQL,
/// whose dead rows are not read by anything but a vacuum.
pub async fn settle_erasure(db: &DatabaseConnection) -> Result<(), StoreError> {
    if is_sqlite(db) {
        let (busy, left) = wal_checkpoint(db, "TRUNCATE").await?;
        if busy {
            tracing::warn!(
                frames = left,
                "after an erasure the write-ahead log could not be emptied now (a reader holds it)"
            );
        }
    }
    Ok(())
}

/// A remembered write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recalled {
    /// The method that wrote it.
    pub method: String,
    /// The hash of its request.
    pub request_hash: String,
    /// Its encoded response (empty once erased).
    pub response: Vec<u8>,
    /// The assessment it stored, for SubmitAssessment.
    pub assessment_id: Option<i64>,
    /// When that assessment was erased.
    pub erased_at_us: Option<i64>,
}

/// The writes remembered under any of `keys` (tenant, request id).
pub async fn idempotency_many(
    db: &impl ConnectionTrait,
    keys: &[(&str, &str)],
) -> Result<std::collections::HashMap<(String, String), Recalled>, StoreError> {
    let mut found = std::collections::HashMap::new();
    for chunk in keys.chunks(200) {
        let mut any = sea_orm::sea_query::Condition::any();
        for (tenant, request_id) in chunk {
            any = any.add(Expr::col(I::Tenant).eq(*tenant).and(Expr::col(I::RequestId).eq(*request_id)));
        }
        let stmt = Query::select()
            .columns([I::Tenant, I::RequestId, I::Method, I::RequestHash, I::Response, I::AssessmentId, I::ErasedAtUs])
            .from(I::Table)
            .cond_where(any)
            .to_owned();
        for row in db.query_all(&stmt).await? {
            found.insert(
                (get(&row, "tenant")?, get(&row, "request_id")?),
                Recalled {
                    method: get(&row, "method")?,
                    request_hash: get(&row, "request_hash")?,
                    response: get(&row, "response")?,
                    assessment_id: get(&row, "assessment_id")?,
                    erased_at_us: get(&row, "erased_at_us")?,
                },
            );
        }
    }
    Ok(found)
}

/// A write's response to remember under its request id.
#[derive(Clone, Debug)]
pub struct Remembered<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The caller's request id.
    pub request_id: &'a str,
    /// The method.
    pub method: &'a str,
    /// The hash of the request.
    pub request_hash: &'a str,
    /// The encoded response.
    pub response: Vec<u8>,
    /// The assessment it stored (SubmitAssessment), so that erasing it reaches this response.
    pub assessment_id: Option<i64>,
}

/// Remembers many writes' responses in one statement. `false` when any of the ids is already
/// remembered (the caller rolls back).
pub async fn remember_many(
    db: &impl ConnectionTrait,
    rows: &[Remembered<'_>],
    now_us: i64,
) -> Result<bool, StoreError> {
    if rows.is_empty() {
        return Ok(true);
    }
    let mut stmt = Query::insert();
    stmt.into_table(I::Table).columns([
        I::Tenant,
        I::RequestId,
        I::Method,
        I::RequestHash,
        I::Response,
        I::CreatedAtUs,
        I::AssessmentId,
    ]);
    for r in rows {
        stmt.values_panic([
            r.tenant.into(),
            r.request_id.into(),
            r.method.into(),
            r.request_hash.into(),
            r.response.clone().into(),
            now_us.into(),
            r.assessment_id.into(),
        ]);
    }
    stmt.on_conflict(OnConflict::columns([I::Tenant, I::RequestId]).do_nothing().to_owned());
    Ok(db.execute(&stmt).await?.rows_affected() == rows.len() as u64)
}

/// One anonymised contribution.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// Keyed pseudonym of the firm (hex).
    pub pseudonym: String,
    /// Year.
    pub year: i32,
    /// Model id.
    pub model_id: String,
    /// Model version.
    pub model_version: i32,
    /// Coarse attributes.
    pub profile: FirmProfile,
    /// Maturity index.
    pub maturity_index: f64,
    /// External axis index.
    pub external_index: f64,
    /// Internal axis index.
    pub internal_index: f64,
    /// Attained external stage.
    pub external_stage: i16,
    /// Attained internal stage.
    pub internal_stage: i16,
    /// Value sources in `ValueSource::ALL` order.
    pub value_sources: [Option<f64>; 4],
    /// Proposition centrality.
    pub proposition: f64,
    /// The fit verdict the engine gave.
    pub fit_verdict: FitVerdict,
    /// Demo data.
    pub synthetic: bool,
    /// Change counter (set by the store on write).
    pub revision: i64,
}

/// What identifies a contribution: one per firm, year and model version.
const CONTRIBUTION_KEY: [B; 4] = [B::Pseudonym, B::Year, B::ModelId, B::ModelVersion];

/// What a contribution carries, in the order `upsert_contributions` writes it; a newer
/// contribution of the same firm replaces all of it (latest wins).
const CONTRIBUTION_VALUES: [B; 16] = [
    B::SbiSection,
    B::SizeClass,
    B::Province,
    B::MaturityIndex,
    B::ExternalIndex,
    B::InternalIndex,
    B::ExternalStage,
    B::InternalStage,
    B::CoCreation,
    B::InformationSharing,
    B::NetworkMobilisation,
    B::TrustBuilding,
    B::Proposition,
    B::Synthetic,
    B::Revision,
    B::FitVerdict,
];

/// The next revision number.
pub async fn next_revision(db: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let stmt = Query::select().expr_as(Expr::col(B::Revision).max(), "m").from(B::Table).to_owned();
    let row = db.query_one(&stmt).await?;
    let max: Option<i64> = match row {
        Some(r) => r.try_get("", "m").ok(),
        None => None,
    };
    Ok(max.unwrap_or(0) + 1)
}

/// Writes contributions; a firm's contribution for the same year and model version replaces the
/// earlier one (latest wins). Each gets `revision`.
pub async fn upsert_contributions(
    db: &impl ConnectionTrait,
    rows: &[Contribution],
    revision: i64,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(500) {
        let mut stmt = Query::insert();
        stmt.into_table(B::Table).columns(CONTRIBUTION_KEY.into_iter().chain(CONTRIBUTION_VALUES));
        for c in chunk {
            stmt.values_panic(contribution_values(c, revision));
        }
        stmt.on_conflict(OnConflict::columns(CONTRIBUTION_KEY).update_columns(CONTRIBUTION_VALUES).to_owned());
        db.execute(&stmt).await?;
    }
    Ok(())
}

/// Writes one contribution as `upsert_contributions` does and returns its id (the same id when it
/// replaced the firm's earlier contribution), for the change record that names it.
pub async fn upsert_contribution(
    db: &impl ConnectionTrait,
    c: &Contribution,
    revision: i64,
) -> Result<i64, StoreError> {
    let ids = upsert_contributions_with_ids(db, std::slice::from_ref(c), revision).await?;
    ids.first().copied().ok_or_else(|| StoreError::Malformed("a contribution's upsert returned no id".into()))
}

/// `upsert_contributions` in one statement that returns each one's id, in their order. No two may
/// be of the same firm, year and model version (one statement cannot replace a row twice).
pub async fn upsert_contributions_with_ids(
    db: &impl ConnectionTrait,
    rows: &[Contribution],
    revision: i64,
) -> Result<Vec<i64>, StoreError> {
    let key = |pseudonym: String, year: i32, model_id: String, version: i32| (pseudonym, year, model_id, version);
    let mut order = std::collections::HashMap::with_capacity(rows.len());
    for (i, c) in rows.iter().enumerate() {
        if order.insert(key(c.pseudonym.clone(), c.year, c.model_id.clone(), c.model_version), i).is_some() {
            return Err(StoreError::Malformed("a contribution twice in one upsert".into()));
        }
    }
    let mut stmt = Query::insert();
    stmt.into_table(B::Table).columns(CONTRIBUTION_KEY.into_iter().chain(CONTRIBUTION_VALUES));
    for c in rows {
        stmt.values_panic(contribution_values(c, revision));
    }
    stmt.on_conflict(OnConflict::columns(CONTRIBUTION_KEY).update_columns(CONTRIBUTION_VALUES).to_owned());
    stmt.returning(Query::returning().columns([B::Id, B::Pseudonym, B::Year, B::ModelId, B::ModelVersion]));
    let mut ids = vec![None; rows.len()];
    for row in db.query_all(&stmt).await? {
        let k = key(get(&row, "pseudonym")?, get(&row, "year")?, get(&row, "model_id")?, get(&row, "model_version")?);
        if let Some(&i) = order.get(&k) {
            ids[i] = Some(get(&row, "id")?);
        }
    }
    ids.into_iter()
        .map(|id| id.ok_or_else(|| StoreError::Malformed("a contribution's upsert returned no id".into())))
        .collect()
}

fn contribution_values(c: &Contribution, revision: i64) -> [sea_orm::sea_query::SimpleExpr; 20] {
    [
        c.pseudonym.clone().into(),
        c.year.into(),
        c.model_id.clone().into(),
        c.model_version.into(),
        c.profile.section.code().into(),
        c.profile.size.code().into(),
        c.profile.province.code().into(),
        c.maturity_index.into(),
        c.external_index.into(),
        c.internal_index.into(),
        c.external_stage.into(),
        c.internal_stage.into(),
        c.value_sources[0].into(),
        c.value_sources[1].into(),
        c.value_sources[2].into(),
        c.value_sources[3].into(),
        c.proposition.into(),
        c.synthetic.into(),
        revision.into(),
        c.fit_verdict.id().into(),
    ]
}

fn profile(row: &QueryResult) -> Result<FirmProfile, StoreError> {
    let section: String = get(row, "sbi_section")?;
    let size: String = get(row, "size_class")?;
    let province: String = get(row, "province")?;
    match (SbiSection::parse(&section), SizeClass::parse(&size), Province::parse(&province)) {
        (Some(section), Some(size), Some(province)) => Ok(FirmProfile { section, size, province }),
        _ => Err(StoreError::Malformed(format!("attributes {section}/{size}/{province}"))),
    }
}

fn fit_verdict(row: &QueryResult) -> Result<Option<FitVerdict>, StoreError> {
    let id: Option<String> = get(row, "fit_verdict")?;
    match id {
        None => Ok(None),
        Some(id) => match FitVerdict::parse(&id) {
            Some(v) => Ok(Some(v)),
            None => Err(StoreError::Malformed(format!("fit verdict {id}"))),
        },
    }
}

/// What publication reads of a contribution: no pseudonym, nothing repeated per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// The contribution's row id (what a change record names).
    pub id: i64,
    /// Coarse attributes.
    pub profile: FirmProfile,
    /// Maturity index.
    pub maturity_index: f64,
    /// External axis index.
    pub external_index: f64,
    /// Internal axis index.
    pub internal_index: f64,
    /// Attained external stage.
    pub external_stage: i16,
    /// Attained internal stage.
    pub internal_stage: i16,
    /// Value sources in `ValueSource::ALL` order.
    pub value_sources: [Option<f64>; 4],
    /// Proposition centrality.
    pub proposition: f64,
    /// The fit verdict; `None` for a contribution written before verdicts were kept and not
    /// filled in since (`backfill_fit_verdicts`).
    pub fit_verdict: Option<FitVerdict>,
    /// Demo data.
    pub synthetic: bool,
    /// Change counter.
    pub revision: i64,
}

/// The columns publication reads of a contribution: its id and what it carries.
fn member_columns() -> impl Iterator<Item = B> {
    std::iter::once(B::Id).chain(CONTRIBUTION_VALUES)
}

fn member_of(r: &QueryResult) -> Result<Member, StoreError> {
    Ok(Member {
        id: get(r, "id")?,
        profile: profile(r)?,
        maturity_index: get(r, "maturity_index")?,
        external_index: get(r, "external_index")?,
        internal_index: get(r, "internal_index")?,
        external_stage: get(r, "external_stage")?,
        internal_stage: get(r, "internal_stage")?,
        value_sources: [
            get(r, "co_creation")?,
            get(r, "information_sharing")?,
            get(r, "network_mobilisation")?,
            get(r, "trust_building")?,
        ],
        proposition: get(r, "proposition")?,
        fit_verdict: fit_verdict(r)?,
        synthetic: get(r, "synthetic")?,
        revision: get(r, "revision")?,
    })
}

/// Every contribution of one universe (model version and year), as publication reads it, in the
/// order of their ids. Read in pages of `MEMBERS_PAGE` by id, so that the driver never holds a whole
/// universe's rows at once (the publisher reads a universe whole only when it has no copy of its
/// own: at start, and after another publisher or the demo seeding published it).
pub async fn members(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
    year: i32,
) -> Result<Vec<Member>, StoreError> {
    let mut out = Vec::new();
    let mut after = i64::MIN;
    loop {
        let stmt = Query::select()
            .columns(member_columns())
            .from(B::Table)
            .and_where(Expr::col(B::ModelId).eq(model_id))
            .and_where(Expr::col(B::ModelVersion).eq(model_version))
            .and_where(Expr::col(B::Year).eq(year))
            .and_where(Expr::col(B::Id).gt(after))
            // A fixed order: sums (means) come out the same to the last bit on every run.
            .order_by(B::Id, Order::Asc)
            .limit(MEMBERS_PAGE)
            .to_owned();
        let page = db.query_all(&stmt).await?;
        let full = page.len() as u64 == MEMBERS_PAGE;
        for row in &page {
            out.push(member_of(row)?);
        }
        match out.last() {
            Some(last) if full => after = last.id,
            _ => return Ok(out),
        }
    }
}

/// Contributions read per statement by `members`.
const MEMBERS_PAGE: u64 = 10_000;

/// The contributions with these ids (those that exist), as publication reads them.
pub async fn members_by_id(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Member>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let stmt = Query::select()
            .columns(member_columns())
            .from(B::Table)
            .and_where(Expr::col(B::Id).is_in(chunk.iter().copied()))
            .to_owned();
        for row in db.query_all(&stmt).await? {
            out.push(member_of(&row)?);
        }
    }
    Ok(out)
}

/// The years with contributions of a model version.
pub async fn contribution_years(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
) -> Result<Vec<i32>, StoreError> {
    let stmt = Query::select()
        .distinct()
        .column(B::Year)
        .from(B::Table)
        .and_where(Expr::col(B::ModelId).eq(model_id))
        .and_where(Expr::col(B::ModelVersion).eq(model_version))
        .order_by(B::Year, Order::Asc)
        .to_owned();
    db.query_all(&stmt).await?.iter().map(|r| get(r, "year")).collect()
}

/// A published group's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    /// `GroupKey` as text.
    pub group_key: String,
    /// Level id.
    pub level: String,
    /// Distinct firms.
    pub n: i32,
    /// Share of synthetic contributions.
    pub synthetic_share: f64,
    /// Highest revision included.
    pub watermark: i64,
    /// The figures in the store's encoding (`figures::Figures::encode`).
    pub figures: Vec<u8>,
    /// Year.
    pub year: i32,
}

/// The published groups of a universe (or one of them).
pub async fn releases(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
    year: Option<i32>,
    group_key: Option<&str>,
) -> Result<Vec<Release>, StoreError> {
    let mut q = Query::select();
    q.columns(RELEASE_COLUMNS)
        .from(R::Table)
        .and_where(Expr::col(R::ModelId).eq(model_id))
        .and_where(Expr::col(R::ModelVersion).eq(model_version));
    if let Some(y) = year {
        q.and_where(Expr::col(R::Year).eq(y));
    }
    if let Some(g) = group_key {
        q.and_where(Expr::col(R::GroupKey).eq(g));
    }
    q.order_by(R::Year, Order::Asc).order_by(R::GroupKey, Order::Asc);
    db.query_all(&q).await?.iter().map(release_of).collect()
}

/// Which releases of a model version a sector volume (or the night's volumes) reads: what it shows
/// and nothing else. At national scale most releases are groups by province, and a group's stored
/// figures hold the ranks of its members' values, so reading everything would cost a volume many
/// times what it shows.
#[derive(Clone, Debug)]
pub struct VolumeRead<'a> {
    /// The volume's year.
    pub year: i32,
    /// Levels read in `year` (`all`, `size`, `section`, `section_size`, `section_size_province`).
    pub levels: &'a [&'a str],
    /// Groups of `year` at level `section_size_province` whose key starts with this (`F/small/`).
    pub provinces: Option<&'a str>,
    /// Levels read in the years before `year` (the trend).
    pub earlier_levels: &'a [&'a str],
    /// Group keys read in the years before `year`, besides those levels.
    pub earlier_keys: &'a [String],
}

/// The releases `read` names, and the national group of every year (so that a volume of a year
/// without figures can name the years with them).
pub async fn releases_for_volumes(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
    read: &VolumeRead<'_>,
) -> Result<Vec<Release>, StoreError> {
    let mut in_year = Expr::col(R::Level).is_in(read.levels.iter().copied());
    if let Some(prefix) = read.provinces {
        // The prefix is ours (a section code and a size class), never a caller's text; `%` and
        // `_` cannot occur in it, and the level check keeps the match exact.
        let provinces =
            Expr::col(R::Level).eq("section_size_province").and(Expr::col(R::GroupKey).like(format!("{prefix}%")));
        in_year = in_year.or(provinces);
    }
    let earlier = Expr::col(R::Level)
        .is_in(read.earlier_levels.iter().copied())
        .or(Expr::col(R::GroupKey).is_in(read.earlier_keys.iter().map(String::as_str)));
    let wanted = Expr::col(R::Level)
        .eq("all")
        .or(Expr::col(R::Year).eq(read.year).and(in_year))
        .or(Expr::col(R::Year).lt(read.year).and(earlier));
    let q = Query::select()
        .columns(RELEASE_COLUMNS)
        .from(R::Table)
        .and_where(Expr::col(R::ModelId).eq(model_id))
        .and_where(Expr::col(R::ModelVersion).eq(model_version))
        .and_where(wanted)
        .order_by(R::Year, Order::Asc)
        .order_by(R::GroupKey, Order::Asc)
        .to_owned();
    db.query_all(&q).await?.iter().map(release_of).collect()
}

/// The columns of a release as `release_of` reads it.
const RELEASE_COLUMNS: [R; 7] = [R::GroupKey, R::Level, R::N, R::SyntheticShare, R::Watermark, R::Figures, R::Year];

fn release_of(r: &QueryResult) -> Result<Release, StoreError> {
    Ok(Release {
        group_key: get(r, "group_key")?,
        level: get(r, "level")?,
        n: get(r, "n")?,
        synthetic_share: get(r, "synthetic_share")?,
        watermark: get(r, "watermark")?,
        figures: get(r, "figures")?,
        year: get(r, "year")?,
    })
}

/// The groups of a universe with published figures, and each one's watermark (without the
/// figures themselves, which publication does not need to read).
pub async fn release_marks(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
    year: i32,
) -> Result<Vec<(String, i64)>, StoreError> {
    let stmt = Query::select()
        .columns([R::GroupKey, R::Watermark])
        .from(R::Table)
        .and_where(Expr::col(R::ModelId).eq(model_id))
        .and_where(Expr::col(R::ModelVersion).eq(model_version))
        .and_where(Expr::col(R::Year).eq(year))
        .to_owned();
    db.query_all(&stmt).await?.iter().map(|r| Ok((get(r, "group_key")?, get(r, "watermark")?))).collect()
}

/// What tells one publication of a group's figures from another: its watermark and the time it
/// was written (a group republished is written anew, even where its watermark is unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Highest revision included.
    pub watermark: i64,
    /// When the figures were written.
    pub published_at_us: i64,
}

fn stamp_of(r: &QueryResult) -> Result<Stamp, StoreError> {
    Ok(Stamp { watermark: get(r, "watermark")?, published_at_us: get(r, "published_at_us")? })
}

/// The published groups of a universe, each with its stamp, without their figures: what a
/// server's cache compares with what it holds, to read only the groups published anew.
pub async fn release_stamps(
    db: &impl ConnectionTrait,
    universe: &Universe,
) -> Result<Vec<(String, Stamp)>, StoreError> {
    let stmt = Query::select()
        .columns([R::GroupKey, R::Watermark, R::PublishedAtUs])
        .from(R::Table)
        .and_where(Expr::col(R::ModelId).eq(universe.model_id.as_str()))
        .and_where(Expr::col(R::ModelVersion).eq(universe.model_version))
        .and_where(Expr::col(R::Year).eq(universe.year))
        .to_owned();
    db.query_all(&stmt).await?.iter().map(|r| Ok((get(r, "group_key")?, stamp_of(r)?))).collect()
}

/// The releases of a universe, each with its stamp: those named by `keys`, or all of them.
pub async fn releases_stamped(
    db: &impl ConnectionTrait,
    universe: &Universe,
    keys: Option<&[String]>,
) -> Result<Vec<(Release, Stamp)>, StoreError> {
    let select = |keys: Option<&[String]>| {
        let mut q = Query::select();
        q.columns(RELEASE_COLUMNS.into_iter().chain([R::PublishedAtUs]))
            .from(R::Table)
            .and_where(Expr::col(R::ModelId).eq(universe.model_id.as_str()))
            .and_where(Expr::col(R::ModelVersion).eq(universe.model_version))
            .and_where(Expr::col(R::Year).eq(universe.year));
        if let Some(keys) = keys {
            q.and_where(Expr::col(R::GroupKey).is_in(keys.iter().map(String::as_str)));
        }
        q
    };
    let mut out = Vec::new();
    let chunks: Vec<Option<&[String]>> = match keys {
        Some(keys) => keys.chunks(500).map(Some).collect(),
        None => vec![None],
    };
    for chunk in chunks {
        for row in db.query_all(&select(chunk)).await? {
            out.push((release_of(&row)?, stamp_of(&row)?));
        }
    }
    Ok(out)
}

/// Publishes (replaces) the figures of groups of `universe`: one delete and one insert per hundred
/// groups, so that a round of publication holds the write lock briefly.
pub async fn put_releases(
    db: &impl ConnectionTrait,
    universe: &Universe,
    releases: &[Release],
    now_us: i64,
) -> Result<(), StoreError> {
    let keys: Vec<String> = releases.iter().map(|r| r.group_key.clone()).collect();
    delete_releases(db, universe, &keys).await?;
    for chunk in releases.chunks(100) {
        let mut stmt = Query::insert();
        stmt.into_table(R::Table)
            .columns([R::ModelId, R::ModelVersion].into_iter().chain(RELEASE_COLUMNS).chain([R::PublishedAtUs]));
        for r in chunk {
            stmt.values_panic([
                universe.model_id.as_str().into(),
                universe.model_version.into(),
                r.group_key.as_str().into(),
                r.level.as_str().into(),
                r.n.into(),
                r.synthetic_share.into(),
                r.watermark.into(),
                r.figures.clone().into(),
                r.year.into(),
                now_us.into(),
            ]);
        }
        db.execute(&stmt).await?;
    }
    Ok(())
}

/// Withdraws the figures of groups of `universe`.
pub async fn delete_releases(
    db: &impl ConnectionTrait,
    universe: &Universe,
    keys: &[String],
) -> Result<(), StoreError> {
    for chunk in keys.chunks(500) {
        let stmt = Query::delete()
            .from_table(R::Table)
            .and_where(Expr::col(R::ModelId).eq(universe.model_id.as_str()))
            .and_where(Expr::col(R::ModelVersion).eq(universe.model_version))
            .and_where(Expr::col(R::Year).eq(universe.year))
            .and_where(Expr::col(R::GroupKey).is_in(chunk.iter().map(String::as_str)))
            .to_owned();
        db.execute(&stmt).await?;
    }
    Ok(())
}

/// One universe of the benchmark: a model version and a year.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Universe {
    /// Model id.
    pub model_id: String,
    /// Model version.
    pub model_version: i32,
    /// Year.
    pub year: i32,
}

fn universe_of(row: &QueryResult) -> Result<Universe, StoreError> {
    Ok(Universe { model_id: get(row, "model_id")?, model_version: get(row, "model_version")?, year: get(row, "year")? })
}

/// Notes that the contribution with id `contribution` of `universe` changed (`None`: any number
/// of its contributions), for the publisher, in the change's transaction.
pub async fn record_change(
    db: &impl ConnectionTrait,
    universe: &Universe,
    contribution: Option<i64>,
) -> Result<(), StoreError> {
    record_changes(db, &[(universe, contribution)]).await
}

/// `record_change` for many changes in one statement.
pub async fn record_changes(db: &impl ConnectionTrait, changes: &[(&Universe, Option<i64>)]) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut stmt = Query::insert();
    stmt.into_table(C::Table).columns([C::ModelId, C::ModelVersion, C::Year, C::ContributionId]);
    for (universe, contribution) in changes {
        stmt.values_panic([
            universe.model_id.clone().into(),
            universe.model_version.into(),
            universe.year.into(),
            (*contribution).into(),
        ]);
    }
    db.execute(&stmt).await?;
    Ok(())
}

/// Contributions filled in by one step of `backfill_fit_verdicts`.
const BACKFILL_CHUNK: u64 = 5_000;

/// What `backfill_fit_verdicts` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// Contributions that got their verdict.
    pub contributions: u64,
    /// Universes (years) noted as changed for the publisher.
    pub universes: usize,
}

/// Gives the contributions of one model version that were written before verdicts were kept (m0011)
/// the verdict `rules` give their stored maturity index and proposition centrality: the scoring
/// engine's own rule on the numbers it stored, so the verdict is the one it gave. Each step (at most
/// `BACKFILL_CHUNK` contributions) is one write transaction that gives the rows a new revision and
/// notes their universes as changed, so that the publisher republishes the groups with their verdict
/// shares. Nothing to do costs one read of an empty partial index (m0011). Callers serialise it with
/// other writers (SQLite).
pub async fn backfill_fit_verdicts(
    db: &DatabaseConnection,
    model_id: &str,
    model_version: i32,
    rules: &domain_model::FitRules,
) -> Result<Backfilled, StoreError> {
    let mut done = Backfilled::default();
    let mut years = std::collections::BTreeSet::new();
    loop {
        let tx = begin_write(db).await?;
        let stmt = Query::select()
            .columns([B::Id, B::Year, B::MaturityIndex, B::Proposition])
            .from(B::Table)
            .and_where(Expr::col(B::ModelId).eq(model_id))
            .and_where(Expr::col(B::ModelVersion).eq(model_version))
            .and_where(Expr::col(B::FitVerdict).is_null())
            .order_by(B::Id, Order::Asc)
            .limit(BACKFILL_CHUNK)
            .to_owned();
        let rows = tx.query_all(&stmt).await?;
        if rows.is_empty() {
            tx.rollback().await?;
            break;
        }
        let revision = next_revision(&tx).await?;
        let mut by_verdict: std::collections::BTreeMap<&'static str, Vec<i64>> = Default::default();
        let mut chunk_years = std::collections::BTreeSet::new();
        for r in &rows {
            let (id, year): (i64, i32) = (get(r, "id")?, get(r, "year")?);
            let verdict = rules.verdict(get(r, "maturity_index")?, get(r, "proposition")?);
            by_verdict.entry(verdict.id()).or_default().push(id);
            chunk_years.insert(year);
        }
        for (verdict, ids) in by_verdict {
            for part in ids.chunks(500) {
                let stmt = Query::update()
                    .table(B::Table)
                    .values([(B::FitVerdict, verdict.into()), (B::Revision, revision.into())])
                    .and_where(Expr::col(B::Id).is_in(part.iter().copied()))
                    .to_owned();
                tx.execute(&stmt).await?;
            }
        }
        for year in &chunk_years {
            let universe = Universe { model_id: model_id.to_string(), model_version, year: *year };
            record_change(&tx, &universe, None).await?;
        }
        tx.commit().await?;
        done.contributions += rows.len() as u64;
        years.extend(chunk_years);
    }
    done.universes = years.len();
    Ok(done)
}

/// A change not yet published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The change record's id.
    pub id: i64,
    /// Its universe.
    pub universe: Universe,
    /// The changed contribution; `None` for any number of the universe's contributions.
    pub contribution: Option<i64>,
}

/// Up to `limit` changes not yet published, oldest first.
pub async fn pending_changes(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<Change>, StoreError> {
    let stmt = Query::select()
        .columns([C::Id, C::ModelId, C::ModelVersion, C::Year, C::ContributionId])
        .from(C::Table)
        .order_by(C::Id, Order::Asc)
        .limit(limit)
        .to_owned();
    db.query_all(&stmt)
        .await?
        .iter()
        .map(|r| Ok(Change { id: get(r, "id")?, universe: universe_of(r)?, contribution: get(r, "contribution_id")? }))
        .collect()
}

/// The generation of `universe`'s latest publication, if it was ever published.
pub async fn universe_generation(db: &impl ConnectionTrait, universe: &Universe) -> Result<Option<i64>, StoreError> {
    let stmt = Query::select()
        .column(U::Generation)
        .from(U::Table)
        .and_where(Expr::col(U::ModelId).eq(universe.model_id.as_str()))
        .and_where(Expr::col(U::ModelVersion).eq(universe.model_version))
        .and_where(Expr::col(U::Year).eq(universe.year))
        .to_owned();
    match db.query_one(&stmt).await? {
        Some(r) => get(&r, "generation").map(Some),
        None => Ok(None),
    }
}

/// Forgets changes that a publication took into account.
pub async fn delete_changes(db: &impl ConnectionTrait, ids: &[i64]) -> Result<(), StoreError> {
    for chunk in ids.chunks(500) {
        let stmt =
            Query::delete().from_table(C::Table).and_where(Expr::col(C::Id).is_in(chunk.iter().copied())).to_owned();
        db.execute(&stmt).await?;
    }
    Ok(())
}

/// Takes or renews the publisher's lease for `holder` until `until_us`, if it is free, expired at
/// `now_us`, or already `holder`'s. Whether `holder` holds it now.
pub async fn take_lease(
    db: &impl ConnectionTrait,
    holder: &str,
    now_us: i64,
    until_us: i64,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(P::Table)
        .value(P::Holder, holder)
        .value(P::LeaseUntilUs, until_us)
        .and_where(Expr::col(P::Id).eq(1))
        .and_where(Expr::col(P::Holder).eq(holder).or(Expr::col(P::LeaseUntilUs).lt(now_us)))
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected() == 1)
}

/// Extends `holder`'s lease to `until_us` while it still holds it, unexpired at `now_us`; a lease
/// that expired (or passed to another holder) is not taken back this way. Whether it was extended.
pub async fn renew_lease(
    db: &impl ConnectionTrait,
    holder: &str,
    now_us: i64,
    until_us: i64,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(P::Table)
        .value(P::LeaseUntilUs, until_us)
        .and_where(Expr::col(P::Id).eq(1))
        .and_where(Expr::col(P::Holder).eq(holder))
        .and_where(Expr::col(P::LeaseUntilUs).gte(now_us))
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected() == 1)
}

/// Gives the lease up (at shutdown), so that another server takes over at once.
pub async fn release_lease(db: &impl ConnectionTrait, holder: &str) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(P::Table)
        .value(P::Holder, "")
        .value(P::LeaseUntilUs, 0i64)
        .and_where(Expr::col(P::Id).eq(1))
        .and_where(Expr::col(P::Holder).eq(holder))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// The next publication generation, in the publication's transaction. With `holder`, only while
/// it still holds the lease at `now_us` (a publisher that lost it writes nothing: `None`), and the
/// lease is extended to `until_us`; without (demo seeding), unconditionally.
pub async fn bump_generation(
    db: &impl ConnectionTrait,
    holder: Option<&str>,
    now_us: i64,
    until_us: i64,
) -> Result<Option<i64>, StoreError> {
    let mut stmt = Query::update();
    stmt.table(P::Table).value(P::Generation, Expr::col(P::Generation).add(1)).and_where(Expr::col(P::Id).eq(1));
    if let Some(holder) = holder {
        stmt.value(P::LeaseUntilUs, until_us)
            .and_where(Expr::col(P::Holder).eq(holder))
            .and_where(Expr::col(P::LeaseUntilUs).gte(now_us));
    }
    if db.execute(&stmt).await?.rows_affected() != 1 {
        return Ok(None);
    }
    generation(db).await.map(Some)
}

/// The store-wide publication generation.
pub async fn generation(db: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let stmt = Query::select().column(P::Generation).from(P::Table).and_where(Expr::col(P::Id).eq(1)).to_owned();
    match db.query_one(&stmt).await? {
        Some(r) => get(&r, "generation"),
        None => Err(StoreError::Malformed("benchmark_publisher has no row".into())),
    }
}

/// Records that `universe` was published at `generation`.
pub async fn mark_universe(db: &impl ConnectionTrait, universe: &Universe, generation: i64) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(U::Table)
        .columns([U::ModelId, U::ModelVersion, U::Year, U::Generation])
        .values_panic([
            universe.model_id.clone().into(),
            universe.model_version.into(),
            universe.year.into(),
            generation.into(),
        ])
        .on_conflict(
            OnConflict::columns([U::ModelId, U::ModelVersion, U::Year]).update_column(U::Generation).to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// The universes published after `generation`, with the generation of their latest publication.
pub async fn universes_since(db: &impl ConnectionTrait, generation: i64) -> Result<Vec<(Universe, i64)>, StoreError> {
    let stmt = Query::select()
        .columns([U::ModelId, U::ModelVersion, U::Year, U::Generation])
        .from(U::Table)
        .and_where(Expr::col(U::Generation).gt(generation))
        .to_owned();
    db.query_all(&stmt).await?.iter().map(|r| Ok((universe_of(r)?, get(r, "generation")?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::TransactionTrait;

    /// Every connection `open` gives on SQLite works in the log mode and with the settings it
    /// promises (asked in transactions held open together, so that several of the pool's
    /// connections answer).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_sqlite_database_opens_in_wal_mode_with_its_settings_on_every_connection() {
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
            assert_eq!((mode.as_str(), pages, cache), ("wal", 4000, -32768));
            held.push(tx);
        }
        drop(held);
        db.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
