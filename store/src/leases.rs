//! The publisher's lease and generations (`benchmark_publisher`, `benchmark_universes`): one
//! publisher per database at a time, and a generation per publication that servers reload by.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, UpdateStatement};

use crate::StoreError;
use crate::changes::{Universe, universe_of};
use crate::connection::get;
use crate::schema::{BenchmarkPublisher as P, BenchmarkUniverses as U};

/// The update of the publisher's one row that sets its lease to `until_us`.
fn lease_until(until_us: i64) -> UpdateStatement {
    Query::update().table(P::Table).value(P::LeaseUntilUs, until_us).and_where(Expr::col(P::Id).eq(1)).to_owned()
}

/// How a publisher asks for the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Takes it when it is free or expired, or renews it when it is the holder's already.
    Take,
    /// Extends it only while the holder still holds it unexpired: a lease that expired (or passed
    /// to another holder) is not taken back this way.
    Renew,
}

/// Claims the publisher's lease for `holder` until `until_us`, as `claim` says, at `now_us`.
/// Whether `holder` holds it now.
pub async fn claim_lease(
    db: &impl ConnectionTrait,
    holder: &str,
    claim: Claim,
    now_us: i64,
    until_us: i64,
) -> Result<bool, StoreError> {
    let mut stmt = lease_until(until_us);
    match claim {
        Claim::Take => stmt
            .value(P::Holder, holder)
            .and_where(Expr::col(P::Holder).eq(holder).or(Expr::col(P::LeaseUntilUs).lt(now_us))),
        Claim::Renew => {
            stmt.and_where(Expr::col(P::Holder).eq(holder)).and_where(Expr::col(P::LeaseUntilUs).gte(now_us))
        }
    };
    Ok(db.execute(&stmt).await?.rows_affected() == 1)
}

/// Gives the lease up (at shutdown), so that another server takes over at once.
pub async fn release_lease(db: &impl ConnectionTrait, holder: &str) -> Result<(), StoreError> {
    let stmt = lease_until(0).value(P::Holder, "").and_where(Expr::col(P::Holder).eq(holder)).to_owned();
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
