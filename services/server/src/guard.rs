//! The front door every gRPC call (and so every JSON call, which the gateway turns into one) goes
//! through: a request id, load shedding, and the request metrics.
//!
//! - **Request ids**: the caller's `x-request-id` (printable, at most 128 characters) or a new
//!   one; echoed in the response headers and carried by every log line of the call (a tracing
//!   span), so that an operator can follow one call through JSON logs.
//! - **Load shedding**: at most `max_in_flight` calls are served at once. One more is refused at
//!   once with `RESOURCE_EXHAUSTED` (metadata `x-overloaded: 1`, which the gateway turns into 503
//!   with `Retry-After`), instead of waiting in a queue that grows without bound. Health checks and
//!   reflection are never refused.
//! - **Metrics**: calls by method and gRPC status, a latency histogram per method (to the response
//!   headers: the first piece of a streamed chapter, with the trace id of a call as each bucket's
//!   exemplar), calls in flight and calls refused, in the OpenMetrics text format
//!   (`Metrics::render`, through `prometheus-client`) or the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Instant, SystemTime};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

/// The header that carries a request id.
pub const REQUEST_ID: &str = "x-request-id";
/// Set on a call refused for overload.
pub const OVERLOADED: &str = "x-overloaded";

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The media type of the OpenMetrics text format, which carries the exemplars.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The media type of the Prometheus text format, for scrapers that do not ask for OpenMetrics.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A gauge an adapter contributes at scrape time (the webhook backlog, the database).
#[derive(Clone, Debug, PartialEq)]
pub struct Gauge {
    /// Metric name (`maturity_...`).
    pub name: &'static str,
    /// Its help text.
    pub help: &'static str,
    pub value: f64,
}

/// What computes extra gauges when metrics are scraped.
pub type GaugeSource = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Vec<Gauge>> + Send>> + Send + Sync>;

/// The labels of a gRPC method.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Rpc {
    grpc_type: &'static str,
    grpc_service: &'static str,
    grpc_method: &'static str,
}

/// The labels of a finished gRPC call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Handled {
    #[prometheus(flatten)]
    rpc: Rpc,
    grpc_code: &'static str,
}

/// The labels of an answer of the JSON port.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Answered {
    http_request_method: &'static str,
    http_route: String,
    http_response_status_code: u16,
}

/// An exemplar's label: the trace of one call that fell in a bucket, so that a dashboard can go
/// from a slow bucket to the trace of a slow call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Trace {
    trace_id: String,
}

/// The exemplar of a call with `trace_id`. A bucket keeps its last exemplar until the next one, so
/// each is stamped with its own time: a scraper does not take an old one for a new call.
fn exemplar(trace_id: Option<String>) -> Option<Trace> {
    trace_id.map(|trace_id| Trace { trace_id })
}

type Latency = HistogramWithExemplars<Trace>;

fn latency() -> Latency {
    HistogramWithExemplars::new(BUCKETS.into_iter())
}

/// The server's request metrics, named as the gRPC ecosystem's Prometheus middleware names them
/// (`grpc_server_started_total`, `grpc_server_handled_total`, `grpc_server_handling_seconds`,
/// labels `grpc_type`, `grpc_service`, `grpc_method`, `grpc_code`) and, for the JSON port, as
/// OpenTelemetry's HTTP semantic conventions name theirs in Prometheus
/// (`http_server_request_duration_seconds`, labels `http_request_method`, `http_route`,
/// `http_response_status_code`); stock dashboards for either work unchanged. The latency buckets
/// carry the trace id of a call as their exemplar (OpenMetrics). Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<MetricsInner>,
}

struct MetricsInner {
    registry: Registry,
    started: Family<Rpc, Counter>,
    handled: Family<Handled, Counter>,
    latency: Family<Rpc, Latency, fn() -> Latency>,
    http: Family<Answered, Latency, fn() -> Latency>,
    shed: Counter,
    in_flight: prometheus_client::metrics::gauge::Gauge,
    sources: Mutex<Vec<GaugeSource>>,
}

