//! JSON over HTTP for CRMs that cannot speak gRPC, answered by the very same gRPC services (each
//! call is handed in-process to the server's routes as a gRPC call: no rule exists twice):
//!
//! - the resource routes that the protos' `google.api.http` annotations declare (`transcode`):
//!   `GET /v1/assessments/{id}`, `POST /v1/assessments`, `PATCH /v1/webhookEndpoints/{endpoint.id}`
//!   and the rest (docs/integration.md has the table);
//! - and, for clients of before them, every public method at `POST /v1/{Service}/{Method}`.
//!
//! Both use the standard protobuf JSON mapping. Errors are `application/problem+json` carrying the
//! same field violations and reasons as gRPC. `GET /openapi.json` describes it all (`openapi`).
//!
//! - `Authorization: Bearer <API key>` passes through as gRPC metadata.
//! - `Idempotency-Key` gives `SubmitAssessment` its `request_id` (a different `request_id` in the
//!   body is refused).
//! - A read (`GET`) answers with an `ETag`; `If-None-Match` with it answers 304 without a body.
//! - `RenderChapter` answers with the document itself (`application/pdf` or the Typst source), at
//!   `GET /v1/assessments/{assessment_id}/chapter?locale=nl&format=pdf`; `ExportReleases` with the
//!   file (CSV or Parquet), at `GET /v1/benchmarks:export?year=2025&format=csv`.
//! - Request bodies above `MAX_BODY` are refused with 413; a path with the wrong method, with 405.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::BodyExt;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, SerializeOptions};
use tonic::body::Body;
use tonic::service::Routes;
use tower_service::Service;

/// Largest request body accepted, in bytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// The services reachable over HTTP (health and reflection are gRPC's own).
pub const PUBLIC_SERVICES: [&str; 7] = [
    "maturity.v1.ScoringService",
    "maturity.v1.PersistenceService",
    "maturity.v1.BenchmarkService",
    "maturity.v1.ReportService",
    "maturity.v1.WebhookService",
    "maturity.v1.DiagnosticsService",
    "maturity.v1.InvitationService",
];

#[derive(Clone)]
struct Gateway {
    routes: Routes,
    pool: DescriptorPool,
    rest: Arc<Vec<crate::gateway::transcode::Route>>,
    openapi: Arc<String>,
    metrics: crate::guard::Metrics,
    body_timeout: std::time::Duration,
}

/// What the operators' port (`admin_addr`) offers: `/metrics` (OpenMetrics or Prometheus text),
/// `/livez` (the process answers) and `/readyz` (it can do its work). Apart from the API's port,
/// so that a deployment can keep it off the public network (it is on loopback unless configured
/// otherwise).
#[derive(Clone, Debug)]
pub struct Operations {
    /// The server's metrics.
    pub metrics: crate::guard::Metrics,
    /// Whether the readiness probe last succeeded.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
}

/// The metrics in OpenMetrics (with exemplars) when the scraper prefers it, as Prometheus does,
/// else in the Prometheus text format.
async fn metrics(State(ops): State<Operations>, headers: axum::http::HeaderMap) -> Response {
    let accept: Vec<&str> = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
    let (content_type, text) = if prefers_openmetrics(&accept.join(",")) {
        (crate::guard::OPENMETRICS, ops.metrics.render().await)
    } else {
        (crate::guard::PROMETHEUS_TEXT, ops.metrics.render_prometheus().await)
    };
    ([(header::CONTENT_TYPE, content_type), (header::VARY, "Accept")], text).into_response()
}

/// Whether an `Accept` header gives OpenMetrics a weight above 0 and at least that of the
/// Prometheus text format (`text/plain`); media types compare without case.
fn prefers_openmetrics(accept: &str) -> bool {
    let weight = |wanted: &str| {
        accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next()?.to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                    .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())?;
                (media == wanted).then_some(q)
            })
            .fold(0.0f32, f32::max)
    };
    let openmetrics = weight("application/openmetrics-text");
    openmetrics > 0.0 && openmetrics >= weight("text/plain")
}

async fn livez() -> Response {
    (StatusCode::OK, "live\n").into_response()
}

