//! Each contribution keeps the firm's two answers on returns as the model's `fit.returns` rule
//! reads them: returns at least equal to the costs, and returns measured in money (each NULL
//! without an answer, "don't know" included), so that a release can publish, per group, how often
//! firms like the reader's report that social media pay.
//!
//! Contributions written before this migration have neither (NULL): a contribution keeps no
//! answers, so nothing can fill them in. They count in every other figure and in no pay figure.

use sea_orm_migration::prelude::*;

use crate::m0002_benchmark::BenchmarkContributions;

/// The columns this migration adds to `benchmark_contributions`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum ReturnsColumn {
    /// Returns at least equal to the costs.
    ReturnsCoverCosts,
    /// Returns measured in money.
    ReturnsMeasured,
}

/// Adds and drops the columns.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for column in [ReturnsColumn::ReturnsCoverCosts, ReturnsColumn::ReturnsMeasured] {
            let mut def = ColumnDef::new(column).boolean().null().to_owned();
            manager
                .alter_table(Table::alter().table(BenchmarkContributions::Table).add_column(&mut def).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [ReturnsColumn::ReturnsCoverCosts, ReturnsColumn::ReturnsMeasured] {
            manager
                .alter_table(Table::alter().table(BenchmarkContributions::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
