//! The assessment store: identifiable, tenant-scoped records, and the idempotency log of writes.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Columns of `assessments`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum Assessments {
    Table,
    Id,
    Tenant,
    ExternalRef,
    FirmName,
    SbiSection,
    SizeClass,
    Province,
    Year,
    ModelId,
    ModelVersion,
    MaturityIndex,
    Answers,
    Result,
    ReportStatus,
    CompletedAtUs,
    CreatedAtUs,
    UpdatedAtUs,
}

/// Columns of `idempotency_keys`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum IdempotencyKeys {
    Table,
    Tenant,
    RequestId,
    Method,
    RequestHash,
    Response,
    CreatedAtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Assessments::Table)
                    .col(ColumnDef::new(Assessments::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Assessments::Tenant).string().not_null())
                    .col(ColumnDef::new(Assessments::ExternalRef).string().not_null())
                    .col(ColumnDef::new(Assessments::FirmName).string().not_null())
                    .col(ColumnDef::new(Assessments::SbiSection).string_len(1).not_null())
                    .col(ColumnDef::new(Assessments::SizeClass).string_len(8).not_null())
                    .col(ColumnDef::new(Assessments::Province).string_len(5).not_null())
                    .col(ColumnDef::new(Assessments::Year).integer().not_null())
                    .col(ColumnDef::new(Assessments::ModelId).string().not_null())
                    .col(ColumnDef::new(Assessments::ModelVersion).integer().not_null())
                    .col(ColumnDef::new(Assessments::MaturityIndex).double().not_null())
                    .col(ColumnDef::new(Assessments::Answers).binary().not_null())
                    .col(ColumnDef::new(Assessments::Result).binary().not_null())
                    .col(ColumnDef::new(Assessments::ReportStatus).string_len(16).not_null())
                    .col(ColumnDef::new(Assessments::CompletedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(Assessments::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(Assessments::UpdatedAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("assessments_tenant_id")
                    .table(Assessments::Table)
                    .col(Assessments::Tenant)
                    .col(Assessments::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("assessments_tenant_completed")
                    .table(Assessments::Table)
                    .col(Assessments::Tenant)
                    .col(Assessments::CompletedAtUs)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(ColumnDef::new(IdempotencyKeys::Tenant).string().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::RequestId).string().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Method).string().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::RequestHash).string_len(64).not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Response).binary().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::CreatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(IdempotencyKeys::Tenant).col(IdempotencyKeys::RequestId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Assessments::Table).to_owned()).await
    }
}