async fn readyz(State(ops): State<Operations>) -> Response {
    if ops.ready.load(std::sync::atomic::Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database does not answer\n").into_response()
    }
}

/// Gives every HTTP request an id (the caller's `x-request-id`, or a new one) that the gRPC call
/// behind it carries too, echoes it, and counts the answer (by route template, never by the path
/// itself, so that ids and made-up paths do not grow the metrics).
async fn front(State(g): State<Gateway>, mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let id = HeaderValue::from_str(&crate::guard::request_id(req.headers())).ok();
    if let Some(v) = &id {
        req.headers_mut().insert(crate::guard::REQUEST_ID, v.clone());
    }
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let trace_id = telemetry::otel::caller_trace_id(req.headers());
    let matched = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_string());
    let mut response = next.run(req).await;
    let route = matched.or_else(|| response.extensions().get::<RouteLabel>().map(|l| l.0.clone()));
    let seconds = started.elapsed().as_secs_f64();
    g.metrics.record_http(&method, route.as_deref(), response.status().as_u16(), seconds, trace_id);
    if let Some(v) = id {
        response.headers_mut().insert(crate::guard::REQUEST_ID, v);
    }
    response
}

/// The router of the operators' port.
pub fn admin_router(ops: Operations) -> axum::Router {
    axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .with_state(ops)
}

/// The HTTP router over the gRPC `routes`, with `more` routes beside them (behind the same front
/// door); its answers are counted in `metrics`.
pub fn router(
    routes: Routes,
    metrics: crate::guard::Metrics,
    body_timeout: std::time::Duration,
    more: Option<axum::Router>,
) -> anyhow::Result<axum::Router> {
    let pool = DescriptorPool::decode(services_api::FILE_DESCRIPTOR_SET)?;
    let rest = Arc::new(crate::gateway::transcode::routes(&pool, &PUBLIC_SERVICES).map_err(anyhow::Error::msg)?);
    let openapi =
        Arc::new(serde_json::to_string_pretty(&crate::gateway::openapi::document(&pool, &PUBLIC_SERVICES, &rest))?);
    let state = Gateway { routes, pool, rest, openapi, metrics, body_timeout };
    let gateway =
        axum::Router::new().route("/openapi.json", get(openapi_json)).fallback(dispatch).with_state(state.clone());
    let router = match more {
        Some(more) => gateway.merge(more),
        None => gateway,
    };
    Ok(router
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(state, front)))
}

async fn openapi_json(State(g): State<Gateway>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], g.openapi.as_str().to_owned()).into_response()
}

/// A field violation as the problem document shows it.
#[derive(Debug, serde::Serialize)]
struct FieldViolation {
    field: String,
    reason: String,
    description: String,
    message: String,
}

/// A violation the gateway itself finds (English only: it never reached the service).
fn violation(field: &str, reason: &str, text: String) -> FieldViolation {
    FieldViolation { field: field.into(), reason: reason.into(), description: text.clone(), message: text }
}

fn problem(status: StatusCode, code: &str, detail: &str, violations: &[FieldViolation]) -> Response {
    problem_with_info(status, code, detail, violations, None)
}

