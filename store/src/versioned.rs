//! The store's own encodings (`figures`, `records`): JSON with a version field first
//! (`{"v":2,...}`), so that an older or newer form is refused by its version, never misread.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::StoreError;

#[derive(Serialize)]
struct Out<'a, T> {
    v: u8,
    #[serde(flatten)]
    body: &'a T,
}

#[derive(Deserialize)]
struct Version {
    v: u8,
}

/// `body` in version `v` of its encoding.
pub(crate) fn encode<T: Serialize>(v: u8, body: &T) -> Vec<u8> {
    // Serialising plain structs of strings and numbers cannot fail; an empty row is the
    // impossible fallback (and would be refused when read).
    serde_json::to_vec(&Out { v, body }).unwrap_or_default()
}

/// The `what` stored in `bytes`, which must be in version `v` of its encoding.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, v: u8, bytes: &[u8]) -> Result<T, StoreError> {
    let malformed = |detail: String| StoreError::Malformed(format!("stored {what}: {detail}"));
    let version: Version = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if version.v != v {
        return Err(malformed(format!("encoding version {} (this server reads {v})", version.v)));
    }
    // The body read directly, its version field ignored as unknown (none of the bodies refuses
    // unknown fields): a flattened read would buffer the whole document first, which costs
    // figures of a national group several times as much.
    serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))
}
