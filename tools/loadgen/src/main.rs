//! `loadgen`: drives the real gRPC API and prints throughput and latency percentiles (HDR
//! histograms), errors by status code, for each scenario in one table.
//!
//! Closed loop (default): `--concurrency` workers each send the next request when the previous
//! one answered. Open loop (`--rate R`): requests start on a fixed schedule whatever the answers,
//! and latency counts from the scheduled start, so a slow server cannot hide its queueing
//! (no coordinated omission); at most `--max-in-flight` wait, and later ones count as shed by the
//! client.
//!
//! Without `--server`, the all-in-one server is started in this process on a free port, on its
//! own runtime, so that one command measures the whole stack.
//!
//! By default requests are encoded once and responses are not decoded (see `raw`), so that the
//! client's share of the two cores is small and equal across RPCs; `--typed` measures with the
//! generated clients instead. Every scenario's response is decoded and checked once before the
//! measurement starts.

use services_server::raw;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use hdrhistogram::Histogram;
use prost::Message;
use services_api::v1 as pb;
use services_api::v1::benchmark_service_client::BenchmarkServiceClient;
use services_api::v1::diagnostics_service_client::DiagnosticsServiceClient;
use services_api::v1::invitation_service_client::InvitationServiceClient;
use services_api::v1::persistence_service_client::PersistenceServiceClient;
use services_api::v1::report_service_client::ReportServiceClient;
use services_api::v1::scoring_service_client::ScoringServiceClient;
use tonic::transport::{Channel, Endpoint};

#[derive(Debug, Parser)]
#[command(version, about = "Load generator for the maturity gRPC API")]
struct Args {
    /// Server URL; without it, the all-in-one server runs in this process.
    #[arg(long)]
    server: Option<String>,
    /// Scenarios to run, in order: score, echo, get-model, submit, submit-http, submit-rest,
    /// render, query, position, lag, questionnaire.
    #[arg(long, value_delimiter = ',', default_value = "score,echo")]
    scenarios: Vec<Scenario>,
    /// Concurrent workers (closed loop).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// HTTP/2 connections the workers share.
    #[arg(long, default_value_t = 2)]
    connections: usize,
    /// Seconds to measure each scenario.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of unmeasured warm-up before each scenario.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Open loop: requests per second (0 = closed loop).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Open loop: most requests in flight before the client sheds.
    #[arg(long, default_value_t = 10_000)]
    max_in_flight: usize,
    /// Bytes of the echo payload.
    #[arg(long, default_value_t = 16)]
    echo_bytes: usize,
    /// Encode every request and decode every response with the generated clients.
    #[arg(long)]
    typed: bool,
    /// API key for the tenant-scoped calls (submit, render) against `--server` (or the
    /// environment variable MATURITY_API_KEY); without one they name the tenant `loadgen` in `x-tenant-id`, which only a
    /// server in development mode (`--auth tenant-header`) accepts.
    #[arg(long)]
    api_key: Option<String>,
    /// Address (HOST:PORT) of the JSON-over-HTTP port of `--server`, for `submit-http`,
    /// `submit-rest` and `questionnaire`.
    #[arg(long)]
    http_server: Option<std::net::SocketAddr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// ScoringService.ScoreAssessment with the synthetic sample assessment.
    Score,
    /// DiagnosticsService.Echo: the bare server stack.
    Echo,
    /// ScoringService.GetModel in Dutch.
    GetModel,
    /// PersistenceService.SubmitAssessment: a new firm each call (scored, stored, contributed,
    /// published), over 20 000 synthetic demo peers when the server runs in-process.
    Submit,
    /// ReportService.RenderChapter of a submitted assessment, timed to the first message (the
    /// metadata, sent once the chapter is typeset): time to first byte.
    Render,
    /// SubmitAssessment as JSON over HTTP/1.1 (`POST /v1/PersistenceService/SubmitAssessment`,
    /// one keep-alive connection per worker): the same work as `submit`, through the gateway.
    SubmitHttp,
    /// SubmitAssessment as JSON over HTTP/1.1 at its resource route (`POST /v1/assessments`, the
    /// `google.api.http` annotation's): the same work as `submit-http`, through the transcoding.
    SubmitRest,
    /// BenchmarkService.QueryBenchmark of a random group (any level: cell, section and size,
    /// section, size or national) in a random year of the demo peers.
    Query,
    /// BenchmarkService.GetPeerPosition of a random firm (cell) with random scores in a random
    /// year of the demo peers.
    Position,
    /// Publication lag: `--concurrency` workers submit new firms of 2025 as fast as the server
    /// takes them while one client polls the published national group of 2025; a submission's
    /// lag runs from its acknowledgement until the published n first counts it (the latency
    /// columns). The last fewer-than-k submissions stay unpublished by design and are not counted.
    Lag,
    /// The questionnaire in the browser: each worker has an invitation of its own (created over
    /// gRPC) and, one request after the other on its keep-alive HTTP/1.1 connection, loads a page
    /// (`GET /q/{token}/{n}`) and saves it with every question answered (`POST`, the form a
    /// browser without JavaScript sends), page after page; a call is the load and the save.
    Questionnaire,
}

