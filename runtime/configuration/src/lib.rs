//! The configuration of every binary of the product (`maturity`, `scoring-service`,
//! `report-gen`): keys layered from file, environment and flags (`layers`), the keys and their
//! command-line options (`settings`), the model files (`models`), the command line's shared
//! habits (`cli`) and the exit statuses below.

pub mod cli;
pub mod layers;
pub mod models;
pub mod settings;

pub use layers::{AuthMode, ConfigError, Secret};
pub use settings::{GlobalArgs, KeyArgs, ServeArgs, ServeConfig, ServerArgs, TlsPem};

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
