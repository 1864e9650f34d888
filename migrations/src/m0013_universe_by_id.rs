//! The index of a universe's contributions carries their id, so that the publisher's whole read
//! of a universe (pages of contributions by id: `id > last ORDER BY id LIMIT n`) is one range scan
//! per page. On PostgreSQL the index on (model, version, year) alone made every page scan and sort
//! the whole year: at 10 000 000 firm-years (1 045 369 in 2025) each of the 105 pages took 0.5 s,
//! the first round of publication 75 s. SQLite's indexes end in the rowid (the id) already; it
//! gets the same index, one definition for both.

use sea_orm_migration::prelude::*;

use crate::m0002_benchmark::BenchmarkContributions as B;

const OLD: &str = "benchmark_universe";
const NEW: &str = "benchmark_universe_id";

/// Replaces the index and back.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NEW)
                    .table(B::Table)
                    .col(B::ModelId)
                    .col(B::ModelVersion)
                    .col(B::Year)
                    .col(B::Id)
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(OLD).table(B::Table).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create().name(OLD).table(B::Table).col(B::ModelId).col(B::ModelVersion).col(B::Year).to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(NEW).table(B::Table).to_owned()).await
    }
}