impl Scenario {
    fn path(self) -> &'static str {
        match self {
            Scenario::Score => "/maturity.v1.ScoringService/ScoreAssessment",
            Scenario::Echo => "/maturity.v1.DiagnosticsService/Echo",
            Scenario::GetModel => "/maturity.v1.ScoringService/GetModel",
            Scenario::Submit => "/maturity.v1.PersistenceService/SubmitAssessment",
            Scenario::Render => "/maturity.v1.ReportService/RenderChapter",
            Scenario::SubmitHttp => "/v1/PersistenceService/SubmitAssessment",
            Scenario::SubmitRest => "/v1/assessments",
            Scenario::Query => "/maturity.v1.BenchmarkService/QueryBenchmark",
            Scenario::Position => "/maturity.v1.BenchmarkService/GetPeerPosition",
            Scenario::Lag => "/maturity.v1.PersistenceService/SubmitAssessment",
            Scenario::Questionnaire => "/q/{token}/{n}",
        }
    }

    fn rpc(self) -> &'static str {
        match self {
            Scenario::Score => "ScoringService.ScoreAssessment",
            Scenario::Echo => "DiagnosticsService.Echo",
            Scenario::GetModel => "ScoringService.GetModel",
            Scenario::Submit => "PersistenceService.SubmitAssessment",
            Scenario::Render => "ReportService.RenderChapter (TTFB)",
            Scenario::SubmitHttp => "HTTP JSON SubmitAssessment",
            Scenario::SubmitRest => "HTTP JSON POST /v1/assessments",
            Scenario::Query => "BenchmarkService.QueryBenchmark",
            Scenario::Position => "BenchmarkService.GetPeerPosition",
            Scenario::Lag => "publication lag (submit to published)",
            Scenario::Questionnaire => "questionnaire: page load + save",
        }
    }
}

/// Sections and sizes of the firms whose chapters the render scenario asks for.
const RENDER_SECTIONS: [&str; 16] = ["C", "F", "G", "H", "I", "J", "K", "L", "M", "N", "P", "Q", "R", "S", "D", "E"];
const RENDER_SIZES: [&str; 4] = ["micro", "small", "medium", "large"];

/// Codes the benchmark scenarios draw from ("" is any).
const QUERY_SECTIONS: [&str; 20] =
    ["", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S"];
const QUERY_SIZES: [&str; 5] = ["", "micro", "small", "medium", "large"];
const QUERY_PROVINCES: [&str; 13] =
    ["", "NL-DR", "NL-FL", "NL-FR", "NL-GE", "NL-GR", "NL-LI", "NL-NB", "NL-NH", "NL-OV", "NL-UT", "NL-ZE", "NL-ZH"];
/// The years of the demo peers.
const QUERY_YEARS: std::ops::RangeInclusive<u32> = 2013..=2025;

/// A well-mixed number from a counter (splitmix64), for random but reproducible requests.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn pick<T: Copy>(items: &[T], r: u64) -> T {
    items[(r % items.len() as u64) as usize]
}

/// What one scenario measured.
struct Outcome {
    scenario: Scenario,
    mode: String,
    histogram: Histogram<u64>,
    /// Latencies of the calls answered without error (under overload: what was accepted).
    answered: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    elapsed: Duration,
}

#[derive(Clone)]
struct Clients {
    channels: Vec<Channel>,
    scoring: Vec<ScoringServiceClient<Channel>>,
    echo: Vec<DiagnosticsServiceClient<Channel>>,
    score_request: pb::ScoreAssessmentRequest,
    echo_payload: Vec<u8>,
    /// Pre-encoded request per scenario, for the raw client.
    encoded: [bytes::Bytes; 3],
    typed: bool,
    /// Numbers the submissions, so that each is a new request and a new firm.
    submitted: Arc<std::sync::atomic::AtomicU64>,
    /// The assessments the render scenario asks for, in turn (submitted when verifying).
    render_ids: Arc<std::sync::OnceLock<Vec<i64>>>,
    /// Numbers the renders, to take the assessments in turn.
    rendered: Arc<std::sync::atomic::AtomicU64>,
    /// Numbers the benchmark reads, so that each draws another group and year.
    read: Arc<std::sync::atomic::AtomicU64>,
    /// The API key of the tenant-scoped calls, if any.
    api_key: Option<String>,
    /// The JSON-over-HTTP address, for `submit-http`.
    http_addr: Option<std::net::SocketAddr>,
    /// The submission as JSON, with `__ID__` where each request puts its number.
    json_template: Arc<String>,
    /// This worker's keep-alive HTTP connection (not shared: a clone starts without one).
    http_conn: HttpConn,
    /// This worker's questionnaire (not shared: a clone starts with an invitation of its own).
    answering: Answering,
}

