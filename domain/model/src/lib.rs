//! The maturity model as data: the definition file format, its loading and validation, the
//! registry of model versions, and the Dutch classifications that place a firm among its peers.
//!
//! No I/O: callers hand in file texts. The scoring engine (`domain-scoring`) works on the
//! validated `Model` this crate produces and may rely on every rule `load` checks.

pub mod classification;
pub mod load;
pub mod model;
pub mod questionnaire;
pub mod registry;
pub mod text;

pub use classification::{FirmProfile, Province, SbiSection, SizeClass};
pub use load::{LoadError, Problem, load_model};
pub use model::*;
pub use registry::{DEFAULT_MODEL_ID, ModelRegistry, RegistryError, ResolveError};
pub use text::{Locale, Text};
