//! OpenTelemetry trace export, optional (`otlp_endpoint`): every tracing span (a served call is
//! the span `call`, with its request id and method) is sent as an OTLP span over OTLP/HTTP with
//! the JSON encoding to `{otlp_endpoint}/v1/traces`, in batches from a thread of its own. A
//! caller's W3C `traceparent` header makes the call's span a child of the caller's span, so the
//! call shows up inside the CRM's own trace.
//!
//! Export never slows or stops serving: finished spans go into a bounded queue (spans beyond it
//! are dropped and counted), a batch goes out every second or at 512 spans, a collector that is
//! down costs one failed connection per batch (2 s connect, 5 s read deadline) and a warning at
//! most once a minute. Plain HTTP only: the usual set-up is a collector or agent on the same host
//! or network, which forwards with TLS. Written against the OTLP specification (JSON mapping:
//! hex ids, nanosecond times as strings); no OpenTelemetry SDK is linked.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::span;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

const QUEUE: usize = 8192;
const MAX_BATCH: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The span field that carries a caller's `traceparent` header (not exported as an attribute).
pub const TRACEPARENT: &str = "traceparent";

/// Spans dropped because the queue was full (a collector far slower than the server).
static DROPPED: AtomicU64 = AtomicU64::new(0);
static EXPORTER: OnceLock<SyncSender<Message>> = OnceLock::new();

/// Where spans go: a plain-HTTP OTLP endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// `host:port`.
    pub authority: String,
    /// The path of the traces resource, `/v1/traces` under the configured path.
    pub path: String,
}

impl Endpoint {
    /// Parses `http://host:port[/base]`, the collector's OTLP/HTTP base address.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(format!(
                "`{url}` is not an http:// address (export goes to a collector or agent nearby, which forwards with TLS)"
            ));
        };
        let (authority, base) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
        let port_ok = authority.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !port_ok {
            return Err(format!("`{url}` needs a host and a port, for example http://127.0.0.1:4318"));
        }
        let base = base.trim_end_matches('/');
        let path = if base.is_empty() { "/v1/traces".to_string() } else { format!("/{base}/v1/traces") };
        Ok(Endpoint { authority: authority.to_string(), path })
    }
}

impl std::str::FromStr for Endpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Endpoint::parse(s)
    }
}

enum Message {
    Span(Finished),
    Flush(SyncSender<()>),
}

#[derive(Clone, Debug)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Double(f64),
}

/// A span being recorded, kept in the span's extensions.
struct Open {
    trace_id: u128,
    span_id: u64,
    parent: Option<u64>,
    start: SystemTime,
    attributes: Vec<(&'static str, Value)>,
}

#[derive(Debug)]
struct Finished {
    name: &'static str,
    trace_id: u128,
    span_id: u64,
    parent: Option<u64>,
    start: SystemTime,
    end: SystemTime,
    attributes: Vec<(&'static str, Value)>,
}

struct Fields<'a>(&'a mut Vec<(&'static str, Value)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name(), Value::Str(format!("{value:?}"))));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), Value::Str(value.to_string())));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push((field.name(), Value::Int(value)));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push((field.name(), i64::try_from(value).map_or(Value::Str(value.to_string()), Value::Int)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push((field.name(), Value::Bool(value)));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push((field.name(), Value::Double(value)));
    }
}

/// `00-{trace id}-{parent span id}-{flags}` (W3C Trace Context): the trace and parent ids, or
/// nothing for a malformed or all-zero value.
pub fn parse_traceparent(value: &str) -> Option<(u128, u64)> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if version != "00" || !hex(trace, 32) || !hex(parent, 16) || !hex(flags, 2) || parts.next().is_some() {
        return None;
    }
    let (trace, parent) = (u128::from_str_radix(trace, 16).ok()?, u64::from_str_radix(parent, 16).ok()?);
    (trace != 0 && parent != 0).then_some((trace, parent))
}

fn nonzero_random() -> u64 {
    loop {
        let n = crate::guard::rand_u64();
        if n != 0 {
            return n;
        }
    }
}

/// The layer that records spans for export; `init` installs it.
#[derive(Debug)]
pub struct OtlpLayer {
    queue: SyncSender<Message>,
}

