//! The report adapter: turns stored assessments and published peer figures into chapters
//! (`assemble`), typesets them with `report-gen` and writes them durably (`render`), runs the
//! nightly batch with leased claims (`nightly`), and serves `ReportService.RenderChapter`
//! (`service`). The `report-gen` command line is this crate's binary.

pub mod assemble;
pub mod nightly;
pub mod render;
pub mod service;

pub use assemble::Assembler;
pub use render::{Format, Renderer};
pub use service::Reports;
