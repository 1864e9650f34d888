//! OpenTelemetry trace export, optional (`otlp_endpoint`, or OpenTelemetry's standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT`): the OpenTelemetry SDK with its OTLP exporter over gRPC
//! (`opentelemetry-otlp`), fed by `tracing-opentelemetry`, so every tracing span (a served call is
//! the span named after its method, with its request id) becomes an OTLP span.
//!
//! - `https://` endpoints use TLS (rustls) with the public roots, plus the CA certificate in
//!   `OTEL_EXPORTER_OTLP_CERTIFICATE` when set (a private collector); `http://` is plain text.
//! - The exporter reads the other standard variables itself: `OTEL_EXPORTER_OTLP_HEADERS` (a
//!   vendor's API key), `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_COMPRESSION`; it retries
//!   with backoff.
//! - Only the gRPC protocol is built in: `OTEL_EXPORTER_OTLP_PROTOCOL` other than `grpc` is a
//!   configuration error, never a silent export to the wrong port.
//! - A caller's W3C `traceparent` (and `tracestate`) make the call's span a child of the caller's
//!   span (`extract`), so the call shows up inside the CRM's own trace; with export on or off,
//!   every log line of the call carries the trace and span ids.
//!
//! Export never slows or stops serving: the SDK's batch processor queues finished spans (bounded;
//! beyond it spans are dropped) and exports them from a thread of its own; the gRPC channel runs
//! on a small runtime of its own, so export works before, during and after the server's runtime.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// The environment variable with a PEM CA certificate that the collector's certificate is checked
/// against (OpenTelemetry's name for it).
pub const CERTIFICATE_ENV: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";

/// Where spans go: the collector's OTLP/gRPC address.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// `http://host:port` or `https://host[:port]`.
    pub url: String,
}

impl Endpoint {
    /// Parses `http://host:port` or `https://host[:port]` (a path is not part of an OTLP/gRPC
    /// address).
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let url = url.trim().trim_end_matches('/');
        let (tls, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            _ => return Err(format!("`{url}` is not an http:// or https:// address of an OTLP/gRPC collector")),
        };
        if rest.contains('/') {
            return Err(format!("`{url}` has a path; an OTLP/gRPC address is only scheme, host and port"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
            _ => (rest, None),
        };
        if host.is_empty() || port.is_some_and(|p| p.parse::<u16>().is_err()) {
            return Err(format!(
                "`{url}` needs a host and, if any, a numeric port (for example http://127.0.0.1:4317)"
            ));
        }
        if port.is_none() && !tls {
            return Err(format!("`{url}` needs a port, for example http://127.0.0.1:4317"));
        }
        Ok(Endpoint { url: url.to_string() })
    }

    fn tls(&self) -> bool {
        self.url.starts_with("https://")
    }
}

impl std::str::FromStr for Endpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Endpoint::parse(s)
    }
}

/// What is wrong with the standard OpenTelemetry variables for export to `endpoint`, if anything:
/// checked at start-up with the rest of the configuration.
pub fn check_environment(endpoint: &Endpoint, env: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for var in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
        if let Some(p) = env(var).filter(|p| p.trim() != "grpc") {
            problems.push(format!(
                "{var} = `{p}`: only OTLP over gRPC (`grpc`, usually port 4317) is built in; unset it or set `grpc`"
            ));
        }
    }
    if let Some(path) = env(CERTIFICATE_ENV) {
        if !endpoint.tls() {
            problems
                .push(format!("{CERTIFICATE_ENV} is set but the collector address `{}` is not https://", endpoint.url));
        } else if let Err(e) = std::fs::read(&path) {
            problems.push(format!("{CERTIFICATE_ENV} = `{path}`: cannot read it: {e}"));
        }
    }
    problems
}

