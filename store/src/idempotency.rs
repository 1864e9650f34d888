//! Idempotency records (`idempotency_keys`): the response of every write remembered under its
//! request id, so that a retry answers what the first call answered.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};

use crate::StoreError;
use crate::connection::get;
use crate::schema::IdempotencyKeys as I;

/// A remembered write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recalled {
    /// The method that wrote it.
    pub method: String,
    /// The caller's hash of its request, compared on a replay; a keyed hash of it once erased.
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
    /// The tenant that made the write; request ids are unique per tenant.
    pub tenant: &'a str,
    /// The caller's request id.
    pub request_id: &'a str,
    /// The RPC method that made the write, for example `SubmitAssessment`.
    pub method: &'a str,
    /// The caller's hash of the request, compared on a replay.
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

/// `tenant`'s remembered SubmitAssessment responses that name no assessment yet (remembered before
/// m0014 with no audit entry to link them by): request id and encoded response.
pub async fn unlinked_submissions(
    db: &impl ConnectionTrait,
    tenant: &str,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let stmt = Query::select()
        .columns([I::RequestId, I::Response])
        .from(I::Table)
        .and_where(Expr::col(I::Tenant).eq(tenant))
        .and_where(Expr::col(I::AssessmentId).is_null())
        .and_where(Expr::col(I::ErasedAtUs).is_null())
        .and_where(Expr::col(I::Method).eq("SubmitAssessment"))
        .to_owned();
    db.query_all(&stmt).await?.iter().map(|r| Ok((get(r, "request_id")?, get(r, "response")?))).collect()
}

/// Names assessment `id` as what `tenant`'s remembered `request_id` stored.
pub async fn link_submission(
    db: &impl ConnectionTrait,
    tenant: &str,
    request_id: &str,
    id: i64,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(I::Table)
        .value(I::AssessmentId, id)
        .and_where(Expr::col(I::Tenant).eq(tenant))
        .and_where(Expr::col(I::RequestId).eq(request_id))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}
