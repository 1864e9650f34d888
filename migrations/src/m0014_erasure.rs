//! Erasure reaches the remembered response: each remembered SubmitAssessment names the
//! assessment it stored, so that DeleteAssessment can find the response (which holds the firm's
//! name and reference) and redact it, and a replay of the same request can answer that the
//! assessment was erased. Rows remembered before this migration are linked from the audit log,
//! which records every submission's request id beside the assessment it stored
//! (`assessment {id}`).

use sea_orm_migration::prelude::*;

use crate::m0001_assessments::IdempotencyKeys;

/// The columns this migration adds to `idempotency_keys`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum ErasureColumns {
    /// The assessment a SubmitAssessment stored; NULL for other methods.
    AssessmentId,
    /// When that assessment was erased (the response is then empty); NULL while it exists.
    ErasedAtUs,
}

const INDEX: &str = "idempotency_by_assessment";

/// Adds the columns, links the rows remembered before, and back.
#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [ErasureColumns::AssessmentId, ErasureColumns::ErasedAtUs] {
            let mut def = ColumnDef::new(column).big_integer().null().to_owned();
            manager.alter_table(Table::alter().table(IdempotencyKeys::Table).add_column(&mut def).to_owned()).await?;
        }
        // `assessment ` is 11 characters: the id starts at the 12th. UPDATE ... FROM is the same on
        // both backends (SQLite since 3.33) and joins on the primary key of idempotency_keys.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE idempotency_keys SET assessment_id = CAST(SUBSTR(a.target, 12) AS BIGINT) \
                 FROM audit_log a \
                 WHERE a.tenant = idempotency_keys.tenant AND a.request_id = idempotency_keys.request_id \
                 AND a.action = 'SubmitAssessment' AND a.target LIKE 'assessment %' \
                 AND idempotency_keys.method = 'SubmitAssessment'",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::Tenant)
                    .col(ErasureColumns::AssessmentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(IdempotencyKeys::Table).to_owned()).await?;
        for column in [ErasureColumns::ErasedAtUs, ErasureColumns::AssessmentId] {
            manager.alter_table(Table::alter().table(IdempotencyKeys::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