/// A worker's questionnaire: its link, its CSRF cookie, the page it is on; cloning gives none.
#[derive(Default)]
struct Answering {
    link: String,
    cookie: String,
    page: usize,
}

impl Clone for Answering {
    fn clone(&self) -> Self {
        Answering::default()
    }
}

/// An HTTP answer: status, the `Set-Cookie` value (its first part), body.
struct Answer {
    status: u16,
    cookie: Option<String>,
    body: Vec<u8>,
}

/// A worker's HTTP/1.1 connection; cloning gives an unconnected one.
#[derive(Default)]
struct HttpConn(Option<tokio::io::BufStream<tokio::net::TcpStream>>);

impl Clone for HttpConn {
    fn clone(&self) -> Self {
        HttpConn(None)
    }
}

/// One POST of JSON on `conn` (HTTP/1.1 keep-alive); the response status.
async fn http_post(
    conn: &mut tokio::io::BufStream<tokio::net::TcpStream>,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> std::io::Result<u16> {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend(auth.as_deref().map(|a| ("Authorization", a)));
    http_exchange(conn, "POST", path, &headers, body.as_bytes()).await.map(|a| a.status)
}

/// One request on `conn` (HTTP/1.1 keep-alive) with `headers` and `body`.
async fn http_exchange(
    conn: &mut tokio::io::BufStream<tokio::net::TcpStream>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Answer> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: loadgen\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(body).await?;
    conn.flush().await?;
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (mut length, mut cookie) = (0usize, None);
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("set-cookie") {
                cookie = v.trim().split(';').next().map(str::to_string);
            }
        }
    }
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).await?;
    Ok(Answer { status, cookie, body })
}

/// The form a browser without JavaScript sends for `html`'s page: its CSRF token, `go=next`, and
/// the first answer of every question.
fn page_form(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let mut form = format!("csrf={}&go=next", html[at..].split('"').next()?);
    let mut last = "";
    for chunk in html.split("<input type=\"radio\" name=\"").skip(1) {
        let name = chunk.split('"').next()?;
        if name != last {
            let value = chunk.split("value=\"").nth(1)?.split('"').next()?;
            form.push_str(&format!("&{name}={value}"));
            last = name;
        }
    }
    Some(form)
}

impl Clients {
    fn encoded(&self, scenario: Scenario) -> bytes::Bytes {
        self.encoded[(scenario as usize).min(2)].clone()
    }

    /// One SubmitAssessment of a new firm, always through the generated client (each request
    /// differs).
    async fn submit(&self, conn: usize) -> Result<pb::SubmitAssessmentResponse, tonic::Status> {
        self.submit_request(conn, self.score_request.clone()).await
    }

    /// One SubmitAssessment of a new firm answering `assessment`.
    async fn submit_request(
        &self,
        conn: usize,
        assessment: pb::ScoreAssessmentRequest,
    ) -> Result<pb::SubmitAssessmentResponse, tonic::Status> {
        let n = self.submitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let run = std::process::id();
        let request = pb::SubmitAssessmentRequest {
            request_id: format!("loadgen-{run}-{n}"),
            external_ref: format!("loadgen-{run}-{n}"),
            firm_name: format!("Loadgen firm {n} (synthetic)"),
            // 2025-07-01T00:00:00Z: the demo peers' latest year.
            completed_at: Some(prost_types::Timestamp { seconds: 1_751_328_000, nanos: 0 }),
            assessment: Some(assessment),
        };
        let call = self.identified(request)?;
        let channel = self.channels[conn % self.channels.len()].clone();
        PersistenceServiceClient::new(channel).submit_assessment(call).await.map(tonic::Response::into_inner)
    }

    /// One SubmitAssessment of a new firm as JSON over HTTP on this worker's connection, at the
    /// path of `scenario` (`submit-http` or `submit-rest`).
    async fn submit_http(&mut self, scenario: Scenario) -> Result<(), String> {
        let addr = self.http_addr.ok_or("no HTTP address")?;
        if self.http_conn.0.is_none() {
            let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
            let _ = stream.set_nodelay(true);
            self.http_conn.0 = Some(tokio::io::BufStream::new(stream));
        }
        let n = self.submitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = self.json_template.replace("__ID__", &format!("{}-{n}", std::process::id()));
        let Some(conn) = self.http_conn.0.as_mut() else { return Err("no connection".into()) };
        match http_post(conn, scenario.path(), self.api_key.as_deref(), &body).await {
            Ok(200) => Ok(()),
            Ok(status) => Err(format!("HTTP {status}")),
            Err(e) => {
                self.http_conn.0 = None;
                Err(format!("io: {}", e.kind()))
            }
        }
    }

    /// A new invitation of the tenant: its link's path.
    async fn invite(&self, conn: usize) -> Result<String, String> {
        let n = self.submitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request = pb::CreateInvitationRequest {
            external_ref: format!("loadgen-q-{}-{n}", std::process::id()),
            firm_name: format!("Loadgen questionnaire {n} (synthetic)"),
            firm: self.score_request.firm.clone(),
            ..Default::default()
        };
        let call = self.identified(request).map_err(|e| e.to_string())?;
        let channel = self.channels[conn % self.channels.len()].clone();
        let created = InvitationServiceClient::new(channel).create_invitation(call).await.map_err(|e| e.to_string())?;
        let url = created.into_inner().url;
        Ok(url.find("/q/").map_or(url.clone(), |i| url[i..].to_string()))
    }

