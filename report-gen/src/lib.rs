//! The report generator's core: Tera templates (per language, in files a consultancy can edit)
//! render Typst markup from a `Chapter` (or a `Book` of chapters), and Typst, embedded as a
//! library with its fonts compiled in, sets it into a PDF/A-2b document. No external program, no
//! network, and no file access beyond what the renderer hands the document.
//!
//! User-supplied text never becomes Typst code: templates insert it through the `typst_text` and
//! `typst_str` filters, which turn it into a Typst string literal (`escape`).
//!
//! This crate knows nothing of databases or the wire: the service adapter (`services/report`)
//! builds the `Chapter` from an assessment and its peers.

pub mod chapter;
pub mod escape;
pub mod figures;
pub mod templates;
pub mod typeset;

pub use templates::{TemplateError, Templates};
pub use typeset::{TypesetError, Typesetter};
