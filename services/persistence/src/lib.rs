//! PersistenceService and BenchmarkService: a tenant's assessments, and the anonymised Dutch
//! sector benchmarks under disclosure control.
//!
//! Shaped as `store` (SQL on both backends), `publish` (which figures go out, applying
//! `domain-anonymity` and `domain-statistics`), `peers` (answers from published figures only),
//! `seed` (synthetic demo peers) and `service` (the gRPC adapters).

pub mod breaker;
pub mod dispatch;
pub mod engine;
pub mod figures;
pub mod keys;
pub mod peers;
pub mod publish;
pub mod reports;
pub mod seed;
pub mod service;
pub mod store;
pub mod tenants;
pub mod time;
pub mod webhook_service;
pub mod webhooks;

pub use service::{Persistence, TENANT_HEADER};
