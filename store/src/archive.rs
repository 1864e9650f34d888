//! The archive of what was sent: the chapter the nightly batch wrote, per assessment and language,
//! kept byte for byte in the database (so that every server serves it without a shared file
//! system) until the assessment is erased or the configured retention has passed.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sha2::{Digest, Sha256};

use crate::schema::ChapterArchive as C;
use crate::{StoreError, get};

/// An archived chapter's identity: what an ETag is made of, and its night.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// SHA-256 of the document, lower-case hex.
    pub sha256: String,
    /// The night that wrote it, `YYYY-MM-DD`.
    pub night: String,
    /// Its size in bytes.
    pub size: u64,
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Keeps `content` as the chapter of assessment `id` in `locale`, written the night `night`,
/// replacing an earlier one (in the caller's transaction: the batch records the chapter with its
/// status and its `chapter.ready` event).
pub async fn put(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: i64,
    locale: &str,
    night: &str,
    content: &[u8],
    now_us: i64,
) -> Result<(), StoreError> {
    let delete = Query::delete()
        .from_table(C::Table)
        .and_where(Expr::col(C::AssessmentId).eq(id))
        .and_where(Expr::col(C::Locale).eq(locale))
        .to_owned();
    db.execute(&delete).await?;
    let insert = Query::insert()
        .into_table(C::Table)
        .columns([C::AssessmentId, C::Tenant, C::Locale, C::Night, C::Sha256, C::Content, C::CreatedAtUs])
        .values_panic([
            id.into(),
            tenant.into(),
            locale.into(),
            night.into(),
            sha256_hex(content).into(),
            content.to_vec().into(),
            now_us.into(),
        ])
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// A read of `tenant`'s archived chapter of `id` in `locale` (the caller picks the columns): every
/// read names the tenant, so that no tenant reads another's chapter.
fn one(tenant: &str, id: i64, locale: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .from(C::Table)
        .and_where(Expr::col(C::Tenant).eq(tenant))
        .and_where(Expr::col(C::AssessmentId).eq(id))
        .and_where(Expr::col(C::Locale).eq(locale))
        .to_owned()
}

/// The stamp of `tenant`'s archived chapter of `id` in `locale`, without reading the document (a
/// conditional request that matches is answered from this alone).
pub async fn stamp(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: i64,
    locale: &str,
) -> Result<Option<Stamp>, StoreError> {
    let stmt = one(tenant, id, locale)
        .columns([C::Sha256, C::Night])
        .expr_as(Expr::cust("CAST(LENGTH(content) AS BIGINT)"), "size")
        .to_owned();
    let Some(row) = db.query_one(&stmt).await? else { return Ok(None) };
    let size: i64 = get(&row, "size")?;
    Ok(Some(Stamp { sha256: get(&row, "sha256")?, night: get(&row, "night")?, size: u64::try_from(size).unwrap_or(0) }))
}

/// `tenant`'s archived chapter of `id` in `locale`: its stamp and its bytes.
pub async fn document(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: i64,
    locale: &str,
) -> Result<Option<(Stamp, Vec<u8>)>, StoreError> {
    let stmt = one(tenant, id, locale).columns([C::Sha256, C::Night, C::Content]).to_owned();
    let Some(row) = db.query_one(&stmt).await? else { return Ok(None) };
    let content: Vec<u8> = get(&row, "content")?;
    let stamp = Stamp { sha256: get(&row, "sha256")?, night: get(&row, "night")?, size: content.len() as u64 };
    if sha256_hex(&content) != stamp.sha256 {
        return Err(StoreError::Malformed(format!("archived chapter {id} ({locale}) does not match its checksum")));
    }
    Ok(Some((stamp, content)))
}

/// Removes every archived chapter of assessment `id` (its erasure).
pub async fn erase(db: &impl ConnectionTrait, id: i64) -> Result<u64, StoreError> {
    let stmt = Query::delete().from_table(C::Table).and_where(Expr::col(C::AssessmentId).eq(id)).to_owned();
    Ok(db.execute(&stmt).await?.rows_affected())
}

/// Removes the chapters archived before `before_us` (the retention); how many.
pub async fn prune(db: &impl ConnectionTrait, before_us: i64) -> Result<u64, StoreError> {
    let stmt = Query::delete().from_table(C::Table).and_where(Expr::col(C::CreatedAtUs).lt(before_us)).to_owned();
    Ok(db.execute(&stmt).await?.rows_affected())
}