impl<S> Layer<S> for OtlpLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut attributes = Vec::new();
        attrs.record(&mut Fields(&mut attributes));
        let inherited = span.parent().and_then(|p| p.extensions().get::<Open>().map(|o| (o.trace_id, o.span_id)));
        let remote = attributes.iter().find_map(|(k, v)| match v {
            Value::Str(s) if *k == TRACEPARENT => parse_traceparent(s),
            _ => None,
        });
        attributes.retain(|(k, _)| *k != TRACEPARENT);
        let (trace_id, parent) = match inherited.or(remote) {
            Some((trace, parent)) => (trace, Some(parent)),
            None => ((u128::from(nonzero_random()) << 64) | u128::from(crate::guard::rand_u64()), None),
        };
        let open = Open { trace_id, span_id: nonzero_random(), parent, start: SystemTime::now(), attributes };
        span.extensions_mut().insert(open);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(open) = span.extensions_mut().get_mut::<Open>()
        {
            values.record(&mut Fields(&mut open.attributes));
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<Open>() else { return };
        let finished = Finished {
            name: span.metadata().name(),
            trace_id: open.trace_id,
            span_id: open.span_id,
            parent: open.parent,
            start: open.start,
            end: SystemTime::now(),
            attributes: open.attributes,
        };
        if let Err(TrySendError::Full(_)) = self.queue.try_send(Message::Span(finished)) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Starts the export thread and returns the layer that feeds it.
pub fn layer(endpoint: Endpoint, service: &str) -> OtlpLayer {
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
    let service = service.to_string();
    let spawned =
        std::thread::Builder::new().name("otlp-export".into()).spawn(move || export(&rx, &endpoint, &service));
    if let Err(e) = spawned {
        eprintln!("cannot start the trace export thread: {e}");
    }
    let _ = EXPORTER.set(tx.clone());
    OtlpLayer { queue: tx }
}

/// Sends what is queued and waits for it (at most `limit`); for a graceful shutdown.
pub fn flush(limit: Duration) {
    let Some(queue) = EXPORTER.get() else { return };
    let (done, wait) = std::sync::mpsc::sync_channel(1);
    // A full queue is waited on, up to the limit (`SyncSender` has no timed send).
    let end = Instant::now() + limit;
    let mut message = Message::Flush(done);
    loop {
        match queue.try_send(message) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) if Instant::now() < end => {
                message = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return,
        }
    }
    let _ = wait.recv_timeout(end.saturating_duration_since(Instant::now()));
}

fn export(rx: &Receiver<Message>, endpoint: &Endpoint, service: &str) {
    let mut batch = Vec::new();
    let mut next = Instant::now() + FLUSH_EVERY;
    let mut last_warning: Option<Instant> = None;
    let mut send = |batch: &mut Vec<Finished>| {
        if batch.is_empty() {
            return;
        }
        let body = encode(batch, service);
        batch.clear();
        if let Err(e) = post(endpoint, &body)
            && last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(60))
        {
            let dropped = DROPPED.load(Ordering::Relaxed);
            tracing::warn!(error = %e, dropped, "cannot export traces; the spans of this batch are lost");
            last_warning = Some(Instant::now());
        }
    };
    loop {
        match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Ok(Message::Span(s)) => {
                batch.push(s);
                if batch.len() >= MAX_BATCH {
                    send(&mut batch);
                }
            }
            Ok(Message::Flush(done)) => {
                send(&mut batch);
                let _ = done.try_send(());
            }
            Err(RecvTimeoutError::Timeout) => {
                send(&mut batch);
                next = Instant::now() + FLUSH_EVERY;
            }
            Err(RecvTimeoutError::Disconnected) => {
                send(&mut batch);
                return;
            }
        }
    }
}

fn nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()).to_string()
}

