//! Each change record names the contribution it is about, so that the publisher reads only the
//! changed contributions of a universe instead of all of them (issue 12: publication whose cost
//! follows the changes, not the size of the benchmark). A change without one (written before this
//! migration, or by a step that changed many contributions at once) means "the whole universe".

use sea_orm_migration::prelude::*;

use crate::m0007_publication::BenchmarkChanges;

/// The column this migration adds to `benchmark_changes`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum ChangeColumn {
    /// `benchmark_contributions.id` of the changed contribution; NULL for the whole universe.
    ContributionId,
}

/// Adds and drops the column.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut column = ColumnDef::new(ChangeColumn::ContributionId).big_integer().null().to_owned();
        manager.alter_table(Table::alter().table(BenchmarkChanges::Table).add_column(&mut column).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(BenchmarkChanges::Table).drop_column(ChangeColumn::ContributionId).to_owned(),
            )
            .await
    }
}