/// As `problem`, with the status's `ErrorInfo` (reason and domain) when it has one.
fn problem_with_info(
    status: StatusCode,
    code: &str,
    detail: &str,
    violations: &[FieldViolation],
    info: Option<&tonic_types::ErrorInfo>,
) -> Response {
    let mut body = serde_json::json!({
        "type": format!("urn:maturity:problem:{}", code.to_ascii_lowercase()),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
    });
    if !violations.is_empty() {
        body["violations"] = serde_json::json!(violations);
    }
    // The gateway's own refusals (malformed JSON, an unknown route, a body too large) carry the
    // reason the gRPC side would give for their code.
    let (reason, domain) = match info {
        Some(info) => (info.reason.clone(), info.domain.clone()),
        None if code == "INVALID_ARGUMENT" => {
            ("INVALID_REQUEST".to_string(), services_api::errors::ERROR_DOMAIN.to_string())
        }
        None => (code.to_string(), services_api::errors::ERROR_DOMAIN.to_string()),
    };
    body["reason"] = serde_json::json!(reason);
    body["domain"] = serde_json::json!(domain);
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

fn http_status(code: tonic::Code) -> StatusCode {
    use tonic::Code as C;
    match code {
        C::Ok => StatusCode::OK,
        C::InvalidArgument | C::OutOfRange | C::FailedPrecondition => StatusCode::BAD_REQUEST,
        C::Unauthenticated => StatusCode::UNAUTHORIZED,
        C::PermissionDenied => StatusCode::FORBIDDEN,
        C::NotFound => StatusCode::NOT_FOUND,
        C::AlreadyExists | C::Aborted => StatusCode::CONFLICT,
        C::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        C::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        C::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        C::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        C::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn code_name(code: tonic::Code) -> String {
    format!("{code:?}").chars().fold(String::new(), |mut out, c| {
        if c.is_uppercase() && !out.is_empty() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
        out
    })
}

/// The problem document of a gRPC status, with its field violations.
fn status_problem(status: &tonic::Status) -> Response {
    use tonic_types::StatusExt;
    let details = status.get_error_details();
    let localized = details.localized_message().map(|m| m.message.clone());
    let violations: Vec<FieldViolation> = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| FieldViolation {
                    field: v.field.clone(),
                    reason: v.reason.clone(),
                    description: v.description.clone(),
                    message: v.localized_message.as_ref().map_or_else(|| v.description.clone(), |m| m.message.clone()),
                })
                .collect()
        })
        .unwrap_or_default();
    let detail = localized.unwrap_or_else(|| status.message().to_string());
    if status.metadata().get(crate::guard::OVERLOADED).is_some() {
        // Shed by the front door: the server as a whole is full, not this tenant over its rate.
        let info = details.error_info();
        let mut response = problem_with_info(StatusCode::SERVICE_UNAVAILABLE, "RESOURCE_EXHAUSTED", &detail, &[], info);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    let info = details.error_info();
    let mut response =
        problem_with_info(http_status(status.code()), &code_name(status.code()), &detail, &violations, info);
    if let Some(delay) = details.retry_info().and_then(|r| r.retry_delay) {
        // Retry-After counts whole seconds: round up, so that a client never comes back too early.
        let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}

fn find_method(pool: &DescriptorPool, service: &str, method: &str) -> Option<MethodDescriptor> {
    let full = format!("maturity.v1.{service}");
    if !PUBLIC_SERVICES.contains(&full.as_str()) {
        return None;
    }
    pool.get_service_by_name(&full)?.methods().find(|m| m.name() == method)
}

/// Hands `message` to the gRPC route of `method` in-process; the response messages, or the status.
async fn invoke(
    g: &Gateway,
    method: &MethodDescriptor,
    message: Vec<u8>,
    headers: &HeaderMap,
) -> Result<Vec<Bytes>, tonic::Status> {
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&u32::try_from(message.len()).unwrap_or(u32::MAX).to_be_bytes());
    framed.extend_from_slice(&message);
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/grpc")
        .header(header::TE, "trailers");
    // If-None-Match goes along: a chapter archived by the night answers a matching tag without
    // reading or typesetting anything (RenderChapter's not_modified).
    for name in [
        header::AUTHORIZATION.as_str(),
        "x-tenant-id",
        "grpc-timeout",
        crate::guard::REQUEST_ID,
        "traceparent",
        header::IF_NONE_MATCH.as_str(),
    ] {
        if let Some(v) = headers.get(name) {
            request = request.header(name, v.clone());
        }
    }
    let request = request
        .body(Body::new(http_body_util::Full::new(Bytes::from(framed))))
        .map_err(|e| tonic::Status::internal(format!("cannot build the call: {e}")))?;
    let mut routes = g.routes.clone();
    let response: Result<http::Response<Body>, Infallible> = routes.call(request).await;
    let Ok(response) = response;
    let (parts, body) = response.into_parts();
    if let Some(status) = tonic::Status::from_header_map(&parts.headers).filter(|s| s.code() != tonic::Code::Ok) {
        return Err(status);
    }
    let collected = body.collect().await.map_err(|e| tonic::Status::internal(format!("response body: {e}")))?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let mut data = collected.to_bytes();
    if let Some(status) = tonic::Status::from_header_map(&trailers).filter(|s| s.code() != tonic::Code::Ok) {
        return Err(status);
    }
    let mut messages = Vec::new();
    while data.len() >= 5 {
        let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        if data.len() < 5 + len {
            return Err(tonic::Status::internal("truncated response frame"));
        }
        messages.push(data.slice(5..5 + len));
        data = data.slice(5 + len..);
    }
    Ok(messages)
}

fn json_response(method: &MethodDescriptor, bytes: &[u8]) -> Response {
    match DynamicMessage::decode(method.output(), bytes) {
        Ok(message) => {
            let mut out = serde_json::Serializer::new(Vec::new());
            let options = SerializeOptions::new().skip_default_fields(false);
            match message.serialize_with_options(&mut out, &options) {
                Ok(()) => ([(header::CONTENT_TYPE, "application/json")], out.into_inner()).into_response(),
                Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", &e.to_string(), &[]),
            }
        }
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", &e.to_string(), &[]),
    }
}

/// The document of a streaming method (RenderChapter, ExportReleases): its messages carry a
/// `metadata` message first (`content_type`, `file_name`, `sha256`) and `data` pieces after it.
fn document_response(method: &MethodDescriptor, messages: &[Bytes]) -> Response {
    let text = |m: &DynamicMessage, name: &str| {
        m.get_field_by_name(name).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    };
    let mut meta = None;
    let mut document = Vec::new();
    for m in messages {
        let piece = match DynamicMessage::decode(method.output(), m.as_ref()) {
            Ok(p) => p,
            Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", &e.to_string(), &[]),
        };
        if piece.has_field_by_name("metadata")
            && let Some(m) = piece.get_field_by_name("metadata").and_then(|v| v.as_message().cloned())
        {
            let flag = |name: &str| m.get_field_by_name(name).and_then(|v| v.as_bool()).unwrap_or(false);
            // A chapter says whether it is the night's (archived) or a draft; other documents
            // (sector volumes, open figures) say neither.
            let status = (method.name() == "RenderChapter").then(|| if flag("draft") { "draft" } else { "archived" });
            if flag("not_modified") {
                return not_modified(&text(&m, "sha256"));
            }
            meta =
                Some((text(&m, "content_type"), text(&m, "file_name"), text(&m, "sha256"), status, text(&m, "night")));
        }
        if let Some(data) = piece.get_field_by_name("data").and_then(|v| v.as_bytes().cloned()) {
            document.extend_from_slice(&data);
        }
    }
    let Some((content_type, file_name, sha256, status, night)) = meta else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "the document came without metadata", &[]);
    };
    let mut headers = HeaderMap::new();
    let value = |s: String| HeaderValue::from_str(&s).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, value(content_type));
    headers.insert(header::CONTENT_DISPOSITION, value(format!("attachment; filename=\"{file_name}\"")));
    headers.insert("x-content-sha256", value(sha256));
    if let Some(status) = status {
        headers.insert("x-chapter-status", HeaderValue::from_static(status));
        if !night.is_empty() {
            headers.insert("x-chapter-night", value(night));
        }
    }
    (headers, document).into_response()
}

