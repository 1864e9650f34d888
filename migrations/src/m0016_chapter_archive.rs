//! The archive of what was sent: the chapter the nightly batch wrote, byte for byte, per
//! assessment and language, so that `chapter.ready`'s download and `GET .../chapter` serve exactly
//! that document (with its night's date and peers) from any server, with no shared file system.
//! A row goes with its assessment at erasure and after the configured retention.

use sea_orm_migration::prelude::*;

/// Table `chapter_archive`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum ChapterArchive {
    Table,
    AssessmentId,
    /// The tenant the assessment belongs to (every read names it).
    Tenant,
    /// `nl` or `en`.
    Locale,
    /// The night's date, `YYYY-MM-DD`.
    Night,
    /// SHA-256 of `content`, lower-case hex: the ETag's source.
    Sha256,
    /// The PDF.
    Content,
    CreatedAtUs,
}

const BY_AGE: &str = "chapter_archive_created";

/// Creates and drops the table.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ChapterArchive as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(ColumnDef::new(C::AssessmentId).big_integer().not_null())
                    .col(ColumnDef::new(C::Tenant).string().not_null())
                    .col(ColumnDef::new(C::Locale).string().not_null())
                    .col(ColumnDef::new(C::Night).string().not_null())
                    .col(ColumnDef::new(C::Sha256).string().not_null())
                    .col(ColumnDef::new(C::Content).blob().not_null())
                    .col(ColumnDef::new(C::CreatedAtUs).big_integer().not_null())
                    .primary_key(Index::create().col(C::AssessmentId).col(C::Locale))
                    .to_owned(),
            )
            .await?;
        // The retention's pruning reads the oldest first.
        manager.create_index(Index::create().name(BY_AGE).table(C::Table).col(C::CreatedAtUs).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ChapterArchive::Table).to_owned()).await
    }
}