    /// One page of this worker's questionnaire loaded and saved; after the last page, a new
    /// invitation.
    async fn answer_page(&mut self, conn: usize) -> Result<(), String> {
        let addr = self.http_addr.ok_or("no HTTP address")?;
        if self.answering.link.is_empty() {
            self.answering = Answering { link: self.invite(conn).await?, cookie: String::new(), page: 1 };
        }
        if self.http_conn.0.is_none() {
            let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
            let _ = stream.set_nodelay(true);
            self.http_conn.0 = Some(tokio::io::BufStream::new(stream));
        }
        let path = format!("{}/{}", self.answering.link, self.answering.page);
        let Some(conn) = self.http_conn.0.as_mut() else { return Err("no connection".into()) };
        let cookie = self.answering.cookie.clone();
        let mut headers = vec![("Accept", "text/html")];
        if !cookie.is_empty() {
            headers.push(("Cookie", cookie.as_str()));
        }
        let page = http_exchange(conn, "GET", &path, &headers, b"").await.map_err(|e| format!("io: {}", e.kind()))?;
        if page.status != 200 {
            return Err(format!("GET {}", page.status));
        }
        let cookie = page.cookie.unwrap_or(cookie);
        let html = String::from_utf8_lossy(&page.body);
        let form = page_form(&html).ok_or("a page without its form")?;
        headers = vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie.as_str()),
            ("Sec-Fetch-Site", "same-origin"),
        ];
        let saved = http_exchange(conn, "POST", &path, &headers, form.as_bytes())
            .await
            .map_err(|e| format!("io: {}", e.kind()))?;
        if saved.status != 303 {
            return Err(format!("POST {}", saved.status));
        }
        let last = html.contains("value=\"review\"");
        self.answering.cookie = cookie;
        self.answering.page += 1;
        if last {
            self.answering = Answering::default();
        }
        Ok(())
    }

    /// One random group, year and (for positions) scores.
    fn draw(&self) -> (pb::PeerGroup, u32, f64) {
        let n = self.read.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = mix(n);
        let group = pb::PeerGroup {
            sbi_section: pick(&QUERY_SECTIONS, r).to_string(),
            size_class: pick(&QUERY_SIZES, r >> 8).to_string(),
            province: pick(&QUERY_PROVINCES, r >> 16).to_string(),
        };
        let years: Vec<u32> = QUERY_YEARS.collect();
        (group, pick(&years, r >> 24), (r >> 32) as f64 / f64::from(u32::MAX) * 100.0)
    }

    /// One QueryBenchmark of a random group and year.
    async fn query(&self, conn: usize) -> Result<pb::QueryBenchmarkResponse, tonic::Status> {
        let (group, year, _) = self.draw();
        let call = self.identified(pb::QueryBenchmarkRequest { group: Some(group), year, ..Default::default() })?;
        let channel = self.channels[conn % self.channels.len()].clone();
        BenchmarkServiceClient::new(channel).query_benchmark(call).await.map(tonic::Response::into_inner)
    }

    /// One GetPeerPosition of a random firm, year and scores.
    async fn position(&self, conn: usize) -> Result<pb::PeerPosition, tonic::Status> {
        let (group, year, score) = self.draw();
        let firm = pb::FirmAttributes {
            sbi_section: if group.sbi_section.is_empty() { "G".into() } else { group.sbi_section },
            size_class: if group.size_class.is_empty() { "small".into() } else { group.size_class },
            province: if group.province.is_empty() { "NL-ZH".into() } else { group.province },
        };
        let call = self.identified(pb::GetPeerPositionRequest {
            firm: Some(firm),
            year,
            maturity_index: score,
            external_index: (score + 10.0).min(100.0),
            internal_index: (score - 10.0).max(0.0),
            ..Default::default()
        })?;
        let channel = self.channels[conn % self.channels.len()].clone();
        BenchmarkServiceClient::new(channel).get_peer_position(call).await.map(tonic::Response::into_inner)
    }

    /// `msg` as a call of the load generator's tenant: with its API key, or else naming it.
    fn identified<T>(&self, msg: T) -> Result<tonic::Request<T>, tonic::Status> {
        services_maturity::demo::as_tenant(msg, self.api_key.as_deref(), "loadgen")
            .map_err(|e| tonic::Status::invalid_argument(e.to_string()))
    }

    /// Starts RenderChapter and waits for its first message; with `drain`, reads the whole
    /// document and returns its size.
    async fn render(&self, conn: usize, drain: bool) -> Result<u64, tonic::Status> {
        let n = self.rendered.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as usize;
        let id = self.render_ids.get().and_then(|ids| ids.get(n % ids.len().max(1)).copied()).unwrap_or(0);
        let call = self.identified(pb::RenderChapterRequest { assessment_id: id, locale: "nl".into(), format: 0 })?;
        let channel = self.channels[conn % self.channels.len()].clone();
        let mut stream = ReportServiceClient::new(channel).render_chapter(call).await?.into_inner();
        let first = stream.message().await?.ok_or_else(|| tonic::Status::internal("empty stream"))?;
        let announced = first.metadata.map_or(0, |m| m.size);
        if !drain {
            return Ok(announced);
        }
        let mut got = 0u64;
        while let Some(piece) = stream.message().await? {
            got += piece.data.len() as u64;
        }
        if got != announced {
            return Err(tonic::Status::data_loss(format!("{got} bytes of {announced}")));
        }
        Ok(got)
    }

    /// Sends one request of `scenario` on connection `conn`; the error is the status code name.
    async fn call(&mut self, scenario: Scenario, conn: usize) -> Result<(), String> {
        let code = |s: tonic::Status| format!("{:?}", s.code());
        let i = conn % self.scoring.len();
        match (scenario, self.typed) {
            (Scenario::Submit, _) => self.submit(conn).await.map(drop).map_err(code),
            (Scenario::Render, _) => self.render(conn, false).await.map(drop).map_err(code),
            (Scenario::SubmitHttp | Scenario::SubmitRest, _) => self.submit_http(scenario).await,
            (Scenario::Questionnaire, _) => self.answer_page(conn).await,
            (Scenario::Query, _) => self.query(conn).await.map(drop).map_err(code),
            (Scenario::Position, _) | (Scenario::Lag, _) => self.position(conn).await.map(drop).map_err(code),
            (_, false) => raw::call(self.channels[i].clone(), scenario.path(), self.encoded(scenario))
                .await
                .map(drop)
                .map_err(code),
            (Scenario::Score, true) => {
                self.scoring[i].score_assessment(self.score_request.clone()).await.map(drop).map_err(code)
            }
            (Scenario::Echo, true) => {
                self.echo[i].echo(pb::EchoRequest { payload: self.echo_payload.clone() }).await.map(drop).map_err(code)
            }
            (Scenario::GetModel, true) => {
                self.scoring[i].get_model(pb::GetModelRequest::default()).await.map(drop).map_err(code)
            }
        }
    }
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    // Microseconds from 1 µs to 60 s with 3 significant figures.
    Histogram::new_with_bounds(1, 60_000_000, 3).context("while creating a histogram")
}

