//! The set of models a server holds, by id and version. Reading files is the caller's job: this
//! crate does no I/O, it is handed the texts.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::load::{LoadError, load_model};
use crate::model::Model;

/// Id of the model an empty model reference means, when the registry holds it.
pub const DEFAULT_MODEL_ID: &str = "nl-social-business";

/// The model files compiled into the product: (name, text).
pub const BUILTIN_SOURCES: &[(&str, &str)] = &[
    ("models/nl-social-business/v1.toml", include_str!("../../../models/nl-social-business/v1.toml")),
    ("models/nl-social-business/v2.toml", include_str!("../../../models/nl-social-business/v2.toml")),
    ("models/nl-social-business/v3.toml", include_str!("../../../models/nl-social-business/v3.toml")),
];

/// Why a model reference did not resolve.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No model has this id.
    #[error("unknown model `{id}` (known: {known})")]
    UnknownModel {
        /// The id asked for.
        id: String,
        /// The ids held, comma-separated.
        known: String,
    },
    /// The model exists but not in this version.
    #[error("model `{id}` has no version {version} (known: {known})")]
    UnknownVersion {
        /// The model id.
        id: String,
        /// The version asked for.
        version: u32,
        /// The versions held, comma-separated.
        known: String,
    },
}

/// Why a set of model files could not become a registry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// One or more files have problems; every file's problems are listed.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<LoadError>),
    /// Two files define the same model id and version.
    #[error("model `{id}` version {version} is defined by both {first} and {second}")]
    Duplicate {
        /// Model id.
        id: String,
        version: u32,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// No model file was given.
    #[error("no model files were given")]
    Empty,
}

/// Models by id and version.
#[derive(Clone, Debug)]
pub struct ModelRegistry {
    models: BTreeMap<String, BTreeMap<u32, (Arc<Model>, String)>>,
    default_id: String,
}

impl ModelRegistry {
    /// The models compiled into the product.
    pub fn builtin() -> Result<Self, RegistryError> {
        Self::from_sources(BUILTIN_SOURCES.iter().copied())
    }

    /// Loads every `(name, text)`; all problems of all files are reported together.
    pub fn from_sources<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, RegistryError> {
        let mut models: BTreeMap<String, BTreeMap<u32, (Arc<Model>, String)>> = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, text) in sources {
            match load_model(name, text) {
                Ok(m) => {
                    let versions = models.entry(m.id.clone()).or_default();
                    if let Some((_, first)) = versions.get(&m.version) {
                        return Err(RegistryError::Duplicate {
                            id: m.id.clone(),
                            version: m.version,
                            first: first.clone(),
                            second: name.to_string(),
                        });
                    }
                    versions.insert(m.version, (Arc::new(m), name.to_string()));
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(RegistryError::Invalid(errors));
        }
        let default_id = if models.contains_key(DEFAULT_MODEL_ID) {
            DEFAULT_MODEL_ID.to_string()
        } else {
            models.keys().next().cloned().ok_or(RegistryError::Empty)?
        };
        Ok(ModelRegistry { models, default_id })
    }

    /// The id an empty reference means.
    pub fn default_id(&self) -> &str {
        &self.default_id
    }

    /// Resolves a reference: an empty id means the default model, version 0 the latest version.
    pub fn resolve(&self, id: &str, version: u32) -> Result<Arc<Model>, ResolveError> {
        // No id means the default model; a blank one is a mistake, not a request for the default.
        let id = match id {
            "" => self.default_id.as_str(),
            blank if blank.trim().is_empty() => {
                return Err(ResolveError::UnknownModel {
                    id: blank.to_string(),
                    known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
                });
            }
            id => id.trim(),
        };
        let versions = self.models.get(id).ok_or_else(|| ResolveError::UnknownModel {
            id: id.to_string(),
            known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
        let found = if version == 0 { versions.values().next_back() } else { versions.get(&version) };
        found.map(|(m, _)| Arc::clone(m)).ok_or_else(|| ResolveError::UnknownVersion {
            id: id.to_string(),
            version,
            known: versions.keys().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        })
    }

    /// Every model held, by id then version.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Model>> {
        self.models.values().flat_map(|v| v.values().map(|(m, _)| m))
    }
}