impl Default for MetricsInner {
    fn default() -> Self {
        let inner = MetricsInner {
            registry: Registry::default(),
            started: Family::default(),
            handled: Family::default(),
            latency: Family::new_with_constructor(latency as fn() -> Latency),
            http: Family::new_with_constructor(latency as fn() -> Latency),
            shed: Counter::default(),
            in_flight: Default::default(),
            sources: Mutex::default(),
        };
        let mut registry = Registry::default();
        registry.register("grpc_server_started", "Total number of RPCs started on the server", inner.started.clone());
        registry.register(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure (JSON calls included, \
             as the gRPC calls they become)",
            inner.handled.clone(),
        );
        registry.register(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its response headers (a streamed chapter: to its first piece)",
            inner.latency.clone(),
        );
        registry.register(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests (the JSON port)",
            inner.http.clone(),
        );
        registry.register("maturity_calls_in_flight", "Calls being served now", inner.in_flight.clone());
        registry.register(
            "maturity_calls_shed",
            "Calls refused at once because the server was full",
            inner.shed.clone(),
        );
        MetricsInner { registry, ..inner }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("shed", &self.inner.shed.get()).finish_non_exhaustive()
    }
}

fn code_name(code: &str) -> &'static str {
    match code.parse::<i32>().map(tonic::Code::from) {
        Ok(tonic::Code::Ok) => "OK",
        Ok(tonic::Code::Cancelled) => "CANCELLED",
        Ok(tonic::Code::InvalidArgument) => "INVALID_ARGUMENT",
        Ok(tonic::Code::DeadlineExceeded) => "DEADLINE_EXCEEDED",
        Ok(tonic::Code::NotFound) => "NOT_FOUND",
        Ok(tonic::Code::AlreadyExists) => "ALREADY_EXISTS",
        Ok(tonic::Code::PermissionDenied) => "PERMISSION_DENIED",
        Ok(tonic::Code::ResourceExhausted) => "RESOURCE_EXHAUSTED",
        Ok(tonic::Code::FailedPrecondition) => "FAILED_PRECONDITION",
        Ok(tonic::Code::Aborted) => "ABORTED",
        Ok(tonic::Code::OutOfRange) => "OUT_OF_RANGE",
        Ok(tonic::Code::Unimplemented) => "UNIMPLEMENTED",
        Ok(tonic::Code::Internal) => "INTERNAL",
        Ok(tonic::Code::Unavailable) => "UNAVAILABLE",
        Ok(tonic::Code::DataLoss) => "DATA_LOSS",
        Ok(tonic::Code::Unauthenticated) => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// The HTTP method label: the standard methods, `_OTHER` for anything else (as the semantic
/// conventions say), so that made-up methods cannot grow the metrics.
fn http_method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "_OTHER",
    }
}

impl Metrics {
    /// Adds a source of gauges read at every scrape.
    pub fn add_source(&self, source: GaugeSource) {
        if let Ok(mut s) = self.inner.sources.lock() {
            s.push(source);
        }
    }

    fn start(&self, path: &str) {
        self.inner.started.get_or_create(&method_of(path).rpc()).inc();
    }

    fn record(&self, path: &str, code: &'static str, seconds: f64, trace_id: Option<String>) {
        let rpc = method_of(path).rpc();
        self.inner.latency.get_or_create(&rpc).observe(seconds, exemplar(trace_id), Some(SystemTime::now()));
        self.inner.handled.get_or_create(&Handled { rpc, grpc_code: code }).inc();
    }

    /// Counts an answer of the JSON port: its method, the route template it matched (`None`: no
    /// route, counted as `other`), its status, how long it took to the response headers, and the
    /// caller's trace id (the exemplar), if it sent one.
    pub fn record_http(
        &self,
        method: &http::Method,
        route: Option<&str>,
        status: u16,
        seconds: f64,
        trace_id: Option<String>,
    ) {
        let labels = Answered {
            http_request_method: http_method_label(method),
            http_route: route.unwrap_or("other").to_string(),
            http_response_status_code: status,
        };
        self.inner.http.get_or_create(&labels).observe(seconds, exemplar(trace_id), Some(SystemTime::now()));
    }

