//! Published benchmark figures. Answers are served from here, never computed live, so that one
//! submission cannot be read off as the difference between two answers: a group's row is only
//! replaced when at least k of its contributions changed since the row was computed.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Columns of `benchmark_releases`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkReleases {
    Table,
    ModelId,
    ModelVersion,
    Year,
    GroupKey,
    Level,
    N,
    SyntheticShare,
    /// Highest contribution revision included in the figures.
    Watermark,
    /// The figures, protobuf-encoded.
    Figures,
    PublishedAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use BenchmarkReleases as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(ColumnDef::new(R::ModelId).string().not_null())
                    .col(ColumnDef::new(R::ModelVersion).integer().not_null())
                    .col(ColumnDef::new(R::Year).integer().not_null())
                    .col(ColumnDef::new(R::GroupKey).string_len(32).not_null())
                    .col(ColumnDef::new(R::Level).string_len(32).not_null())
                    .col(ColumnDef::new(R::N).integer().not_null())
                    .col(ColumnDef::new(R::SyntheticShare).double().not_null())
                    .col(ColumnDef::new(R::Watermark).big_integer().not_null())
                    .col(ColumnDef::new(R::Figures).binary().not_null())
                    .col(ColumnDef::new(R::PublishedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(R::ModelId).col(R::ModelVersion).col(R::Year).col(R::GroupKey))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BenchmarkReleases::Table).to_owned()).await
    }
}
