//! The wire types of API `maturity.v1`, generated at build time from `proto/`.
//!
//! This crate and the service adapters are the only code that knows protobuf types; the domain
//! crates never see them (see ARCHITECTURE.md).

/// Package `maturity.v1`: messages, clients and servers.
pub mod v1 {
    #![allow(clippy::all, missing_debug_implementations, reason = "generated code")]
    tonic::include_proto!("maturity.v1");
}

/// The encoded `FileDescriptorSet` of every `maturity.v1` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/maturity_v1_descriptor.bin"));

/// Fully qualified gRPC service names, for health reporting and reflection.
pub mod service_names {
    /// `maturity.v1.ScoringService`.
    pub const SCORING: &str = "maturity.v1.ScoringService";
    /// `maturity.v1.DiagnosticsService`.
    pub const DIAGNOSTICS: &str = "maturity.v1.DiagnosticsService";
    /// `maturity.v1.PersistenceService`.
    pub const PERSISTENCE: &str = "maturity.v1.PersistenceService";
    /// `maturity.v1.BenchmarkService`.
    pub const BENCHMARK: &str = "maturity.v1.BenchmarkService";
    /// `maturity.v1.ReportService`.
    pub const REPORT: &str = "maturity.v1.ReportService";
    /// `maturity.v1.WebhookService`.
    pub const WEBHOOK: &str = "maturity.v1.WebhookService";
}