/// 304 for a document whose SHA-256 is `sha256`, with its `ETag` (the tag `with_etag` gives the
/// same bytes).
fn not_modified(sha256: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", &sha256[..sha256.len().min(32)])) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// A request body in the protobuf JSON mapping as `method`'s input message (an empty body is `{}`),
/// or what is wrong with it. Nothing after the JSON value is allowed; serde_json's recursion limit
/// refuses deep nesting.
pub fn decode_body(method: &MethodDescriptor, body: &[u8]) -> Result<DynamicMessage, String> {
    let json: &[u8] = if body.is_empty() { b"{}" } else { body };
    let invalid = |e: serde_json::Error| format!("the body is not a valid {} in JSON: {e}", method.input().name());
    let mut de = serde_json::Deserializer::from_slice(json);
    if !crate::gateway::transcode::has_field_mask(&method.input()) {
        // Decoded as it streams: a body is never held twice, as a tree and as a message.
        return DynamicMessage::deserialize(method.input(), &mut de)
            .and_then(|m| de.end().map(|()| m))
            .map_err(invalid);
    }
    let mut value: serde_json::Value =
        serde::Deserialize::deserialize(&mut de).and_then(|v| de.end().map(|()| v)).map_err(invalid)?;
    if let serde_json::Value::Object(map) = &mut value {
        crate::gateway::transcode::masks_in_json_spelling(&method.input(), map);
    }
    DynamicMessage::deserialize(method.input(), value).map_err(invalid)
}

/// The metric label of a route the fallback served (its template; never the path itself).
#[derive(Clone, Debug)]
struct RouteLabel(String);

/// The label of the compatibility routes.
const RPC_ROUTE: &str = "/v1/{service}/{method}";

/// The request's body, read within `within` and `MAX_BODY` bytes. A client that stops sending,
/// or sends less than its `Content-Length`, gets 408 instead of holding the connection open; the
/// connection is closed after it, its body unread.
async fn read_body(body: axum::body::Body, within: std::time::Duration) -> Result<Bytes, Response> {
    match tokio::time::timeout(within, http_body_util::Limited::new(body, MAX_BODY).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RESOURCE_EXHAUSTED",
            &format!("the body is larger than {MAX_BODY} bytes"),
            &[],
        )),
        Ok(Err(e)) => {
            Err(problem(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", &format!("the body could not be read: {e}"), &[]))
        }
        Err(_) => {
            let detail = format!("the body did not arrive within {} ms", within.as_millis());
            let mut refusal = problem(StatusCode::REQUEST_TIMEOUT, "DEADLINE_EXCEEDED", &detail, &[]);
            refusal.headers_mut().insert(header::CONNECTION, http::HeaderValue::from_static("close"));
            Err(refusal)
        }
    }
}

fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "NOT_FOUND", "no such operation; see /openapi.json", &[])
}

