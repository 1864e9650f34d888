//! The store: the only code that speaks SQL, on SQLite and PostgreSQL through sea-orm's query
//! builder (so that one statement serves both dialects). It holds its own types, never an API
//! message, and knows neither tonic nor protobuf. Every function takes any connection or
//! transaction.
//!
//! - this module: an index of the others, whose items it re-exports;
//! - `connection`: opening a database, transactions, SQLite's checkpoints, the store's error;
//! - `assessments` and `idempotency`: a tenant's assessments and the responses remembered for
//!   retries; `contributions`: the anonymised benchmark rows; `releases`: published figures;
//!   `changes` and `leases`: the publisher's work list, its lease and the generations;
//! - `figures` and `records`: the store's own encodings (one versioned JSON form, `versioned`) of published figures and of an
//!   assessment's answers and result;
//! - `publish` and `engine`: publication under disclosure control, out of the write path, and
//!   the in-memory cache every benchmark answer comes from; `peers`: a group found for a request;
//! - `tenants`: tenants, API keys (and the key cache) and the audit log;
//! - `reports`: the nightly batch's queue; `archive`: the chapters it wrote, served as sent;
//!   `webhooks`: endpoints, events and the outbox; `invitations`: the questionnaire's links and
//!   their drafts;
//! - `keys`: the pseudonym key file; `time`: calendar arithmetic; `random`: random bytes.

pub mod archive;
mod assessments;
mod changes;
mod connection;
mod contributions;
mod idempotency;
mod leases;
mod releases;

pub mod engine;
pub mod figures;
pub mod invitations;
pub mod keys;
pub mod peers;
pub mod publish;
pub mod random;
pub mod records;
pub mod reports;
pub mod schema;
pub mod tenants;
pub mod time;
mod versioned;
pub mod webhooks;

/// The connection and transaction types callers hold (re-exported, so that no other crate
/// depends on sea-orm).
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};

pub use assessments::*;
pub use changes::*;
pub use connection::*;
pub use contributions::*;
pub use idempotency::*;
pub use leases::*;
pub use releases::*;
