//! `maturity.v1.DiagnosticsService`: a bare echo on the same server stack as every other service,
//! for connectivity checks and as the baseline of the load benchmarks.

use services_api::v1::diagnostics_service_server::{DiagnosticsService, DiagnosticsServiceServer};
use services_api::v1::{EchoRequest, EchoResponse};
use tonic::{Request, Response, Status};

use services_api::errors::{Violation, invalid_argument};

/// Largest payload the echo returns.
pub const MAX_ECHO_BYTES: usize = 64 * 1024;

/// The echo service.
#[derive(Clone, Copy, Debug, Default)]
pub struct Diagnostics;

#[tonic::async_trait]
impl DiagnosticsService for Diagnostics {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let payload = request.into_inner().payload;
        if payload.len() > MAX_ECHO_BYTES {
            let v = Violation {
                field: "payload".to_string(),
                reason: "PAYLOAD_TOO_LARGE".to_string(),
                en: format!("payload of {} bytes exceeds {MAX_ECHO_BYTES}", payload.len()),
                nl: format!("payload van {} bytes is groter dan {MAX_ECHO_BYTES}", payload.len()),
            };
            return Err(invalid_argument(&[v], domain_model::Locale::default()));
        }
        Ok(Response::new(EchoResponse { payload }))
    }
}

/// The tonic service.
pub fn service() -> DiagnosticsServiceServer<Diagnostics> {
    DiagnosticsServiceServer::new(Diagnostics)
}
