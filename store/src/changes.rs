//! The publisher's work list (`benchmark_changes`): which universes (model version and year), and
//! which contributions in them, changed since their last publication.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, QueryResult};

use crate::StoreError;
use crate::connection::get;
use crate::schema::{BenchmarkChanges as C, BenchmarkUniverses as U};

/// One universe of the benchmark: a model version and a year.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Universe {
    pub model_id: String,
    pub model_version: i32,
    /// Benchmark year: the UTC year in which its assessments were completed.
    pub year: i32,
}

pub(crate) fn universe_of(row: &QueryResult) -> Result<Universe, StoreError> {
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

/// A change not yet published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The change record's id.
    pub id: i64,
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
