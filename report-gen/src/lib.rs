//! The report generator's core: Tera templates (per language, in files a consultancy can edit)
//! render Typst markup from a `Chapter` (or a `Book` of chapters), and Typst, embedded as a
//! library with its fonts compiled in, sets it into a PDF/A-2b document. No external program, no
//! network, and no file access beyond what the renderer hands the document.
//!
//! User-supplied text never becomes Typst code: templates insert it through the `typst_text` and
//! `typst_str` filters, which turn it into a Typst string literal (`escape`).
//!
//! Around that core, the generator itself: `assemble` builds a chapter's data from the store (the
//! stored answers scored again with their pinned model version, the published peers after
//! fallback, the trend, the recommendations, the CBS context), `render` turns it into bytes and
//! durable files, `nightly` runs the night's batch with leased claims, and `export` writes a year's
//! published figures as open data. The `report-gen`
//! command line is this crate's binary; `ReportService` (`services/report`) is the gRPC adapter
//! over the same `Assembler` and `Renderer`. The crate knows no wire types; it reads the database
//! only through the `store` crate.

pub mod assemble;
pub mod chapter;
pub mod escape;
pub mod export;
pub mod figures;
pub mod nightly;
pub mod pay;
pub mod render;
pub mod templates;
pub mod typeset;
pub mod volume;

pub use assemble::Assembler;
pub use render::{Format, Renderer};
pub use templates::{TemplateError, Templates};
pub use typeset::{TypesetError, Typesetter};
