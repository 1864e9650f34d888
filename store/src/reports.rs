//! The nightly batch's queue, kept on the assessments themselves: an assessment waits for its
//! chapter while its `report_status` is `pending` (or `failed` with attempts left). A worker
//! claims a few at a time with a lease; on PostgreSQL the claim locks with `FOR UPDATE SKIP
//! LOCKED`, so that workers on several machines never claim the same row, and on SQLite the
//! claim is one statement, which SQLite runs alone. A live worker renews its leases while it
//! renders (`renew`); a worker that dies leaves leases that expire one lease after its last
//! renewal, after which any worker claims those rows again.

use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query, SelectStatement};

use crate::schema::{Assessments as A, ReportColumns as C};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest, Sha256};

use crate::webhooks;
use crate::{ASSESSMENT_COLUMNS, ReportStatus, StoreError, StoredAssessment, assessment, get};

const PENDING: &str = ReportStatus::Pending.as_str();
const RENDERED: &str = ReportStatus::Rendered.as_str();
const FAILED: &str = ReportStatus::Failed.as_str();

/// Which work a batch may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Night {
    /// Assessments completed before this instant (the end of the night's day, UTC).
    pub completed_before_us: i64,
    /// Failed renderings after which an assessment is left for an operator.
    pub max_attempts: i32,
}

fn waiting(q: &mut SelectStatement, night: &Night) {
    q.and_where(Expr::col(A::ReportStatus).is_in([PENDING, FAILED]))
        .and_where(Expr::col(C::ReportAttempts).lt(night.max_attempts))
        .and_where(Expr::col(A::CompletedAtUs).lt(night.completed_before_us));
}

/// Claims up to `limit` waiting assessments nobody holds (or whose lease expired) for `worker`
/// until `lease_until_us`, oldest first.
pub async fn claim(
    db: &impl ConnectionTrait,
    night: &Night,
    worker: &str,
    now_us: i64,
    lease_until_us: i64,
    limit: u64,
) -> Result<Vec<StoredAssessment>, StoreError> {
    let mut free = Query::select();
    free.column(A::Id).from(A::Table);
    waiting(&mut free, night);
    free.and_where(Expr::col(C::ReportLeaseUntilUs).is_null().or(Expr::col(C::ReportLeaseUntilUs).lt(now_us)))
        .order_by(A::Id, Order::Asc)
        .limit(limit)
        // PostgreSQL: rows another worker is claiming right now are skipped, not waited for.
        // SQLite has no row locks; the whole UPDATE runs alone there.
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    let stmt = Query::update()
        .table(A::Table)
        .value(C::ReportWorker, worker)
        .value(C::ReportLeaseUntilUs, lease_until_us)
        .and_where(Expr::col(A::Id).in_subquery(free))
        .returning(Query::returning().columns(ASSESSMENT_COLUMNS))
        .to_owned();
    let mut rows: Vec<StoredAssessment> =
        db.query_all(&stmt).await?.iter().map(assessment).collect::<Result<_, _>>()?;
    rows.sort_by_key(|a| a.id);
    Ok(rows)
}

