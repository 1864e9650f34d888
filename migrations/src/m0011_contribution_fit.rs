//! Each contribution keeps the fit verdict the engine gave it (`balanced`, `under_invested`,
//! `over_invested` or `restrained`, the ids of the model file), so that a release can publish the
//! shares of the verdicts in a group like it publishes the shares of the stages.
//!
//! Contributions written before this migration have no verdict (NULL): the store kept maturity and
//! proposition but not the verdict, and the verdict's rule lives in the model file, which a
//! migration does not read. The persistence service fills them in at start-up from the models it
//! holds (`store::backfill_fit_verdicts`); a group with a member still without one publishes no
//! verdict shares. A partial index holds exactly the contributions without a verdict, so that the
//! look for them at every start-up reads an empty index once they are filled in (new
//! contributions always carry one and never enter it).

use sea_orm_migration::prelude::*;

use crate::m0002_benchmark::BenchmarkContributions;

/// The column this migration adds to `benchmark_contributions`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum FitColumn {
    /// The verdict's id; NULL when not (yet) known.
    FitVerdict,
}

const INDEX: &str = "benchmark_contributions_without_fit";

/// Adds and drops the column and its index.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut column = ColumnDef::new(FitColumn::FitVerdict).string_len(16).null().to_owned();
        manager
            .alter_table(Table::alter().table(BenchmarkContributions::Table).add_column(&mut column).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(BenchmarkContributions::Table)
                    .col(BenchmarkContributions::ModelId)
                    .col(BenchmarkContributions::ModelVersion)
                    .col(BenchmarkContributions::Id)
                    .and_where(Expr::col(FitColumn::FitVerdict).is_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(BenchmarkContributions::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(BenchmarkContributions::Table).drop_column(FitColumn::FitVerdict).to_owned(),
            )
            .await
    }
}