/// The published n of the national group of 2025.
async fn national_n(clients: &Clients) -> Result<u32, tonic::Status> {
    let call = clients.identified(pb::QueryBenchmarkRequest { year: 2025, ..Default::default() })?;
    let channel = clients.channels[0].clone();
    let answer = BenchmarkServiceClient::new(channel).query_benchmark(call).await?.into_inner();
    Ok(answer.group_used.map_or(0, |g| g.n))
}

/// The `lag` scenario (see `Scenario::Lag`).
async fn lag_loop(clients: &Clients, args: &Args, measure: Duration) -> anyhow::Result<Outcome> {
    let base = national_n(clients).await.context("reading the national group of 2025")?;
    let start = Instant::now();
    let end = start + measure;
    let acks: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let c = clients.clone();
        let acks = Arc::clone(&acks);
        tasks.push(tokio::spawn(async move {
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            while Instant::now() < end {
                match c.submit(w).await {
                    Ok(_) => acks.lock().map(|mut a| a.push(Instant::now())).unwrap_or(()),
                    Err(s) => *errors.entry(format!("{:?}", s.code())).or_default() += 1,
                }
            }
            errors
        }));
    }
    let mut histogram = new_histogram()?;
    let mut matched = 0usize;
    // After the submissions stop, up to 10 s more for the publisher to catch up.
    while Instant::now() < end + Duration::from_secs(10) {
        // Read before the acknowledgements, so that none comes after it unseen.
        let all_back = tasks.iter().all(|t| t.is_finished());
        let n = national_n(clients).await.unwrap_or(base);
        let now = Instant::now();
        let covered = n.saturating_sub(base) as usize;
        let (total, newly): (usize, Vec<Instant>) = match acks.lock() {
            Ok(a) => (a.len(), a[matched.min(a.len())..covered.min(a.len()).max(matched.min(a.len()))].to_vec()),
            Err(_) => (0, Vec::new()),
        };
        for ack in &newly {
            histogram.saturating_record(now.duration_since(*ack).as_micros() as u64);
        }
        matched += newly.len();
        // Done when every submission is back and fewer than k (10 by default) are unpublished:
        // those wait for more changes to their group, as the disclosure rule wants.
        if now >= end && all_back && total.saturating_sub(matched) < 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut errors = BTreeMap::new();
    for t in tasks {
        for (k, v) in t.await.context("worker panicked")? {
            *errors.entry(k).or_default() += v;
        }
    }
    let unmatched = acks.lock().map_or(0, |a| a.len()).saturating_sub(matched);
    if unmatched > 0 {
        errors.insert("unpublished at the end".to_string(), unmatched as u64);
    }
    let answered = histogram.clone();
    Ok(Outcome { scenario: Scenario::Lag, mode: "lag".into(), histogram, answered, errors, elapsed: measure })
}

