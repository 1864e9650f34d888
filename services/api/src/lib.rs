//! The wire types of API `maturity.v1`, generated at build time from `proto/`.
//!
//! This crate and the service adapters are the only code that knows protobuf types; the domain
//! crates never see them (see ARCHITECTURE.md). Beside the types: their conversions to and from the
//! domain (`convert`), the one place where invalid requests become `google.rpc` error details
//! (`errors`), and the opaque page tokens of every listing (`paging`).

pub mod convert;
pub mod errors;
pub mod paging;

/// One invalid field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Path of the field in the request, for example `answers[3].likert`.
    pub field: String,
    /// Stable SCREAMING_SNAKE_CASE reason.
    pub reason: String,
    /// What is wrong, in English (the developer-facing description).
    pub en: String,
    /// What is wrong, in Dutch.
    pub nl: String,
}

impl Violation {
    /// A violation of `field` for `reason`, in English and Dutch.
    pub fn new(field: &str, reason: &str, en: impl Into<String>, nl: impl Into<String>) -> Violation {
        Violation { field: field.into(), reason: reason.into(), en: en.into(), nl: nl.into() }
    }
}

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
    /// `maturity.v1.InvitationService`.
    pub const INVITATION: &str = "maturity.v1.InvitationService";
}

/// Protobuf timestamps to and from microseconds since the Unix epoch (UTC), the stores' times.
pub mod time {
    /// A protobuf timestamp from microseconds.
    pub fn to_timestamp(us: i64) -> prost_types::Timestamp {
        let nanos = i32::try_from(us.rem_euclid(1_000_000) * 1000).unwrap_or(0);
        prost_types::Timestamp { seconds: us.div_euclid(1_000_000), nanos }
    }

    /// Microseconds from a protobuf timestamp, when it is a valid one.
    pub fn from_timestamp(t: &prost_types::Timestamp) -> Option<i64> {
        if !(0..1_000_000_000).contains(&t.nanos) {
            return None;
        }
        t.seconds.checked_mul(1_000_000)?.checked_add(i64::from(t.nanos / 1000))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn timestamps_round_trip() {
            let t = to_timestamp(1_709_208_000_123_456);
            assert_eq!(from_timestamp(&t), Some(1_709_208_000_123_456));
            assert_eq!(from_timestamp(&to_timestamp(-1)), Some(-1));
            assert_eq!(from_timestamp(&prost_types::Timestamp { seconds: 1, nanos: -1 }), None);
        }
    }
}
