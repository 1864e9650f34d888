//! The anonymised benchmark store: one contribution per pseudonymous firm, year and model version
//! (latest wins), and nothing that names a firm.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Columns of `benchmark_contributions`. Only what MODEL.md allows: coarse attributes, year,
/// scores, stages, value sources, model version, a keyed pseudonym and the synthetic flag.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkContributions {
    Table,
    Id,
    Pseudonym,
    Year,
    ModelId,
    ModelVersion,
    SbiSection,
    SizeClass,
    Province,
    MaturityIndex,
    ExternalIndex,
    InternalIndex,
    ExternalStage,
    InternalStage,
    CoCreation,
    InformationSharing,
    NetworkMobilisation,
    TrustBuilding,
    Proposition,
    Synthetic,
    Revision,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use BenchmarkContributions as B;
        manager
            .create_table(
                Table::create()
                    .table(B::Table)
                    .col(ColumnDef::new(B::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(B::Pseudonym).string_len(64).not_null())
                    .col(ColumnDef::new(B::Year).integer().not_null())
                    .col(ColumnDef::new(B::ModelId).string().not_null())
                    .col(ColumnDef::new(B::ModelVersion).integer().not_null())
                    .col(ColumnDef::new(B::SbiSection).string_len(1).not_null())
                    .col(ColumnDef::new(B::SizeClass).string_len(8).not_null())
                    .col(ColumnDef::new(B::Province).string_len(5).not_null())
                    .col(ColumnDef::new(B::MaturityIndex).double().not_null())
                    .col(ColumnDef::new(B::ExternalIndex).double().not_null())
                    .col(ColumnDef::new(B::InternalIndex).double().not_null())
                    .col(ColumnDef::new(B::ExternalStage).small_integer().not_null())
                    .col(ColumnDef::new(B::InternalStage).small_integer().not_null())
                    .col(ColumnDef::new(B::CoCreation).double().null())
                    .col(ColumnDef::new(B::InformationSharing).double().null())
                    .col(ColumnDef::new(B::NetworkMobilisation).double().null())
                    .col(ColumnDef::new(B::TrustBuilding).double().null())
                    .col(ColumnDef::new(B::Proposition).double().not_null())
                    .col(ColumnDef::new(B::Synthetic).boolean().not_null())
                    // Increases with every insert or replacement, store-wide: the republication
                    // rule counts the contributions of a group changed since its figures.
                    .col(ColumnDef::new(B::Revision).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("benchmark_one_per_firm_year")
                    .table(B::Table)
                    .col(B::Pseudonym)
                    .col(B::Year)
                    .col(B::ModelId)
                    .col(B::ModelVersion)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("benchmark_universe")
                    .table(B::Table)
                    .col(B::ModelId)
                    .col(B::ModelVersion)
                    .col(B::Year)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BenchmarkContributions::Table).to_owned()).await
    }
}