    /// Calls refused for overload so far.
    pub fn shed(&self) -> u64 {
        self.inner.shed.get()
    }

    /// Everything, in the OpenMetrics text format (exemplars included), ending in `# EOF`.
    pub async fn render(&self) -> String {
        let sources: Vec<GaugeSource> = self.inner.sources.lock().map(|s| s.clone()).unwrap_or_default();
        let mut now = Registry::default();
        for source in sources {
            for g in source().await {
                // `Registry::register` ends every help text with a full stop of its own.
                now.register(g.name, g.help.trim_end_matches('.'), ConstGauge::new(g.value));
            }
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut out, &self.inner.registry);
        let _ = encode_registry(&mut out, &now);
        let _ = encode_eof(&mut out);
        out
    }

    /// Everything in the Prometheus text format, for a scraper that does not ask for OpenMetrics:
    /// the same samples, a counter's family named with its `_total`, without exemplars and `# EOF`.
    pub async fn render_prometheus(&self) -> String {
        prometheus_text(&self.render().await)
    }
}

/// The Prometheus text format of an OpenMetrics text: counter families take their samples' name
/// (`_total`), and exemplars, units and the end marker go.
fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> =
        openmetrics.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "].into_iter().find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let name = if counters.contains(name) { format!("{name}_total") } else { name.to_string() };
                let _ = writeln!(out, "{prefix}{name} {tail}");
            }
            // An exemplar follows the value after ` # {`.
            None => {
                let _ = writeln!(out, "{}", line.split_once(" # {").map_or(line, |(sample, _)| sample));
            }
        }
    }
    out
}

/// The front door's state. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Guard {
    permits: Arc<Semaphore>,
    submits: Arc<Semaphore>,
    /// The metrics it records.
    pub metrics: Metrics,
}

/// A method of the API as the metrics label it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Method {
    /// Full service name (`maturity.v1.ScoringService`).
    service: String,
    /// Method name (`ScoreAssessment`).
    method: String,
    /// `unary`, `client_stream`, `server_stream` or `bidi_stream`.
    kind: &'static str,
}

impl Method {
    fn rpc(&'static self) -> Rpc {
        let or_other = |s: &'static str| if s.is_empty() { "other" } else { s };
        Rpc { grpc_type: self.kind, grpc_service: or_other(&self.service), grpc_method: or_other(&self.method) }
    }
}