/// Records that `a`'s chapter `pdf` is durable at `path` (relative to the batch's output folder)
/// and, in the same transaction, keeps it in the archive (what `chapter.ready`'s download serves)
/// and records the tenant's `chapter.ready` event. Recording it twice (two workers after a lease
/// ran out) changes nothing and sends nothing the second time.
pub async fn mark_rendered(
    db: &DatabaseConnection,
    a: &StoredAssessment,
    path: &str,
    night: &str,
    locale: &str,
    pdf: &[u8],
    now_us: i64,
) -> Result<(), StoreError> {
    let tx = crate::begin_write(db).await?;
    let stmt = Query::update()
        .table(A::Table)
        .value(A::ReportStatus, RENDERED)
        .value(C::ReportPath, path)
        .value(C::ReportNight, night)
        .value(C::ReportedAtUs, now_us)
        .value(C::ReportError, Option::<String>::None)
        .value(C::ReportWorker, Option::<String>::None)
        .value(C::ReportLeaseUntilUs, Option::<i64>::None)
        .value(A::UpdatedAtUs, now_us)
        .and_where(Expr::col(A::Id).eq(a.id))
        .and_where(Expr::col(A::ReportStatus).ne(RENDERED))
        .to_owned();
    if tx.execute(&stmt).await?.rows_affected() > 0 {
        crate::archive::put(&tx, &a.tenant, a.id, locale, night, pdf, now_us).await?;
        let data = serde_json::json!({
            "assessmentId": a.id.to_string(),
            "externalRef": a.external_ref,
            "night": night,
            "locale": locale,
            "download": format!("/v1/assessments/{}/chapter?locale={locale}", a.id),
        });
        webhooks::record_event(&tx, &a.tenant, domain_webhooks::CHAPTER_READY, data, now_us).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records, once per tenant and outcome, that `night` ended: `rendered` chapters and `given_up`
/// assessments of `tenant`. Several workers finishing the same night record one event: its id is
/// derived from what it reports.
pub async fn mark_night_finished(
    db: &DatabaseConnection,
    tenant: &str,
    night: &str,
    rendered: usize,
    given_up: usize,
    now_us: i64,
) -> Result<bool, StoreError> {
    let digest = Sha256::digest(format!("{tenant}\u{0}{night}\u{0}{rendered}\u{0}{given_up}").as_bytes());
    let hex = hex::encode(&digest[..12]);
    let id = format!("msg_n{}", &hex[..23]);
    let tx = crate::begin_write(db).await?;
    if webhooks::event(&tx, tenant, &id).await?.is_some() {
        return Ok(false);
    }
    let data = serde_json::json!({ "night": night, "rendered": rendered, "failed": given_up });
    webhooks::record_event_as(&tx, &id, tenant, domain_webhooks::BATCH_FINISHED, data, now_us).await?;
    tx.commit().await?;
    Ok(true)
}

/// Records a failed rendering of `id` by `worker` (one attempt more) and gives it up.
pub async fn mark_failed(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    error: &str,
    now_us: i64,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(A::Table)
        .value(A::ReportStatus, FAILED)
        .value(C::ReportAttempts, Expr::col(C::ReportAttempts).add(1))
        .value(C::ReportError, error)
        .value(C::ReportWorker, Option::<String>::None)
        .value(C::ReportLeaseUntilUs, Option::<i64>::None)
        .value(A::UpdatedAtUs, now_us)
        .and_where(Expr::col(A::Id).eq(id))
        .and_where(Expr::col(A::ReportStatus).ne(RENDERED))
        .and_where(Expr::col(C::ReportWorker).eq(worker))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Gives `id` back without counting an attempt (the failure was the output's, not the chapter's).
pub async fn release(db: &impl ConnectionTrait, id: i64, worker: &str) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(A::Table)
        .value(C::ReportWorker, Option::<String>::None)
        .value(C::ReportLeaseUntilUs, Option::<i64>::None)
        .and_where(Expr::col(A::Id).eq(id))
        .and_where(Expr::col(C::ReportWorker).eq(worker))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Extends until `lease_until_us` the leases `worker` holds on `ids` (the chapters it is working
/// on) that are not yet rendered: a live worker keeps what it claimed however long a chapter
/// takes, and a dead one's leases run out one lease after its last renewal. A row another worker
/// took over is not touched. How many leases were extended.
pub async fn renew(
    db: &impl ConnectionTrait,
    worker: &str,
    ids: &[i64],
    lease_until_us: i64,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(A::Table)
        .value(C::ReportLeaseUntilUs, lease_until_us)
        .and_where(Expr::col(A::Id).is_in(ids.iter().copied()))
        .and_where(Expr::col(C::ReportWorker).eq(worker))
        .and_where(Expr::col(A::ReportStatus).ne(RENDERED))
        .and_where(Expr::col(C::ReportLeaseUntilUs).is_not_null())
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected())
}

/// Whether `worker` still holds `id` (no other worker took it over after its lease ran out, and it
/// is not rendered): checked before a chapter is written, so that a worker that was stopped for
/// longer than its lease does not write what another has taken over.
pub async fn holds(db: &impl ConnectionTrait, id: i64, worker: &str) -> Result<bool, StoreError> {
    let stmt = Query::select()
        .column(A::Id)
        .from(A::Table)
        .and_where(Expr::col(A::Id).eq(id))
        .and_where(Expr::col(C::ReportWorker).eq(worker))
        .and_where(Expr::col(A::ReportStatus).ne(RENDERED))
        .to_owned();
    Ok(db.query_one(&stmt).await?.is_some())
}

/// How many assessments have each report status.
pub async fn status_counts(db: &impl ConnectionTrait) -> Result<Vec<(ReportStatus, i64)>, StoreError> {
    let stmt = Query::select()
        .column(A::ReportStatus)
        .expr_as(Expr::col(A::Id).count(), "n")
        .from(A::Table)
        .group_by_col(A::ReportStatus)
        .to_owned();
    db.query_all(&stmt).await?.iter().map(|r| Ok((ReportStatus::column(r)?, get(r, "n")?))).collect()
}

/// What is still to do for a night.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outstanding {
    /// Waiting assessments, held or not.
    pub waiting: u64,
    /// The earliest expiry of a lease another worker holds, if any is held.
    pub next_expiry_us: Option<i64>,
}

/// How much of `night` is left.
pub async fn outstanding(db: &impl ConnectionTrait, night: &Night, now_us: i64) -> Result<Outstanding, StoreError> {
    let mut q = Query::select();
    q.expr_as(Expr::col(A::Id).count(), "waiting")
        .expr_as(
            Expr::case(Expr::col(C::ReportLeaseUntilUs).gte(now_us), Expr::col(C::ReportLeaseUntilUs))
                .finally(Expr::val(Option::<i64>::None))
                .min(),
            "next_expiry",
        )
        .from(A::Table);
    waiting(&mut q, night);
    let row = db.query_one(&q).await?.ok_or_else(|| StoreError::Malformed("count returned no row".into()))?;
    let waiting: i64 = get(&row, "waiting")?;
    Ok(Outstanding { waiting: u64::try_from(waiting).unwrap_or(0), next_expiry_us: get(&row, "next_expiry")? })
}

/// The assessments whose chapters `night`'s batch wrote, by tenant and id (for the book).
pub async fn rendered_in(db: &impl ConnectionTrait, night: &str) -> Result<Vec<StoredAssessment>, StoreError> {
    let stmt = Query::select()
        .columns(ASSESSMENT_COLUMNS)
        .from(A::Table)
        .and_where(Expr::col(C::ReportNight).eq(night))
        .and_where(Expr::col(A::ReportStatus).eq(RENDERED))
        .order_by(A::Tenant, Order::Asc)
        .order_by(A::Id, Order::Asc)
        .to_owned();
    db.query_all(&stmt).await?.iter().map(assessment).collect()
}

/// The assessments that failed for good (no attempts left), for the batch's report.
pub async fn given_up(db: &impl ConnectionTrait, night: &Night) -> Result<Vec<(i64, String, String)>, StoreError> {
    let stmt = Query::select()
        .columns([A::Id, A::Tenant])
        .column(C::ReportError)
        .from(A::Table)
        .and_where(Expr::col(A::ReportStatus).eq(FAILED))
        .and_where(Expr::col(C::ReportAttempts).gte(night.max_attempts))
        .and_where(Expr::col(A::CompletedAtUs).lt(night.completed_before_us))
        .order_by(A::Id, Order::Asc)
        .to_owned();
    db.query_all(&stmt)
        .await?
        .iter()
        .map(|r| Ok((get(r, "id")?, get(r, "tenant")?, get::<Option<String>>(r, "report_error")?.unwrap_or_default())))
        .collect()
}

/// One assessment by id, whatever its tenant (the batch works across tenants).
pub async fn by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<StoredAssessment>, StoreError> {
    let stmt = Query::select().columns(ASSESSMENT_COLUMNS).from(A::Table).and_where(Expr::col(A::Id).eq(id)).to_owned();
    db.query_one(&stmt).await?.as_ref().map(assessment).transpose()
}