async fn closed_loop(clients: &Clients, scenario: Scenario, args: &Args, measure: Duration) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let end = start + measure;
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let mut c = clients.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = new_histogram()?;
            let mut ok = new_histogram()?;
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            while Instant::now() < end {
                let t = Instant::now();
                let r = c.call(scenario, w).await;
                let us = t.elapsed().as_micros() as u64;
                h.saturating_record(us);
                match r {
                    Ok(()) => ok.saturating_record(us),
                    Err(code) => *errors.entry(code).or_default() += 1,
                }
            }
            Ok::<_, anyhow::Error>((h, ok, errors))
        }));
    }
    let mut histogram = new_histogram()?;
    let mut answered = new_histogram()?;
    let mut errors = BTreeMap::new();
    for t in tasks {
        let (h, ok, e) = t.await.context("worker panicked")??;
        histogram.add(&h).context("while merging histograms")?;
        answered.add(&ok).context("while merging histograms")?;
        for (k, v) in e {
            *errors.entry(k).or_default() += v;
        }
    }
    Ok(Outcome {
        scenario,
        mode: format!("closed c={}", args.concurrency),
        histogram,
        answered,
        errors,
        elapsed: start.elapsed(),
    })
}

async fn open_loop(clients: &Clients, scenario: Scenario, args: &Args, measure: Duration) -> anyhow::Result<Outcome> {
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let total = (measure.as_secs_f64() * args.rate) as u64;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Option<String>)>();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(args.max_in_flight));
    let start = Instant::now();
    let mut shed = 0u64;
    for n in 0..total {
        let scheduled = start + interval * n as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            shed += 1;
            continue;
        };
        let mut c = clients.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let r = c.call(scenario, n as usize).await;
            drop(permit);
            let _ = tx.send((scheduled.elapsed().as_micros() as u64, r.err()));
        });
    }
    drop(tx);
    let mut histogram = new_histogram()?;
    let mut answered = new_histogram()?;
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    while let Some((us, err)) = rx.recv().await {
        histogram.saturating_record(us);
        match err {
            None => answered.saturating_record(us),
            Some(code) => *errors.entry(code).or_default() += 1,
        }
    }
    if shed > 0 {
        errors.insert("shed by client".to_string(), shed);
    }
    Ok(Outcome {
        scenario,
        mode: format!("open {}/s", args.rate),
        histogram,
        answered,
        errors,
        elapsed: start.elapsed(),
    })
}

/// Submits assessments of firms of different sectors and sizes, so that every chapter differs (the
/// same chapter again would be served largely from Typst's memoised layout), and renders one of
/// them.
async fn verify_render(clients: &Clients) -> anyhow::Result<()> {
    let s = Scenario::Render;
    let mut ids = Vec::new();
    for (i, section) in RENDER_SECTIONS.iter().enumerate() {
        let mut request = clients.score_request.clone();
        if let Some(firm) = request.firm.as_mut() {
            firm.sbi_section = (*section).to_string();
            firm.size_class = RENDER_SIZES[i % RENDER_SIZES.len()].to_string();
        }
        let r = clients
            .submit_request(0, request)
            .await
            .map_err(|e| anyhow::anyhow!("submitting the chapters' assessments: {e}"))?;
        ids.push(r.assessment.map_or(0, |a| a.id));
    }
    let _ = clients.render_ids.set(ids);
    let size =
        clients.render(0, true).await.map_err(|e| anyhow::anyhow!("{} failed before measuring: {e}", s.rpc()))?;
    anyhow::ensure!(size > 1000, "{} sent a {size}-byte chapter", s.rpc());
    Ok(())
}