/// Every API request but `/openapi.json`: a transcoded route, else a compatibility route.
async fn dispatch(
    State(g): State<Gateway>,
    verb: http::Method,
    uri: http::Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let body = match read_body(body, g.body_timeout).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    if let Some(refusal) = unsupported_media(&headers, &body) {
        return refusal;
    }
    if let Some(twice) = duplicate_key(&body) {
        let v = violation(&twice.path, "DUPLICATE_JSON_KEY", format!("`{}` is given twice", twice.path));
        return problem(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "a key is given twice in one object", &[v]);
    }
    // HEAD is GET without the body (hyper leaves the body out), wherever GET works.
    let looked_up = if verb == http::Method::HEAD { http::Method::GET } else { verb.clone() };
    match crate::gateway::transcode::find(&g.rest, &looked_up, uri.path()) {
        crate::gateway::transcode::Found::Route(route, bindings) => {
            let mut response = rest_call(&g, route, &bindings, uri.query().unwrap_or(""), &headers, &body).await;
            // The templates are the protos' own: a closed set of labels.
            response.extensions_mut().insert(RouteLabel(route.template.clone()));
            response
        }
        crate::gateway::transcode::Found::WrongVerb(allowed) => {
            let mut allowed: Vec<&str> = allowed.iter().map(http::Method::as_str).collect();
            if allowed.contains(&"GET") {
                allowed.push("HEAD");
            }
            let allow = allowed.join(", ");
            let detail = format!("this path takes {allow}");
            let mut response = problem(StatusCode::METHOD_NOT_ALLOWED, "UNIMPLEMENTED", &detail, &[]);
            if let Ok(v) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, v);
            }
            response
        }
        crate::gateway::transcode::Found::Nothing => {
            let parts: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
            match parts.as_slice() {
                ["v1", service, method] if verb == http::Method::POST => {
                    let mut response = call(&g, service, method, &headers, &body).await;
                    response.extensions_mut().insert(RouteLabel(RPC_ROUTE.to_string()));
                    response
                }
                _ => not_found(),
            }
        }
    }
}

