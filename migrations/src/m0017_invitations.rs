//! Invitations: the links with which a firm answers the questionnaire in a browser, and the draft
//! of its answers. The link's token is kept only as its SHA-256; the draft goes when the answers
//! are submitted or the invitation is revoked, the whole row with the assessment at erasure.

use sea_orm_migration::prelude::*;

/// Table `invitations`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum Invitations {
    Table,
    /// `inv_` and 24 letters and digits.
    Id,
    Tenant,
    /// SHA-256 of the link's token, lower-case hex.
    TokenSha256,
    ExternalRef,
    FirmName,
    SbiSection,
    SizeClass,
    Province,
    /// `nl` or `en`.
    Locale,
    ModelId,
    ModelVersion,
    CreatedAtUs,
    ExpiresAtUs,
    OpenedAtUs,
    SubmittedAtUs,
    RevokedAtUs,
    AssessmentId,
    /// The answers saved so far, in the store's versioned JSON (item id to value); empty when none.
    Draft,
    /// How many items the draft answers.
    Answered,
    /// Bumped by every save: a page saved from a stale copy of the draft is told so.
    DraftVersion,
}

const BY_TOKEN: &str = "invitations_token";
const BY_TENANT: &str = "invitations_tenant_created";

/// Creates and drops the table.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Invitations as I;
        manager
            .create_table(
                Table::create()
                    .table(I::Table)
                    .col(ColumnDef::new(I::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(I::Tenant).string().not_null())
                    .col(ColumnDef::new(I::TokenSha256).string().not_null())
                    .col(ColumnDef::new(I::ExternalRef).string().not_null())
                    .col(ColumnDef::new(I::FirmName).string().not_null())
                    .col(ColumnDef::new(I::SbiSection).string().not_null())
                    .col(ColumnDef::new(I::SizeClass).string().not_null())
                    .col(ColumnDef::new(I::Province).string().not_null())
                    .col(ColumnDef::new(I::Locale).string().not_null())
                    .col(ColumnDef::new(I::ModelId).string().not_null())
                    .col(ColumnDef::new(I::ModelVersion).big_integer().not_null())
                    .col(ColumnDef::new(I::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(I::ExpiresAtUs).big_integer().not_null())
                    .col(ColumnDef::new(I::OpenedAtUs).big_integer().null())
                    .col(ColumnDef::new(I::SubmittedAtUs).big_integer().null())
                    .col(ColumnDef::new(I::RevokedAtUs).big_integer().null())
                    .col(ColumnDef::new(I::AssessmentId).big_integer().null())
                    .col(ColumnDef::new(I::Draft).blob().not_null())
                    .col(ColumnDef::new(I::Answered).big_integer().not_null().default(0))
                    .col(ColumnDef::new(I::DraftVersion).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name(BY_TOKEN).table(I::Table).col(I::TokenSha256).unique().to_owned())
            .await?;
        // A tenant's listing, newest first.
        manager
            .create_index(
                Index::create()
                    .name(BY_TENANT)
                    .table(I::Table)
                    .col(I::Tenant)
                    .col(I::CreatedAtUs)
                    .col(I::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Invitations::Table).to_owned()).await
    }
}