/// One call per scenario through the raw path, decoded and checked, so that a misrouted or failing
/// RPC is caught before it is measured.
async fn verify(clients: &Clients, scenarios: &[Scenario]) -> anyhow::Result<()> {
    for &s in scenarios {
        if s == Scenario::Submit || s == Scenario::Lag {
            let r = clients.submit(0).await.map_err(|e| anyhow::anyhow!("{} failed before measuring: {e}", s.rpc()))?;
            anyhow::ensure!(r.assessment.is_some(), "{} answered without the assessment", s.rpc());
            continue;
        }
        if s == Scenario::Query {
            let r = clients.query(0).await.map_err(|e| anyhow::anyhow!("{} failed before measuring: {e}", s.rpc()))?;
            anyhow::ensure!(r.group_used.is_some_and(|g| g.n > 0), "{} answered without a group", s.rpc());
            continue;
        }
        if s == Scenario::Position {
            let r =
                clients.position(0).await.map_err(|e| anyhow::anyhow!("{} failed before measuring: {e}", s.rpc()))?;
            anyhow::ensure!(r.positions.len() == 3, "{} answered without positions", s.rpc());
            continue;
        }
        if matches!(s, Scenario::SubmitHttp | Scenario::SubmitRest) {
            let mut c = clients.clone();
            c.submit_http(s).await.map_err(|e| anyhow::anyhow!("{} failed before measuring: {e}", s.rpc()))?;
            continue;
        }
        if s == Scenario::Questionnaire {
            let mut c = clients.clone();
            c.answer_page(0).await.map_err(|e| anyhow::anyhow!("{} failed before measuring: {e}", s.rpc()))?;
            anyhow::ensure!(c.answering.page == 2, "{} did not move on to page 2", s.rpc());
            continue;
        }
        if s == Scenario::Render {
            verify_render(clients).await?;
            continue;
        }
        let body = raw::call(clients.channels[0].clone(), s.path(), clients.encoded(s))
            .await
            .map_err(|e| anyhow::anyhow!("{} failed before measuring: {e}", s.rpc()))?;
        let ok = match s {
            Scenario::Score => {
                pb::ScoreAssessmentResponse::decode(body)?.result.is_some_and(|r| r.maturity_index >= 0.0)
            }
            Scenario::Echo => pb::EchoResponse::decode(body)?.payload == clients.echo_payload,
            Scenario::GetModel => !pb::Model::decode(body)?.items.is_empty(),
            _ => true,
        };
        anyhow::ensure!(ok, "{} answered something unexpected", s.rpc());
    }
    Ok(())
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn print_table(outcomes: &[Outcome]) {
    println!(
        "{:<32} {:<14} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "rpc", "mode", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"
    );
    for o in outcomes {
        let h = &o.histogram;
        let errors: u64 = o.errors.values().sum();
        // Calls the client shed never reached the histogram; the answered ones are counted apart.
        let ok = o.answered.len();
        println!(
            "{:<32} {:<14} {:>9} {:>7} {:>10.0} {:>8} {:>8} {:>8} {:>8} {:>8}",
            o.scenario.rpc(),
            o.mode,
            h.len(),
            errors,
            ok as f64 / o.elapsed.as_secs_f64(),
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.9)),
            ms(h.value_at_quantile(0.99)),
            ms(h.value_at_quantile(0.999)),
            ms(h.max()),
        );
        for (code, n) in &o.errors {
            println!("    errors {code}: {n}");
        }
        if !o.errors.is_empty() && !o.answered.is_empty() {
            let a = &o.answered;
            println!(
                "    answered without error: {} calls, p50 {} ms, p99 {} ms, max {} ms",
                a.len(),
                ms(a.value_at_quantile(0.5)),
                ms(a.value_at_quantile(0.99)),
                ms(a.max())
            );
        }
    }
    let rate = |s: Scenario| {
        outcomes.iter().find(|o| o.scenario == s).map(|o| o.answered.len() as f64 / o.elapsed.as_secs_f64())
    };
    if let (Some(score), Some(echo)) = (rate(Scenario::Score), rate(Scenario::Echo)) {
        println!("ScoreAssessment / Echo throughput: {:.2} ({:.0}%)", score / echo, 100.0 * score / echo);
    }
}

/// What `spawn_server` started.
struct InProcess {
    url: String,
    http: std::net::SocketAddr,
    _thread: std::thread::JoinHandle<()>,
    key: String,
}

/// Starts the all-in-one server in this process over a scratch database (gRPC and JSON over
/// HTTP), with a tenant `loadgen` and an API key for it.
fn spawn_server(seed_peers: bool) -> anyhow::Result<InProcess> {
    let registry = Arc::new(domain_model::ModelRegistry::builtin().context("while loading the built-in models")?);
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("server").build() else {
            return;
        };
        rt.block_on(async move {
            // A scratch SQLite database: the scenarios here do not write, but the server has stores.
            let dir = std::env::temp_dir().join(format!("loadgen-{}", std::process::id()));
            let url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
            let policy = domain_anonymity::Policy::default();
            let Ok(state) = services_maturity::AppState::open_with(
                &url,
                registry,
                policy,
                b"loadgen pseudonym key".to_vec(),
                configuration::layers::AuthMode::Keys,
            )
            .await
            else {
                return;
            };
            if seed_peers {
                let Ok(model) = state.registry.resolve("", 0) else { return };
                if services_persistence::seed::seed_demo(&state.persistence, &model, 20_000, 2015).await.is_err() {
                    return;
                }
            }
            let db = state.persistence.db().clone();
            let now = store::time::now_us();
            if store::tenants::create_tenant(&db, "loadgen", "Load generator", now).await.is_err() {
                return;
            }
            let Ok(key) = store::tenants::issue_key(&db, "loadgen", "loadgen", now).await else {
                return;
            };
            let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else { return };
            let Ok(addr) = listener.local_addr() else { return };
            let Ok(http) = tokio::net::TcpListener::bind("127.0.0.1:0").await else { return };
            let Ok(http_addr) = http.local_addr() else { return };
            let _ = addr_tx.send((addr, http_addr, key));
            let settings = services_server::server::ServerSettings::default();
            let listeners = services_server::server::Listeners { grpc: listener, http: Some(http), admin: None };
            let _ = services_maturity::run(listeners, state, settings, std::future::pending()).await;
        });
    });
    let (addr, http, key) =
        addr_rx.recv_timeout(Duration::from_secs(120)).context("the in-process server did not start")?;
    Ok(InProcess { url: format!("http://{addr}"), http, _thread: handle, key })
}