/// A `tracing` layer exporting spans to `endpoint` as service `service`, or why it cannot.
pub fn layer<S>(
    endpoint: &Endpoint,
    service: &str,
) -> Result<tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>, String>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let runtime = match RUNTIME.get() {
        Some(r) => r,
        None => {
            let built = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otlp-export")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the export runtime: {e}"))?;
            RUNTIME.get_or_init(|| built)
        }
    };
    // The gRPC channel starts its connection task on the current runtime: ours.
    let _entered = runtime.enter();
    let mut builder = opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint.url.clone());
    if endpoint.tls() {
        let mut tls = tonic::transport::ClientTlsConfig::new().with_webpki_roots();
        if let Ok(path) = std::env::var(CERTIFICATE_ENV) {
            let pem = std::fs::read(&path).map_err(|e| format!("{CERTIFICATE_ENV} = `{path}`: {e}"))?;
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        builder = builder.with_tls_config(tls);
    }
    let exporter = builder.build().map_err(|e| format!("the OTLP exporter: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service.to_string()).build();
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    let tracer = provider.tracer("maturity");
    let _ = PROVIDER.set(provider);
    Ok(tracing_opentelemetry::layer().with_tracer(tracer))
}

/// Sends the spans finished so far (at shutdown), waiting at most `limit`.
pub fn flush(limit: Duration) {
    let Some(provider) = PROVIDER.get() else { return };
    let provider = provider.clone();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = provider.force_flush();
        let _ = done.send(());
    });
    if finished.recv_timeout(limit).is_err() {
        tracing::warn!(?limit, "trace export did not finish before exit");
    }
}

/// The request's headers as the W3C propagator reads them.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The caller's trace context from `traceparent` and `tracestate` (W3C Trace Context); an empty
/// context when there is none or it is malformed.
pub fn extract(headers: &http::HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&Headers(headers))
}

/// Makes `span` a child of the caller's `parent` (when export is on) and records the trace and
/// span ids on it (fields `trace_id`, `span_id`), so that every log line within it carries them.
/// Returns the trace id of a recorded trace the call belongs to (ours when export is on, else the
/// caller's), if it is sampled: the metrics' exemplars link to it, and a trace nobody records is
/// no link.
pub fn adopt(span: &tracing::Span, parent: opentelemetry::Context) -> Option<String> {
    let remote = parent.span().span_context().clone();
    // Without the export layer the span has no OpenTelemetry data and keeps the caller's ids only.
    let _ = span.set_parent(parent);
    let own = span.context().span().span_context().clone();
    let shown = if own.is_valid() {
        span.record("span_id", tracing::field::display(own.span_id()));
        own
    } else {
        remote
    };
    if !shown.is_valid() {
        return None;
    }
    span.record("trace_id", tracing::field::display(shown.trace_id()));
    shown.is_sampled().then(|| shown.trace_id().to_string())
}

/// The trace id of the caller's W3C trace context in `headers`, if it sent a valid, sampled one.
pub fn caller_trace_id(headers: &http::HeaderMap) -> Option<String> {
    let context = extract(headers);
    let span = context.span().span_context().clone();
    (span.is_valid() && span.is_sampled()).then(|| span.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]

    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(Endpoint::parse("http://127.0.0.1:4317").unwrap().url, "http://127.0.0.1:4317");
        assert_eq!(Endpoint::parse("https://collector.example.nl/").unwrap().url, "https://collector.example.nl");
        assert!(Endpoint::parse("https://[::1]:4317").is_ok());
        assert!(Endpoint::parse("ftp://collector:4317").unwrap_err().contains("http://"));
        assert!(Endpoint::parse("http://collector").unwrap_err().contains("port"));
        assert!(Endpoint::parse("http://collector:4318/v1/traces").unwrap_err().contains("path"));
        assert!(Endpoint::parse("http://:4317").is_err());
        assert!(Endpoint::parse("http://collector:http").is_err());
    }

    #[test]
    fn standard_variables_are_checked() {
        let tls = Endpoint::parse("https://collector:4317").unwrap();
        let plain = Endpoint::parse("http://collector:4317").unwrap();
        assert!(check_environment(&tls, |_| None).is_empty());
        let http = |k: &str| (k == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "http/protobuf".to_string());
        assert!(check_environment(&tls, http)[0].contains("only OTLP over gRPC"));
        let grpc = |k: &str| (k == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "grpc".to_string());
        assert!(check_environment(&tls, grpc).is_empty());
        let cert = |k: &str| (k == CERTIFICATE_ENV).then(|| "/nonexistent/ca.pem".to_string());
        assert!(check_environment(&tls, cert)[0].contains("cannot read"));
        assert!(check_environment(&plain, cert)[0].contains("not https://"));
    }

    #[test]
    fn the_callers_traceparent_is_read() {
        // The example of the W3C Trace Context recommendation.
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().unwrap());
        let cx = extract(&headers);
        assert_eq!(cx.span().span_context().trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
        for bad in [
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0af7651916cd43dd8448eb211c80319c",
        ] {
            headers.insert("traceparent", bad.parse().unwrap());
            assert!(!extract(&headers).span().span_context().is_valid(), "{bad}");
        }
    }
}