/// The method of a call's path, for a method of the API; `other` for any other path, so that a
/// client sending made-up paths cannot grow the metrics without bound.
fn method_of(path: &str) -> &'static Method {
    static OTHER: Method = Method { service: String::new(), method: String::new(), kind: "unknown" };
    static KNOWN: LazyLock<BTreeMap<String, Method>> = LazyLock::new(|| {
        let Ok(pool) = prost_reflect::DescriptorPool::decode(services_api::FILE_DESCRIPTOR_SET) else {
            return BTreeMap::new();
        };
        pool.services()
            .flat_map(|s| {
                s.methods()
                    .map(|m| {
                        let kind = match (m.is_client_streaming(), m.is_server_streaming()) {
                            (false, false) => "unary",
                            (true, false) => "client_stream",
                            (false, true) => "server_stream",
                            (true, true) => "bidi_stream",
                        };
                        let method = Method { service: s.full_name().to_string(), method: m.name().to_string(), kind };
                        (format!("/{}/{}", s.full_name(), m.name()), method)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    });
    KNOWN.get(path).unwrap_or(&OTHER)
}

/// The method whose calls have a limit of their own: writes wait for a process's few writers (one
/// on SQLite, two on PostgreSQL), so a queue of them is a queue of waiting time.
const SUBMIT: &str = "/maturity.v1.PersistenceService/SubmitAssessment";

impl Guard {
    /// A front door admitting `max_in_flight` calls at once, `max_submits` of them
    /// SubmitAssessment (0: no limit).
    pub fn new(max_in_flight: usize, max_submits: usize) -> Guard {
        let permits = |n: usize| Arc::new(Semaphore::new(if n == 0 { Semaphore::MAX_PERMITS } else { n }));
        Guard { permits: permits(max_in_flight), submits: permits(max_submits), metrics: Metrics::default() }
    }

    /// Permits for a call of `method` (a submission holds two), or `None` when the server is full.
    fn admit(&self, method: &str) -> Option<(OwnedSemaphorePermit, Option<OwnedSemaphorePermit>)> {
        let call = Arc::clone(&self.permits).try_acquire_owned().ok()?;
        let submit = if method == SUBMIT { Some(Arc::clone(&self.submits).try_acquire_owned().ok()?) } else { None };
        Some((call, submit))
    }
}

/// The request id in `headers`, when it is usable (printable, 1 to 128 characters), or a new one.
pub fn request_id(headers: &http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| {
            let n: u64 = rand_u64();
            format!("req_{n:016x}")
        })
}

pub(crate) fn rand_u64() -> u64 {
    // Unique enough for correlating log lines; not a secret.
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// A request that is not a valid protobuf message is the caller's mistake: tonic answers it
/// INTERNAL (gRPC's status table says so for parse errors), which would page an operator for a
/// client's garbage and tell the client the fault is ours. It is answered INVALID_ARGUMENT, with
/// tonic's message (which says what could not be decoded) kept.
fn undecodable_is_invalid_argument(headers: &mut http::HeaderMap) {
    const INTERNAL: &str = "13";
    const UNDECODABLE: &str = "failed%20to%20decode%20Protobuf%20message";
    let internal = headers.get("grpc-status").is_some_and(|v| v.as_bytes() == INTERNAL.as_bytes());
    let undecodable = headers.get("grpc-message").is_some_and(|v| v.as_bytes().starts_with(UNDECODABLE.as_bytes()));
    if internal && undecodable {
        headers.insert("grpc-status", http::HeaderValue::from_static("3"));
    }
}

/// The `ErrorInfo.reason` an error status gets when the service that answered did not give one:
/// stable per status code (AIP-193), with the front door's two refusals told apart.
fn default_reason(code: tonic::Code, overloaded: bool, retry_info: bool) -> &'static str {
    use tonic::Code;
    match code {
        Code::ResourceExhausted if overloaded => "SERVER_OVERLOADED",
        Code::ResourceExhausted if retry_info => "RATE_LIMIT_EXCEEDED",
        Code::Unauthenticated => "UNAUTHENTICATED",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::Unavailable => "UNAVAILABLE",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::Cancelled => "CANCELLED",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::InvalidArgument => "INVALID_REQUEST",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::DataLoss => "DATA_LOSS",
        Code::Internal => "INTERNAL",
        Code::Ok | Code::Unknown => "UNKNOWN",
    }
}

/// Every error status carries an `ErrorInfo` (reason, domain `maturity.v1`), as AIP-193 asks: a
/// status answered without one (NOT_FOUND, UNAUTHENTICATED, UNAVAILABLE, RESOURCE_EXHAUSTED, ...)
/// gets the code's stable reason, its other details (RetryInfo, BadRequest) kept. Errors in a
/// stream's trailers (after its first message) are left as they are.
fn with_error_info(headers: &mut http::HeaderMap) {
    use tonic_types::{ErrorDetail, ErrorInfo, StatusExt};
    let Some(status) = tonic::Status::from_header_map(headers) else { return };
    if status.code() == tonic::Code::Ok {
        return;
    }
    let mut details = status.get_error_details_vec();
    if details.iter().any(|d| matches!(d, ErrorDetail::ErrorInfo(_))) {
        return;
    }
    let overloaded = headers.contains_key(OVERLOADED);
    let retry_info = details.iter().any(|d| matches!(d, ErrorDetail::RetryInfo(_)));
    let reason = default_reason(status.code(), overloaded, retry_info);
    details.push(ErrorDetail::ErrorInfo(ErrorInfo::new(
        reason,
        services_api::errors::ERROR_DOMAIN,
        std::collections::HashMap::new(),
    )));
    let rebuilt = tonic::Status::with_error_details_vec(status.code(), status.message(), details);
    let mut fresh = http::HeaderMap::new();
    if rebuilt.add_header(&mut fresh).is_ok()
        && let Some(v) = fresh.get("grpc-status-details-bin")
    {
        headers.insert("grpc-status-details-bin", v.clone());
    }
}

/// The middleware over the gRPC routes (`axum::middleware::from_fn_with_state`).
pub async fn grpc(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let method = req.uri().path().to_string();
    let id = request_id(req.headers());
    let exempt = method.starts_with("/grpc.health.") || method.starts_with("/grpc.reflection.");
    let permit = if exempt {
        None
    } else {
        match guard.admit(&method) {
            Some(p) => Some(p),
            None => {
                guard.metrics.inner.shed.inc();
                guard.metrics.start(&method);
                guard.metrics.record(&method, "RESOURCE_EXHAUSTED", 0.0, None);
                tracing::debug!(request_id = %id, %method, "refused: the server is full");
                let mut status = tonic::Status::resource_exhausted("the server is at capacity; retry in a second");
                status.metadata_mut().insert(OVERLOADED, tonic::metadata::MetadataValue::from_static("1"));
                let mut response = status.into_http::<axum::body::Body>().into_response();
                with_error_info(response.headers_mut());
                if let Ok(v) = id.parse() {
                    response.headers_mut().insert(REQUEST_ID, v);
                }
                return response;
            }
        }
    };
    guard.metrics.inner.in_flight.inc();
    if !exempt {
        guard.metrics.start(&method);
    }
    let started = Instant::now();
    // A caller's W3C trace context: this call's span joins the caller's trace (exported when trace
    // export is on), and every log line of the call carries the trace id. The span is named and
    // kinded as OpenTelemetry's RPC conventions say.
    let parent = telemetry::otel::extract(req.headers());
    let span = tracing::info_span!(
        "call",
        otel.name = %method.trim_start_matches('/'),
        otel.kind = "server",
        rpc.system = "grpc",
        request_id = %id,
        method = %method,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    let trace_id = telemetry::otel::adopt(&span, parent);
    let mut response = next.run(req).instrument(span.clone()).await;
    guard.metrics.inner.in_flight.dec();
    drop(permit);
    undecodable_is_invalid_argument(response.headers_mut());
    if !exempt {
        with_error_info(response.headers_mut());
    }
    // An error answer carries grpc-status in its headers; a success carries it in the trailers
    // (0). A stream that fails after its first message counts as OK here.
    let code = response.headers().get("grpc-status").and_then(|v| v.to_str().ok()).map_or("OK", code_name);
    if !exempt {
        guard.metrics.record(&method, code, started.elapsed().as_secs_f64(), trace_id);
    }
    span.in_scope(|| tracing::debug!(code, ms = started.elapsed().as_millis() as u64, "call served"));
    if let Ok(v) = id.parse() {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn made_up_paths_share_one_label() {
        let m = Metrics::default();
        for n in 0..100 {
            m.start(&format!("/x.Y/Z{n}"));
            m.record(&format!("/x.Y/Z{n}"), "UNIMPLEMENTED", 0.001, None);
        }
        m.record("/maturity.v1.ScoringService/ListModels", "OK", 0.001, None);
        for n in 0..50 {
            m.record_http(&http::Method::from_bytes(format!("M{n}").as_bytes()).unwrap(), None, 404, 0.001, None);
        }
        let text = m.render().await;
        let other = "grpc_type=\"unknown\",grpc_service=\"other\",grpc_method=\"other\"";
        assert!(
            text.contains(&format!("grpc_server_handled_total{{{other},grpc_code=\"UNIMPLEMENTED\"}} 100")),
            "{text}"
        );
        assert!(text.contains(&format!("grpc_server_started_total{{{other}}} 100")), "{text}");
        assert!(text.contains("grpc_service=\"maturity.v1.ScoringService\",grpc_method=\"ListModels\""), "{text}");
        assert!(!text.contains("/x.Y/") && !text.contains("Z1"), "{text}");
        let http_other = "http_request_method=\"_OTHER\",http_route=\"other\",http_response_status_code=\"404\"";
        assert!(text.contains(&format!("http_server_request_duration_seconds_count{{{http_other}}} 50")), "{text}");
        assert!(!text.contains("M1"), "{text}");
    }

    #[tokio::test]
    async fn metrics_render_in_the_prometheus_format() {
        let m = Metrics::default();
        m.start("/maturity.v1.ScoringService/ScoreAssessment");
        m.record("/maturity.v1.ScoringService/ScoreAssessment", "OK", 0.003, None);
        m.record("/maturity.v1.ScoringService/ScoreAssessment", "INVALID_ARGUMENT", 0.2, None);
        m.record("/maturity.v1.ReportService/RenderChapter", "OK", 1.5, None);
        m.record_http(&http::Method::POST, Some("/v1/{service}/{method}"), 429, 0.002, None);
        m.add_source(Arc::new(|| {
            Box::pin(async { vec![Gauge { name: "maturity_test_gauge", help: "A test", value: 7.0 }] })
        }));
        let text = m.render_prometheus().await;
        let method = "grpc_type=\"unary\",grpc_service=\"maturity.v1.ScoringService\",grpc_method=\"ScoreAssessment\"";
        assert!(text.contains(&format!("grpc_server_started_total{{{method}}} 1")), "{text}");
        assert!(text.contains(&format!("grpc_server_handled_total{{{method},grpc_code=\"OK\"}} 1")), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_bucket{{le=\"0.005\",{method}}} 1")), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_bucket{{le=\"0.25\",{method}}} 2")), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_count{{{method}}} 2")), "{text}");
        assert!(text.contains("grpc_type=\"server_stream\",grpc_service=\"maturity.v1.ReportService\""), "{text}");
        let http =
            "http_request_method=\"POST\",http_route=\"/v1/{service}/{method}\",http_response_status_code=\"429\"";
        assert!(
            text.contains(&format!("http_server_request_duration_seconds_bucket{{le=\"0.0025\",{http}}} 1")),
            "{text}"
        );
        assert!(text.contains("# TYPE http_server_request_duration_seconds histogram\n"), "{text}");
        assert!(text.contains("# TYPE maturity_test_gauge gauge\nmaturity_test_gauge 7.0\n"), "{text}");
        assert!(text.contains("# TYPE grpc_server_handled_total counter\n"), "{text}");
        assert!(!text.contains("# EOF") && !text.contains(" # {"), "{text}");
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert_eq!(code_name("14"), "UNAVAILABLE");
        assert_eq!(code_name("x"), "UNKNOWN");
    }

    #[tokio::test]
    async fn openmetrics_carry_the_trace_id_of_a_call_as_the_exemplar_of_its_bucket() {
        let m = Metrics::default();
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        m.record("/maturity.v1.ScoringService/ScoreAssessment", "OK", 0.003, Some(trace.to_string()));
        m.record("/maturity.v1.ScoringService/ScoreAssessment", "OK", 0.2, None);
        m.record_http(&http::Method::GET, Some("/v1/models"), 200, 0.02, Some(trace.to_string()));
        let text = m.render().await;
        let method = "grpc_type=\"unary\",grpc_service=\"maturity.v1.ScoringService\",grpc_method=\"ScoreAssessment\"";
        let bucket =
            format!("grpc_server_handling_seconds_bucket{{le=\"0.005\",{method}}} 1 # {{trace_id=\"{trace}\"}} 0.003");
        assert!(text.contains(&bucket), "{text}");
        let http = "http_request_method=\"GET\",http_route=\"/v1/models\",http_response_status_code=\"200\"";
        assert!(text.contains(&format!("{{le=\"0.025\",{http}}} 1 # {{trace_id=\"{trace}\"}} 0.02")), "{text}");
        // A bucket no call with a trace fell in has no exemplar.
        assert!(text.contains(&format!("grpc_server_handling_seconds_bucket{{le=\"0.25\",{method}}} 2\n")), "{text}");
        assert!(text.contains("# TYPE grpc_server_handled counter\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
