//! Publication out of the write path. A submission no longer republishes its universe inside its
//! own transaction; it leaves a row in `benchmark_changes` (which universe changed) and a
//! publisher, one per database at a time by the lease in `benchmark_publisher`, republishes the
//! changed universes in the background. Every publication bumps the store-wide `generation` and
//! records it per universe in `benchmark_universes`, so that every server can reload exactly the
//! universes that changed into its in-memory cache.
//!
//! Also an index on `benchmark_contributions.revision`: the next revision number is read as
//! `MAX(revision)`, which without it scanned the whole store on every submission.

use sea_orm_migration::prelude::*;

use crate::m0002_benchmark::BenchmarkContributions;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Columns of `benchmark_changes`: one row per changed contribution, deleted by the publication
/// that took it into account.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkChanges {
    Table,
    Id,
    ModelId,
    ModelVersion,
    Year,
}

/// Columns of `benchmark_publisher`: the single row (id 1) of the publisher's lease and the
/// store-wide publication generation.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkPublisher {
    Table,
    Id,
    /// Who holds the lease (empty: nobody).
    Holder,
    /// Until when (microseconds since the epoch).
    LeaseUntilUs,
    /// Increases with every publication.
    Generation,
}

/// Columns of `benchmark_universes`: the generation of each universe's latest publication.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkUniverses {
    Table,
    ModelId,
    ModelVersion,
    Year,
    Generation,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use BenchmarkChanges as C;
        use BenchmarkPublisher as P;
        use BenchmarkUniverses as U;
        manager
            .create_index(
                Index::create()
                    .name("benchmark_revision")
                    .table(BenchmarkContributions::Table)
                    .col(BenchmarkContributions::Revision)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(ColumnDef::new(C::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(C::ModelId).string().not_null())
                    .col(ColumnDef::new(C::ModelVersion).integer().not_null())
                    .col(ColumnDef::new(C::Year).integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(ColumnDef::new(P::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(P::Holder).string_len(64).not_null())
                    .col(ColumnDef::new(P::LeaseUntilUs).big_integer().not_null())
                    .col(ColumnDef::new(P::Generation).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        let row = Query::insert()
            .into_table(P::Table)
            .columns([P::Id, P::Holder, P::LeaseUntilUs, P::Generation])
            .values_panic([1.into(), "".into(), 0i64.into(), 0i64.into()])
            .to_owned();
        manager.exec_stmt(row).await?;
        manager
            .create_table(
                Table::create()
                    .table(U::Table)
                    .col(ColumnDef::new(U::ModelId).string().not_null())
                    .col(ColumnDef::new(U::ModelVersion).integer().not_null())
                    .col(ColumnDef::new(U::Year).integer().not_null())
                    .col(ColumnDef::new(U::Generation).big_integer().not_null())
                    .primary_key(Index::create().col(U::ModelId).col(U::ModelVersion).col(U::Year))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("benchmark_universes_generation").table(U::Table).col(U::Generation).to_owned(),
            )
            .await?;
        // Universes published before this migration: generation 1, so that a server loads them.
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO benchmark_universes (model_id, model_version, year, generation) \
             SELECT DISTINCT model_id, model_version, year, 1 FROM benchmark_releases",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE benchmark_publisher SET generation = 1 WHERE EXISTS (SELECT 1 FROM benchmark_releases)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BenchmarkUniverses::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(BenchmarkPublisher::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(BenchmarkChanges::Table).to_owned()).await?;
        manager
            .drop_index(Index::drop().name("benchmark_revision").table(BenchmarkContributions::Table).to_owned())
            .await
    }
}