/// 415 for a body that is not JSON (a `Content-Type` other than `application/json` or
/// `application/*+json`; none is read as JSON) and for a `Content-Encoding` other than `identity`:
/// the gateway reads neither, and a body taken for what it is not would be stored as something
/// else.
fn unsupported_media(headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    // Every value of every such header counts: a second header must not slip past the first.
    for encoding in headers.get_all(header::CONTENT_ENCODING) {
        let encoding = encoding.to_str().unwrap_or("?");
        if encoding.split(',').any(|e| !e.trim().eq_ignore_ascii_case("identity")) {
            let detail = format!("Content-Encoding `{encoding}` is not accepted: send the body unencoded");
            return Some(problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_ARGUMENT", &detail, &[]));
        }
    }
    if body.is_empty() {
        return None;
    }
    let types: Vec<&str> = headers.get_all(header::CONTENT_TYPE).iter().map(|v| v.to_str().unwrap_or("?")).collect();
    let json = |given: &str| {
        let essence = given.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
    };
    match types.as_slice() {
        [] => None,
        [one] if json(one) => None,
        _ => {
            let detail = format!(
                "Content-Type `{}` is not accepted: the body must be JSON (one Content-Type: application/json)",
                types.join("`, `")
            );
            Some(problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_ARGUMENT", &detail, &[]))
        }
    }
}

/// A key given twice in one object of a JSON body, with its path (`assessment.firm`).
#[derive(Debug, PartialEq, Eq)]
struct Twice {
    path: String,
}

/// A field's JSON name from either of its names: `external_ref` and `externalRef` give
/// `externalRef` (protobuf's rule: an underscore drops and the next letter is upper case).
fn json_name(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The first key a JSON text gives twice in one object (serde_json would silently keep the last
/// one, so `{"externalRef": "a", "externalRef": "b"}` would store `b`); `None` for a text without
/// one, and for one that is not JSON at all (the decoder says what is wrong with that).
fn duplicate_key(body: &[u8]) -> Option<Twice> {
    use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};

    struct Walk<'a>(&'a str);

    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                let path = if self.0.is_empty() { key.clone() } else { format!("{}.{key}", self.0) };
                // A field may be named by its JSON name or its proto name (`externalRef`,
                // `external_ref`): both spell one key.
                if !seen.insert(json_name(&key)) {
                    return Err(A::Error::custom(format!("\u{0}{path}")));
                }
                map.next_value_seed(Walk(&path))?;
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Walk(self.0))?.is_some() {}
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }

    if body.is_empty() {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let error = Walk("").deserialize(&mut de).err()?.to_string();
    // The marker tells the duplicate apart from every other error; serde_json appends a position.
    let path = error.strip_prefix('\u{0}')?;
    let path = path.rsplit_once(" at line ").map_or(path, |(p, _)| p);
    Some(Twice { path: path.to_string() })
}

/// Gives the request its `request_id` from the `Idempotency-Key` header, when the method has one;
/// a different `request_id` in the body is refused (the answer to send instead).
fn idempotency_key(method: &MethodDescriptor, headers: &HeaderMap, message: &mut DynamicMessage) -> Option<Response> {
    let (Some(key), Some(field)) = (headers.get("idempotency-key"), method.input().get_field_by_name("request_id"))
    else {
        return None;
    };
    let key = key.to_str().unwrap_or("").to_string();
    let given = message.get_field(&field).as_str().unwrap_or("").to_string();
    if !given.is_empty() && given != key {
        let v = violation(
            "request_id",
            "IDEMPOTENCY_KEY_MISMATCH",
            "request_id differs from the Idempotency-Key header".into(),
        );
        return Some(problem(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "conflicting request ids", &[v]));
    }
    message.set_field(&field, prost_reflect::Value::String(key));
    None
}

/// Calls `message` on `method` and answers as JSON (or the document of a streaming method).
async fn answer(g: &Gateway, method: &MethodDescriptor, message: DynamicMessage, headers: &HeaderMap) -> Response {
    match invoke(g, method, message.encode_to_vec(), headers).await {
        Ok(messages) if method.is_server_streaming() => document_response(method, &messages),
        Ok(messages) => match messages.first() {
            Some(bytes) => json_response(method, bytes),
            None => problem(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "no response message", &[]),
        },
        Err(status) => status_problem(&status),
    }
}

/// A call on a transcoded route.
async fn rest_call(
    g: &Gateway,
    route: &crate::gateway::transcode::Route,
    bindings: &crate::gateway::transcode::Bindings,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut message = match route.request(bindings, query, body) {
        Ok(m) => m,
        Err(r) => {
            let detail = if r.reason == "MALFORMED_JSON" { "malformed request body" } else { "invalid request" };
            return problem(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                detail,
                &[violation(&r.field, r.reason, r.text)],
            );
        }
    };
    if let Some(response) = idempotency_key(&route.method, headers, &mut message) {
        return response;
    }
    let response = answer(g, &route.method, message, headers).await;
    if route.verb == http::Method::GET && response.status() == StatusCode::OK {
        return with_etag(response, headers).await;
    }
    response
}

/// A read's answer with its `ETag` (a hash of the representation), or 304 when the caller's
/// `If-None-Match` names it.
async fn with_etag(response: Response, headers: &HeaderMap) -> Response {
    use sha2::Digest;
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = body.collect().await.map(http_body_util::Collected::to_bytes) else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "the answer could not be read", &[]);
    };
    let digest = sha2::Sha256::digest(&bytes);
    let hex = hex::encode(&digest[..16]);
    let etag = format!("\"{hex}\"");
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, v);
    }
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// A call on a compatibility route, `POST /v1/{Service}/{Method}` with the request as the body.
async fn call(g: &Gateway, service: &str, method: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let Some(method) = find_method(&g.pool, service, method) else {
        return not_found();
    };
    let mut message = match decode_body(&method, body) {
        Ok(m) => m,
        Err(e) => {
            let v = violation("", "MALFORMED_JSON", e);
            return problem(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "malformed request body", &[v]);
        }
    };
    if let Some(response) = idempotency_key(&method, headers, &mut message) {
        return response;
    }
    answer(g, &method, message, headers).await
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn openmetrics_is_served_when_the_scraper_weighs_it_at_least_as_the_text_format() {
        // An Accept header as Prometheus sends it: its scrape protocols in order of preference.
        let prometheus = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
                          application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;q=0.4,\
                          text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert!(prefers_openmetrics(prometheus));
        assert!(prefers_openmetrics("Application/OpenMetrics-Text; version=1.0.0"));
        assert!(!prefers_openmetrics(""));
        assert!(!prefers_openmetrics("*/*"));
        assert!(!prefers_openmetrics("application/openmetrics-text;q=0"));
        assert!(!prefers_openmetrics("text/plain;q=0.9, application/openmetrics-text;q=0.5"));
        assert!(!prefers_openmetrics("application/openmetrics-text;q=zero"));
    }

    #[test]
    fn a_key_given_twice_is_found_with_its_path() {
        let twice = |text: &str| duplicate_key(text.as_bytes()).map(|t| t.path);
        assert_eq!(twice(r#"{"externalRef": "a", "externalRef": "b"}"#).as_deref(), Some("externalRef"));
        assert_eq!(
            twice(r#"{"assessment": {"firm": {"province": "NL-UT", "province": "NL-GE"}}}"#).as_deref(),
            Some("assessment.firm.province")
        );
        assert_eq!(
            twice(r#"{"answers": [{"itemId": "a", "likert": 1}, {"itemId": "b", "itemId": "c"}]}"#).as_deref(),
            Some("answers.itemId")
        );
        // One field by both of its names.
        assert_eq!(twice(r#"{"externalRef": "a", "external_ref": "b"}"#).as_deref(), Some("external_ref"));
        // The same key in two objects, nothing twice, and text that is not JSON: none.
        for fine in [r#"{"a": {"b": 1}, "c": {"b": 2}}"#, r#"[{"a": 1}, {"a": 2}]"#, "{}", "", "{not json", "12"] {
            assert_eq!(twice(fine), None, "{fine}");
        }
    }
}
