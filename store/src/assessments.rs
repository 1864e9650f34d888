//! The assessment store (`assessments`): a tenant's assessments, written, read, listed and
//! erased. Every query filters on the tenant.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};

use domain_model::FirmProfile;

use crate::connection::{get, is_sqlite, wal_checkpoint};
use crate::schema::{Assessments as A, IdempotencyKeys as I};
use crate::{StoreError, records, tenants, webhooks};

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
    /// Id of the model the answers were scored with.
    pub model_id: String,
    /// Its version, as the store's columns hold it (`version_column`).
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

/// An assessment as the store holds it; its answers and result are decoded on demand.
#[derive(Clone, Debug)]
pub struct StoredAssessment {
    /// Assigned by the store on insertion: the API's assessment id.
    pub id: i64,
    /// Owning tenant.
    pub tenant: String,
    /// Benchmark year.
    pub year: i32,
    /// The CRM's reference.
    pub external_ref: String,
    /// The firm's name.
    pub firm_name: String,
    /// Id of the model the answers were scored with.
    pub model_id: String,
    /// Its version, as the store's columns hold it (`version_column`).
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
    /// Completed strictly before; `None`: no upper bound.
    pub completed_before_us: Option<i64>,
    /// Only assessments whose chapter has this status; `None`: any.
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

/// What an erased request's id starts with where it is kept (then a keyed hash of it).
pub const ERASED: &str = "erased:";

/// Erases one assessment of `tenant`, in `db`'s transaction: the row; the response remembered for
/// the request that stored it (redacted: it held the firm's name and reference); the request id
/// itself, which a CRM often builds from its reference, in that row and in the audit log,
/// replaced by [`ERASED`] and `keyed` of it (a keyed hash, so that a replay can still be
/// recognised and told the assessment was erased), and the request's hash by `keyed` of it; and
/// the webhook events about it with their deliveries (their payloads carry the reference); and its
/// archived chapters (they name the firm). The anonymised contribution stays: it names no firm.
/// Whether the assessment existed.
pub async fn erase_assessment(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: i64,
    now_us: i64,
    keyed: impl Fn(&str) -> String,
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
        .columns([I::RequestId, I::RequestHash])
        .from(I::Table)
        .and_where(Expr::col(I::Tenant).eq(tenant))
        .and_where(Expr::col(I::AssessmentId).eq(id))
        .and_where(Expr::col(I::ErasedAtUs).is_null())
        .to_owned();
    let requests: Vec<(String, String)> = db
        .query_all(&stmt)
        .await?
        .iter()
        .map(|r| Ok((get(r, "request_id")?, get(r, "request_hash")?)))
        .collect::<Result<_, StoreError>>()?;
    for (request_id, request_hash) in requests {
        let erased = format!("{ERASED}{}", keyed(&request_id));
        let stmt = Query::update()
            .table(I::Table)
            .value(I::RequestId, erased.as_str())
            .value(I::RequestHash, keyed(&request_hash))
            .value(I::Response, Vec::<u8>::new())
            .value(I::ErasedAtUs, now_us)
            .and_where(Expr::col(I::Tenant).eq(tenant))
            .and_where(Expr::col(I::RequestId).eq(request_id.as_str()))
            .to_owned();
        db.execute(&stmt).await?;
        tenants::forget_request_id(db, tenant, &request_id, &erased).await?;
    }
    webhooks::erase_assessment_events(db, tenant, id).await?;
    crate::archive::erase(db, id).await?;
    crate::invitations::erase_for_assessment(db, tenant, id).await?;
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
