//! Database migrations for the two stores, run unchanged on SQLite (the embedded default) and
//! PostgreSQL. Applied at start-up or by `maturity migrate`; every migration has a `down`.
//!
//! Column types are chosen to mean the same on both backends: whole numbers as BIGINT, scores as
//! DOUBLE, times as microseconds since the Unix epoch (BIGINT, UTC), and structured values as BLOB /
//! BYTEA in the store's own versioned JSON: published figures since m0008, an assessment's answers and
//! result since m0009 (before, the API's protobuf messages).
//!
//! The wall between the stores is in the schema: `benchmark_contributions` has no column that can
//! name a firm (no name, no free text, no tenant, no external reference); a test reads the schema
//! and fails if one appears.

pub use sea_orm_migration::prelude::*;

pub mod m0001_assessments;
pub mod m0002_benchmark;
pub mod m0003_benchmark_releases;
pub mod m0004_report_jobs;
pub mod m0005_tenants;
pub mod m0006_webhooks;
pub mod m0007_publication;
pub mod m0008_figures_encoding;
pub mod m0009_assessment_encoding;
pub mod m0010_assessments_by_firm;
pub mod m0011_contribution_fit;
pub mod m0012_change_contribution;
pub mod m0013_universe_by_id;
pub mod m0014_erasure;
pub mod m0015_contribution_returns;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_assessments::Migration),
            Box::new(m0002_benchmark::Migration),
            Box::new(m0003_benchmark_releases::Migration),
            Box::new(m0004_report_jobs::Migration),
            Box::new(m0005_tenants::Migration),
            Box::new(m0006_webhooks::Migration),
            Box::new(m0007_publication::Migration),
            Box::new(m0008_figures_encoding::Migration),
            Box::new(m0009_assessment_encoding::Migration),
            Box::new(m0010_assessments_by_firm::Migration),
            Box::new(m0011_contribution_fit::Migration),
            Box::new(m0012_change_contribution::Migration),
            Box::new(m0013_universe_by_id::Migration),
            Box::new(m0014_erasure::Migration),
            Box::new(m0015_contribution_returns::Migration),
        ]
    }
}

/// Applies every pending migration on `db` (what every program does right after
/// `store::open`).
pub async fn up(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

#[cfg(feature = "test-db")]
pub mod test_db;
