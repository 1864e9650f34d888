//! Tenants, their API keys and the audit log of writes. A key is stored only as the SHA-256 of the
//! whole key (keys are 190 random bits, so a fast hash is enough) next to its public prefix, by
//! which it is found; the key itself is shown once, when it is issued.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Columns of `tenants`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum Tenants {
    Table,
    /// The tenant id (letters, digits, '-', '_', at most 64): the `tenant` of its assessments.
    Id,
    /// A display name.
    Name,
    CreatedAtUs,
}

/// Columns of `api_keys`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum ApiKeys {
    Table,
    /// The public part of the key (`mk_` and 10 characters), unique; shown in listings and logs.
    Prefix,
    Tenant,
    /// Hex SHA-256 of the whole key.
    Hash,
    /// What the key is for (free text of the operator).
    Label,
    CreatedAtUs,
    /// When it was revoked; NULL while valid.
    RevokedAtUs,
}

/// Columns of `audit_log`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum AuditLog {
    Table,
    Id,
    Tenant,
    /// The key's prefix (never the key), or the operator's tool.
    Actor,
    /// The operation, for example `SubmitAssessment`.
    Action,
    /// What it touched, for example `assessment 42`.
    Target,
    /// The caller's request id, when it sent one.
    RequestId,
    AtUs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(ColumnDef::new(Tenants::Id).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(Tenants::Name).string().not_null())
                    .col(ColumnDef::new(Tenants::CreatedAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(ColumnDef::new(ApiKeys::Prefix).string_len(16).not_null().primary_key())
                    .col(ColumnDef::new(ApiKeys::Tenant).string_len(64).not_null())
                    .col(ColumnDef::new(ApiKeys::Hash).string_len(64).not_null())
                    .col(ColumnDef::new(ApiKeys::Label).string().not_null())
                    .col(ColumnDef::new(ApiKeys::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(ApiKeys::RevokedAtUs).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("api_keys_tenant")
                            .from(ApiKeys::Table, ApiKeys::Tenant)
                            .to(Tenants::Table, Tenants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(ColumnDef::new(AuditLog::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(AuditLog::Tenant).string_len(64).not_null())
                    .col(ColumnDef::new(AuditLog::Actor).string().not_null())
                    .col(ColumnDef::new(AuditLog::Action).string().not_null())
                    .col(ColumnDef::new(AuditLog::Target).string().not_null())
                    .col(ColumnDef::new(AuditLog::RequestId).string().not_null())
                    .col(ColumnDef::new(AuditLog::AtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_tenant_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::Tenant)
                    .col(AuditLog::AtUs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditLog::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Tenants::Table).to_owned()).await
    }
}