async fn connect(url: &str, n: usize) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::new();
    for _ in 0..n.max(1) {
        let endpoint = Endpoint::from_shared(url.to_string()).context("invalid server URL")?;
        out.push(endpoint.connect().await.with_context(|| format!("while connecting to {url}"))?);
    }
    Ok(out)
}

/// The submission of `assessment` in the standard protobuf JSON mapping, with `__ID__` in its
/// request id, reference and firm name.
fn submission_json(assessment: &pb::ScoreAssessmentRequest) -> anyhow::Result<String> {
    let request = pb::SubmitAssessmentRequest {
        request_id: "loadgen-__ID__".into(),
        external_ref: "loadgen-__ID__".into(),
        firm_name: "Loadgen firm __ID__ (synthetic)".into(),
        // 2025-07-01T00:00:00Z: the demo peers' latest year.
        completed_at: Some(prost_types::Timestamp { seconds: 1_751_328_000, nanos: 0 }),
        assessment: Some(assessment.clone()),
    };
    let pool = prost_reflect::DescriptorPool::decode(services_api::FILE_DESCRIPTOR_SET)?;
    let desc = pool
        .get_message_by_name("maturity.v1.SubmitAssessmentRequest")
        .context("SubmitAssessmentRequest is not in the descriptors")?;
    let message = prost_reflect::DynamicMessage::decode(desc, request.encode_to_vec().as_slice())?;
    Ok(serde_json::to_string(&message)?)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.duration > 0.0, "--duration must be positive");
    anyhow::ensure!(args.rate >= 0.0, "--rate must not be negative");
    let (url, http_addr, _server, api_key) = match &args.server {
        Some(url) => {
            let key = args.api_key.clone().or_else(|| std::env::var("MATURITY_API_KEY").ok());
            (url.clone(), args.http_server, None, key)
        }
        None => {
            let seed =
                args.scenarios.iter().any(|s| !matches!(s, Scenario::Score | Scenario::Echo | Scenario::GetModel));
            let server = spawn_server(seed)?;
            (server.url.clone(), Some(server.http), Some(server.key.clone()), Some(server.key.clone()))
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("client").build()?;
    rt.block_on(async {
        let channels = connect(&url, args.connections).await?;
        let sample = services_maturity::sample::parse("sample", services_maturity::sample::BUILTIN)?;
        let echo_payload = vec![b'x'; args.echo_bytes];
        let clients = Clients {
            channels: channels.clone(),
            scoring: channels.iter().cloned().map(ScoringServiceClient::new).collect(),
            echo: channels.iter().cloned().map(DiagnosticsServiceClient::new).collect(),
            score_request: sample.request.clone(),
            encoded: [
                sample.request.encode_to_vec().into(),
                pb::EchoRequest { payload: echo_payload.clone() }.encode_to_vec().into(),
                pb::GetModelRequest::default().encode_to_vec().into(),
            ],
            echo_payload,
            typed: args.typed,
            submitted: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            api_key,
            http_addr,
            json_template: Arc::new(submission_json(&sample.request)?),
            http_conn: HttpConn::default(),
            answering: Answering::default(),
            render_ids: Arc::new(std::sync::OnceLock::new()),
            rendered: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            read: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        };
        verify(&clients, &args.scenarios).await?;
        println!(
            "loadgen: server {url}, {} client, {} connection(s), score request {} bytes, echo payload {} bytes, {} core(s)",
            if args.typed { "typed" } else { "raw" },
            channels.len(),
            sample.request.encoded_len(),
            args.echo_bytes,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let mut outcomes = Vec::new();
        for &scenario in &args.scenarios {
            let run = |secs: f64| {
                let measure = Duration::from_secs_f64(secs);
                let clients = &clients;
                let args = &args;
                async move {
                    if scenario == Scenario::Lag {
                        lag_loop(clients, args, measure).await
                    } else if args.rate > 0.0 {
                        open_loop(clients, scenario, args, measure).await
                    } else {
                        closed_loop(clients, scenario, args, measure).await
                    }
                }
            };
            if args.warmup > 0.0 {
                run(args.warmup).await?;
            }
            outcomes.push(run(args.duration).await?);
        }
        print_table(&outcomes);
        // Peak resident memory of this process (with the in-process server, the server's too).
        if let Some(peak) = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string()))
        {
            println!("peak memory (VmHWM): {peak} kB");
        }
        // The in-process server's scratch database.
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("loadgen-{}", std::process::id())));
        Ok(())
    })
}
