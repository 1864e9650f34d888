//! PersistenceService and BenchmarkService: a tenant's assessments, and the anonymised Dutch
//! sector benchmarks under disclosure control.
//!
//! The gRPC adapters only: every read and write goes through the `store` crate (which alone
//! speaks SQL), callers are identified by `services-auth`. Shaped as `service` (assessments and
//! benchmarks), `peers` (benchmark answers in their wire form), `seed` (synthetic demo peers), `snapshot` (a result as answered, to and from
//! the store's snapshot of it),
//! `breaker` (the database breaker of the submission path).

pub mod breaker;
pub mod peers;
pub mod seed;
pub mod service;
pub mod snapshot;

pub use service::Persistence;