fn attribute((key, value): &(&'static str, Value)) -> serde_json::Value {
    let value = match value {
        Value::Str(s) => serde_json::json!({ "stringValue": s }),
        Value::Int(i) => serde_json::json!({ "intValue": i.to_string() }),
        Value::Bool(b) => serde_json::json!({ "boolValue": b }),
        Value::Double(f) => serde_json::json!({ "doubleValue": f }),
    };
    serde_json::json!({ "key": key, "value": value })
}

/// One OTLP `ExportTraceServiceRequest` in the JSON encoding.
fn encode(batch: &[Finished], service: &str) -> Vec<u8> {
    const KIND_INTERNAL: u8 = 1;
    const KIND_SERVER: u8 = 2;
    let spans: Vec<serde_json::Value> = batch
        .iter()
        .map(|s| {
            let mut span = serde_json::json!({
                "traceId": format!("{:032x}", s.trace_id),
                "spanId": format!("{:016x}", s.span_id),
                "name": s.name,
                "kind": if s.name == "call" { KIND_SERVER } else { KIND_INTERNAL },
                "startTimeUnixNano": nanos(s.start),
                "endTimeUnixNano": nanos(s.end),
                "attributes": s.attributes.iter().map(attribute).collect::<Vec<_>>(),
            });
            if let Some(parent) = s.parent {
                span["parentSpanId"] = serde_json::Value::String(format!("{parent:016x}"));
            }
            span
        })
        .collect();
    let request = serde_json::json!({
        "resourceSpans": [{
            "resource": { "attributes": [attribute(&("service.name", Value::Str(service.to_string())))] },
            "scopeSpans": [{ "scope": { "name": "maturity", "version": env!("CARGO_PKG_VERSION") }, "spans": spans }],
        }],
    });
    serde_json::to_vec(&request).unwrap_or_default()
}

/// One POST over HTTP/1.1 with a connect and an I/O deadline; Ok for a 2xx answer.
fn post(endpoint: &Endpoint, body: &[u8]) -> Result<(), String> {
    let addr = endpoint
        .authority
        .to_socket_addrs()
        .map_err(|e| format!("{}: {e}", endpoint.authority))?
        .next()
        .ok_or_else(|| format!("{}: no address", endpoint.authority))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("{addr}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        endpoint.path,
        endpoint.authority,
        body.len()
    );
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).map_err(|e| e.to_string())?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).map_err(|e| format!("no answer: {e}"))?;
    let line = String::from_utf8_lossy(&status);
    if line.starts_with("HTTP/1.") && line[9..].starts_with('2') {
        Ok(())
    } else {
        Err(format!("the collector answered {}", line.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:4318").unwrap();
        assert_eq!((e.authority.as_str(), e.path.as_str()), ("127.0.0.1:4318", "/v1/traces"));
        assert_eq!(Endpoint::parse("http://collector:4318/otlp/").unwrap().path, "/otlp/v1/traces");
        assert!(Endpoint::parse("https://collector:4318").unwrap_err().contains("http://"));
        assert!(Endpoint::parse("http://collector").unwrap_err().contains("port"));
        assert!(Endpoint::parse("http://:4318").is_err());
    }

    #[test]
    fn traceparent() {
        // The example of the W3C Trace Context recommendation.
        let (trace, parent) = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
        assert_eq!(format!("{trace:032x}"), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(format!("{parent:016x}"), "b7ad6b7169203331");
        for bad in [
            "",
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
    }

    #[test]
    fn encoding_follows_the_otlp_json_mapping() {
        let span = Finished {
            name: "call",
            trace_id: 0x0af7651916cd43dd8448eb211c80319c,
            span_id: 1,
            parent: Some(0xb7ad6b7169203331),
            start: UNIX_EPOCH + Duration::from_nanos(1_000_000_001),
            end: UNIX_EPOCH + Duration::from_nanos(1_000_000_501),
            attributes: vec![("request_id", Value::Str("r-1".into())), ("n", Value::Int(3))],
        };
        let v: serde_json::Value = serde_json::from_slice(&encode(&[span], "maturity")).unwrap();
        let s = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(v["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"], "maturity");
        assert_eq!(s["traceId"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(s["spanId"], "0000000000000001");
        assert_eq!(s["parentSpanId"], "b7ad6b7169203331");
        assert_eq!(s["kind"], 2);
        assert_eq!(s["startTimeUnixNano"], "1000000001");
        assert_eq!(s["endTimeUnixNano"], "1000000501");
        assert_eq!(s["attributes"][0]["value"]["stringValue"], "r-1");
        assert_eq!(s["attributes"][1]["value"]["intValue"], "3");
    }
}
