//! What every gRPC server of the product shares: layered configuration, tracing, the server stack
//! (health, reflection, the diagnostics echo, graceful shutdown with a drain deadline) and the one
//! place where domain problems become `google.rpc` error details.
//!
//! Each service crate builds its tonic services and hands them to `server::serve`; the all-in-one
//! `maturity` binary does the same with every service at once, and also serves them as JSON over
//! HTTP (`http`, described by `openapi`).

pub mod cli;
pub mod config;
pub mod diagnostics;
pub mod errors;
pub mod guard;
pub mod http;
pub mod models;
pub mod openapi;
pub mod otel;
pub mod paging;
pub mod raw;
mod reading;
pub mod serve;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod transcode;

// The exit statuses of every binary of the product (`maturity`, `report-gen`,
// `scoring-service`), after sysexits.h; the README lists them under "Running the server".

/// Exit status when the command ran and something failed (listed on standard error).
pub const EXIT_FAILED: i32 = 1;
/// Exit status for bad configuration or usage (EX_USAGE in sysexits.h).
pub const EXIT_CONFIG: i32 = 64;
/// Exit status for a bad data file, such as a model file that does not validate (EX_DATAERR).
pub const EXIT_DATA: i32 = 65;
/// Exit status when the database's schema is not the one this release knows and the program was
/// told not to migrate (`migrate_on_start = false`), or was migrated by a later release
/// (EX_TEMPFAIL: after `maturity migrate`, or with the matching release, a restart succeeds).
pub const EXIT_SCHEMA: i32 = 75;
