//! An index on a tenant's assessments by the CRM's reference to the firm, so that listing one
//! firm's assessments (`ListAssessments` filtered by `external_ref`, a chapter's trajectory) reads
//! only that firm's rows, however many assessments the tenant holds.

use sea_orm_migration::prelude::*;

use crate::m0001_assessments::Assessments;

const NAME: &str = "assessments_tenant_external_ref";

/// Adds and drops the index.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Assessments::Table)
                    .col(Assessments::Tenant)
                    .col(Assessments::ExternalRef)
                    .col(Assessments::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(NAME).table(Assessments::Table).to_owned()).await
    }
}
