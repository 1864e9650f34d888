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
//!   headers: the first piece of a streamed chapter), calls in flight and calls refused, in the
//!   Prometheus text format (`Metrics::render`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

/// The header that carries a request id.
pub const REQUEST_ID: &str = "x-request-id";
/// Set on a call refused for overload.
pub const OVERLOADED: &str = "x-overloaded";

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        self.count += 1;
        self.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
    }

    /// The `_bucket`, `_sum` and `_count` lines of `name` with `labels` (`a="x",b="y"`).
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (bound, n) in BUCKETS.iter().zip(self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

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

/// The server's request metrics, named as the gRPC ecosystem's Prometheus middleware names them
/// (`grpc_server_started_total`, `grpc_server_handled_total`, `grpc_server_handling_seconds`,
/// labels `grpc_type`, `grpc_service`, `grpc_method`, `grpc_code`) and, for the JSON port, as
/// OpenTelemetry's HTTP semantic conventions name theirs in Prometheus
/// (`http_server_request_duration_seconds`, labels `http_request_method`, `http_route`,
/// `http_response_status_code`); stock dashboards for either work unchanged. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<MetricsInner>,
}

#[derive(Default)]
struct MetricsInner {
    started: Mutex<BTreeMap<&'static Method, u64>>,
    handled: Mutex<BTreeMap<(&'static Method, &'static str), u64>>,
    latency: Mutex<BTreeMap<&'static Method, Histogram>>,
    http: Mutex<BTreeMap<(&'static str, String, u16), Histogram>>,
    shed: AtomicU64,
    in_flight: AtomicU64,
    sources: Mutex<Vec<GaugeSource>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("shed", &self.inner.shed.load(Ordering::Relaxed)).finish_non_exhaustive()
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
        if let Ok(mut started) = self.inner.started.lock() {
            *started.entry(method_of(path)).or_default() += 1;
        }
    }

    fn record(&self, path: &str, code: &'static str, seconds: f64) {
        let method = method_of(path);
        if let Ok(mut handled) = self.inner.handled.lock() {
            *handled.entry((method, code)).or_default() += 1;
        }
        if let Ok(mut latency) = self.inner.latency.lock() {
            latency.entry(method).or_default().observe(seconds);
        }
    }

    /// Counts an answer of the JSON port: its method, the route template it matched (`None`: no
    /// route, counted as `other`), its status and how long it took to the response headers.
    pub fn record_http(&self, method: &http::Method, route: Option<&str>, status: u16, seconds: f64) {
        if let Ok(mut http) = self.inner.http.lock() {
            let key = (http_method_label(method), route.unwrap_or("other").to_string(), status);
            http.entry(key).or_default().observe(seconds);
        }
    }

    /// Calls refused for overload so far.
    pub fn shed(&self) -> u64 {
        self.inner.shed.load(Ordering::Relaxed)
    }

