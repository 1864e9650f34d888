//! The nightly batch's bookkeeping on each assessment: who holds it (a worker and a lease that
//! expires if the worker dies), how many renderings failed, and where the chapter was written
//! once it is durable. `report_status` (from m0001) stays the status users see.

use sea_orm_migration::prelude::*;

use crate::m0001_assessments::Assessments;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// The columns this migration adds to `assessments`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum ReportColumns {
    /// The worker holding the lease.
    ReportWorker,
    /// When the lease expires; NULL when nobody holds it.
    ReportLeaseUntilUs,
    /// Failed renderings so far.
    ReportAttempts,
    /// The last rendering error.
    ReportError,
    /// Where the chapter was written, relative to the batch's output folder.
    ReportPath,
    /// The night (YYYY-MM-DD) whose batch wrote it.
    ReportNight,
    /// When the chapter was durable.
    ReportedAtUs,
}

fn columns() -> [ColumnDef; 7] {
    use ReportColumns as C;
    [
        ColumnDef::new(C::ReportWorker).string().null().to_owned(),
        ColumnDef::new(C::ReportLeaseUntilUs).big_integer().null().to_owned(),
        ColumnDef::new(C::ReportAttempts).integer().not_null().default(0).to_owned(),
        ColumnDef::new(C::ReportError).string().null().to_owned(),
        ColumnDef::new(C::ReportPath).string().null().to_owned(),
        ColumnDef::new(C::ReportNight).string_len(10).null().to_owned(),
        ColumnDef::new(C::ReportedAtUs).big_integer().null().to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds only one at a time.
        for mut column in columns() {
            manager.alter_table(Table::alter().table(Assessments::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("assessments_report_queue")
                    .table(Assessments::Table)
                    .col(Assessments::ReportStatus)
                    .col(Assessments::CompletedAtUs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("assessments_report_queue").table(Assessments::Table).to_owned()).await?;
        use ReportColumns as C;
        for c in [
            C::ReportWorker,
            C::ReportLeaseUntilUs,
            C::ReportAttempts,
            C::ReportError,
            C::ReportPath,
            C::ReportNight,
            C::ReportedAtUs,
        ] {
            manager.alter_table(Table::alter().table(Assessments::Table).drop_column(c).to_owned()).await?;
        }
        Ok(())
    }
}
