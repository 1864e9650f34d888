//! `ReportService.RenderChapter`: a chapter on demand, assembled and typeset by the report
//! generator (`report-gen`: `Assembler`, `Renderer`) and streamed back in pieces.

pub mod service;

pub use service::Reports;