    /// Everything, in the Prometheus text exposition format.
    pub async fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP grpc_server_started_total Total number of RPCs started on the server.\n");
        out.push_str("# TYPE grpc_server_started_total counter\n");
        if let Ok(started) = self.inner.started.lock() {
            for (method, n) in started.iter() {
                let _ = writeln!(out, "grpc_server_started_total{{{}}} {n}", method.labels());
            }
        }
        out.push_str(
            "# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or \
             failure (JSON calls included, as the gRPC calls they become).\n",
        );
        out.push_str("# TYPE grpc_server_handled_total counter\n");
        if let Ok(handled) = self.inner.handled.lock() {
            for ((method, code), n) in handled.iter() {
                let _ = writeln!(out, "grpc_server_handled_total{{{},grpc_code=\"{code}\"}} {n}", method.labels());
            }
        }
        out.push_str(
            "# HELP grpc_server_handling_seconds Time from the start of an RPC to its response headers (a streamed \
             chapter: to its first piece).\n",
        );
        out.push_str("# TYPE grpc_server_handling_seconds histogram\n");
        if let Ok(latency) = self.inner.latency.lock() {
            for (method, h) in latency.iter() {
                h.render(&mut out, "grpc_server_handling_seconds", &method.labels());
            }
        }
        out.push_str("# HELP http_server_request_duration_seconds Duration of HTTP server requests (the JSON port).\n");
        out.push_str("# TYPE http_server_request_duration_seconds histogram\n");
        if let Ok(http) = self.inner.http.lock() {
            for ((method, route, status), h) in http.iter() {
                let labels = format!(
                    "http_request_method=\"{method}\",http_route=\"{route}\",http_response_status_code=\"{status}\""
                );
                h.render(&mut out, "http_server_request_duration_seconds", &labels);
            }
        }
        let _ = write!(
            out,
            "# HELP maturity_calls_in_flight Calls being served now.\n# TYPE maturity_calls_in_flight gauge\n\
             maturity_calls_in_flight {}\n\
             # HELP maturity_calls_shed_total Calls refused at once because the server was full.\n\
             # TYPE maturity_calls_shed_total counter\nmaturity_calls_shed_total {}\n",
            self.inner.in_flight.load(Ordering::Relaxed),
            self.inner.shed.load(Ordering::Relaxed)
        );
        let sources: Vec<GaugeSource> = self.inner.sources.lock().map(|s| s.clone()).unwrap_or_default();
        for source in sources {
            for g in source().await {
                let _ = write!(out, "# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", g.name, g.help, g.value);
            }
        }
        out
    }
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
    fn labels(&self) -> String {
        let or_other = |s: &str| if s.is_empty() { "other".to_string() } else { s.to_string() };
        let (service, method) = (or_other(&self.service), or_other(&self.method));
        format!("grpc_type=\"{}\",grpc_service=\"{service}\",grpc_method=\"{method}\"", self.kind)
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
                guard.metrics.inner.shed.fetch_add(1, Ordering::Relaxed);
                guard.metrics.start(&method);
                guard.metrics.record(&method, "RESOURCE_EXHAUSTED", 0.0);
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
    guard.metrics.inner.in_flight.fetch_add(1, Ordering::Relaxed);
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
    telemetry::otel::adopt(&span, parent);
    let mut response = next.run(req).instrument(span.clone()).await;
    guard.metrics.inner.in_flight.fetch_sub(1, Ordering::Relaxed);
    drop(permit);
    undecodable_is_invalid_argument(response.headers_mut());
    if !exempt {
        with_error_info(response.headers_mut());
    }
    // An error answer carries grpc-status in its headers; a success carries it in the trailers
    // (0). A stream that fails after its first message counts as OK here.
    let code = response.headers().get("grpc-status").and_then(|v| v.to_str().ok()).map_or("OK", code_name);
    if !exempt {
        guard.metrics.record(&method, code, started.elapsed().as_secs_f64());
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
            m.record(&format!("/x.Y/Z{n}"), "UNIMPLEMENTED", 0.001);
        }
        m.record("/maturity.v1.ScoringService/ListModels", "OK", 0.001);
        for n in 0..50 {
            m.record_http(&http::Method::from_bytes(format!("M{n}").as_bytes()).unwrap(), None, 404, 0.001);
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
        m.record("/maturity.v1.ScoringService/ScoreAssessment", "OK", 0.003);
        m.record("/maturity.v1.ScoringService/ScoreAssessment", "INVALID_ARGUMENT", 0.2);
        m.record("/maturity.v1.ReportService/RenderChapter", "OK", 1.5);
        m.record_http(&http::Method::POST, Some("/v1/{service}/{method}"), 429, 0.002);
        m.add_source(Arc::new(|| {
            Box::pin(async { vec![Gauge { name: "maturity_test_gauge", help: "A test.", value: 7.0 }] })
        }));
        let text = m.render().await;
        let method = "grpc_type=\"unary\",grpc_service=\"maturity.v1.ScoringService\",grpc_method=\"ScoreAssessment\"";
        assert!(text.contains(&format!("grpc_server_started_total{{{method}}} 1")), "{text}");
        assert!(text.contains(&format!("grpc_server_handled_total{{{method},grpc_code=\"OK\"}} 1")), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_bucket{{{method},le=\"0.005\"}} 1")), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_bucket{{{method},le=\"0.25\"}} 2")), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_count{{{method}}} 2")), "{text}");
        assert!(text.contains("grpc_type=\"server_stream\",grpc_service=\"maturity.v1.ReportService\""), "{text}");
        let http =
            "http_request_method=\"POST\",http_route=\"/v1/{service}/{method}\",http_response_status_code=\"429\"";
        assert!(
            text.contains(&format!("http_server_request_duration_seconds_bucket{{{http},le=\"0.0025\"}} 1")),
            "{text}"
        );
        assert!(text.contains("# TYPE http_server_request_duration_seconds histogram\n"), "{text}");
        assert!(text.contains("# TYPE maturity_test_gauge gauge\nmaturity_test_gauge 7\n"), "{text}");
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert_eq!(code_name("14"), "UNAVAILABLE");
        assert_eq!(code_name("x"), "UNKNOWN");
    }
}
