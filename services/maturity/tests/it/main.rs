//! The `maturity` binary as an operator runs it: exit codes, start-up errors, the demo job and
//! graceful shutdown on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

mod deploy;
mod faults;
mod postgres_tls;
mod servers;
mod webhooks;

const BIN: &str = env!("CARGO_BIN_EXE_maturity");

/// Runs `command`, which must exit 64 with `reason` on standard error.
fn refused(command: &mut Command, reason: &str) {
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains(reason), "{reason} missing from: {stderr}");
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("maturity-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `maturity serve` on a free port, with its database in `dir`, and returns the child and
/// its address.
fn serve(dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .args(["--log-level", "warn"])
        .arg("--database-url")
        .arg(format!("sqlite://{}/m.db?mode=rwc", dir.display()))
        .arg("--pseudonym-key-file")
        .arg(dir.join("key"))
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(line.starts_with("maturity: gRPC listening on"), "{line}");
    (child, addr)
}

#[test]
fn bad_config_exits_64_and_lists_every_problem() {
    let out = Command::new(BIN)
        .args(["serve", "--grpc-addr", "nowhere", "--drain-seconds", "soon"])
        .env("MATURITY_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("grpc_addr = `nowhere` (from --grpc-addr)"), "{err}");
    assert!(err.contains("drain_seconds = `soon` (from --drain-seconds)"), "{err}");
    assert!(err.contains("log_format = `xml` (from MATURITY_LOG_FORMAT)"), "{err}");
}

#[test]
fn bad_usage_exits_64() {
    let out = Command::new(BIN).args(["serve", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn only_the_serving_commands_list_serving_options_and_completions_are_generated_for_bash() {
    let help = |args: &[&str]| {
        let out = Command::new(BIN).args(args).arg("--help").output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    for serving in [&["serve"][..], &["run"]] {
        let text = help(serving);
        assert!(text.contains("--tls-cert-file") && text.contains("--grpc-addr"), "{serving:?}");
    }
    for other in [&["migrate"][..], &["seed-demo"], &["admin", "create-tenant"], &["admin"], &["demo"]] {
        let text = help(other);
        assert!(!text.contains("--tls-cert-file") && !text.contains("--grpc-addr"), "{other:?} lists serving options");
        assert!(text.contains("--database-url") && text.contains("--config"), "{other:?} lacks the global options");
    }
    let refused = Command::new(BIN).args(["migrate", "--grpc-addr", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(64));
    let out = Command::new(BIN).args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    for word in ["create-tenant", "seed-demo", "--database-url", "--tls-cert-file", "complete -F"] {
        assert!(script.contains(word), "the script lacks {word}");
    }
    let dir = scratch("completions");
    std::fs::write(dir.join("maturity.bash"), &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(dir.join("maturity.bash")).output().unwrap();
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn malformed_model_file_is_a_start_up_error_naming_the_line() {
    let dir = scratch("models");
    let good = include_str!("../../../../models/nl-social-business/v1.toml");
    let broken = good.replacen("tolerance = 10.0", "tolerance = ten", 1);
    let line = broken[..broken.find("tolerance = ten").unwrap()].matches('\n').count() + 1;
    std::fs::write(dir.join("v1.toml"), broken).unwrap();
    let out =
        Command::new(BIN).args(["serve", "--grpc-addr", "127.0.0.1:0", "--models-dir"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("v1.toml:{line}:")), "expected line {line} in: {err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `maturity admin ARGS` over the database in `dir` (migrated first, as an operator does before
/// the first tenant); its standard output.
fn admin(dir: &std::path::Path, args: &[&str]) -> String {
    let database = ["--database-url".to_string(), format!("sqlite://{}/m.db?mode=rwc", dir.display())];
    let migrated = Command::new(BIN)
        .arg("migrate")
        .args(&database)
        .arg("--pseudonym-key-file")
        .arg(dir.join("key"))
        .output()
        .unwrap();
    assert!(migrated.status.success(), "migrate: {}", String::from_utf8_lossy(&migrated.stderr));
    let out = Command::new(BIN)
        .arg("admin")
        .arg("--database-url")
        .arg(format!("sqlite://{}/m.db?mode=rwc", dir.display()))
        .arg("--pseudonym-key-file")
        .arg(dir.join("key"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn demo_scores_through_the_api_and_sigterm_exits_0() {
    let data = scratch("data");
    let (mut child, addr) = serve(&data, &[]);
    // Keys are required: an operator creates the tenant and issues a key.
    admin(&data, &["create-tenant", "demo", "--name", "Demo"]);
    let issued = admin(&data, &["issue-key", "demo", "--label", "test"]);
    let key = issued.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("mk_"), "{issued}");
    let listed = admin(&data, &["list-keys"]);
    assert!(listed.contains(&key[..13]) && !listed.contains(&key), "{listed}");
    // Without the key the demo is refused.
    let out = Command::new(BIN).args(["demo", "--server", &format!("http://{addr}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Bearer"), "{}", String::from_utf8_lossy(&out.stderr));
    for lang in ["nl", "en"] {
        let out = Command::new(BIN)
            .args(["demo", "--server", &format!("http://{addr}"), "--api-key", &key, "--lang", lang, "--out"])
            .arg(data.join("out"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let (index, synthetic) =
            if lang == "nl" { ("Volwassenheidsindex", "SYNTHETISCH") } else { ("Maturity index", "SYNTHETIC") };
        assert!(text.contains(index) && text.contains(synthetic), "{text}");
        // The model file named is the one of the version the sample was scored with.
        assert!(text.contains("models/nl-social-business/v3.toml"), "{text}");
        let suffix = format!(".{lang}.pdf");
        let pdf = text.lines().find_map(|l| l.split_whitespace().last().filter(|w| w.ends_with(&suffix))).unwrap();
        assert!(std::fs::read(pdf).unwrap().starts_with(b"%PDF-"), "{pdf}");
    }
    // A bad assessment file: the server's field violations are shown, exit 1.
    let dir = scratch("demo");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "firm_name = \"x\"\n[firm]\nsbi_section = \"Z\"\nsize_class = \"small\"\nprovince = \"NL-UT\"\n[answers]\n\"e1.owner\" = 3\n").unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--server", &format!("http://{addr}"), "--assessment"])
        .arg(&bad)
        .env("MATURITY_API_KEY", &key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("firm.sbi_section [UNKNOWN_SBI_SECTION]"), "{err}");
    assert!(err.contains("answers[0].likert [ANSWER_OFF_SCALE]"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn a_disclosure_threshold_below_five_is_refused() {
    refused(Command::new(BIN).args(["serve", "--disclosure-k", "4"]), "disclosure_k = 4 is below the minimum of 5");
}

#[test]
fn seed_demo_then_migrate_on_a_fresh_database() {
    let dir = scratch("seed");
    let url = format!("sqlite://{}/m.db?mode=rwc", dir.display());
    let key = dir.join("key");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg("--database-url")
            .arg(&url)
            .arg("--pseudonym-key-file")
            .arg(&key)
            .output()
            .unwrap()
    };
    let out = run(&["seed-demo", "--companies", "600", "--seed", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("seeded 600 synthetic firm-years over 13 years"));
    let out = run(&["migrate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(key.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// `maturity serve` with TLS on both ports from a fresh self-signed certificate for `localhost`:
/// the child, the certificate, and the gRPC and HTTPS addresses.
fn serve_tls(dir: &std::path::Path, drain_seconds: &str) -> (Child, rcgen::CertifiedKey, String, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .args(["--log-level", "warn"])
        .arg("--database-url")
        .arg(format!("sqlite://{}/m.db?mode=rwc", dir.display()))
        .arg("--pseudonym-key-file")
        .arg(dir.join("key"))
        .arg("--tls-cert-file")
        .arg(dir.join("cert.pem"))
        .arg("--tls-key-file")
        .arg(dir.join("key.pem"))
        .args(["--drain-seconds", drain_seconds])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut grpc, mut http) = (String::new(), String::new());
    out.read_line(&mut grpc).unwrap();
    out.read_line(&mut http).unwrap();
    assert!(grpc.contains("(TLS)"), "{grpc}");
    let grpc_addr = grpc.split_whitespace().nth(4).unwrap().to_string();
    let http_addr = http.split("https://").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    (child, cert, grpc_addr, http_addr)
}

/// A gRPC channel over TLS to `addr`, trusting `cert` only.
async fn grpc_tls_channel(cert: &rcgen::CertifiedKey, addr: &str) -> tonic::transport::Channel {
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(cert.cert.pem()))
        .domain_name("localhost");
    tonic::transport::Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn tls_on_both_ports_from_configured_files() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = scratch("tls");
    let (mut child, cert, grpc_addr, http_addr) = serve_tls(&dir, "2");

    // gRPC over TLS, trusting the server's certificate; plain text is refused.
    let channel = grpc_tls_channel(&cert, &grpc_addr).await;
    let mut scoring = services_api::v1::scoring_service_client::ScoringServiceClient::new(channel);
    let models = scoring.list_models(services_api::v1::ListModelsRequest::default()).await.unwrap();
    assert!(!models.into_inner().models.is_empty());
    let plain = tonic::transport::Endpoint::from_shared(format!("http://{grpc_addr}")).unwrap().connect().await;
    let refused = match plain {
        Err(_) => true,
        Ok(ch) => services_api::v1::scoring_service_client::ScoringServiceClient::new(ch)
            .list_models(services_api::v1::ListModelsRequest::default())
            .await
            .is_err(),
    };
    assert!(refused, "plain-text gRPC must not work on a TLS port");

    // JSON over HTTPS.
    let mut stream = https_client(&cert, &http_addr, None).await;
    stream.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.unwrap_or_default();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{}", &reply[..reply.len().min(200)]);
    assert!(reply.contains("\"openapi\": \"3.1.0\""));

    // Idle clients would hold the drain open until its deadline.
    drop((scoring, stream));
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A TLS client that trusts `cert` only, with a receive buffer of `rcvbuf` bytes.
async fn https_client(
    cert: &rcgen::CertifiedKey,
    addr: &str,
    rcvbuf: Option<u32>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use std::sync::Arc;
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(bytes) = rcvbuf {
        socket.set_recv_buffer_size(bytes).unwrap();
    }
    let tcp = socket.connect(addr.parse().unwrap()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap()
}

/// SIGTERM arrives while a client is still downloading a chapter PDF over HTTPS, slowly (a small
/// receive window, read a few kilobytes at a time), and, where the typesetting takes longer than
/// 100 ms, while the chapter is still typeset: the server stops accepting, lets the download
/// finish within the drain deadline, then exits 0.
#[tokio::test]
async fn sigterm_lets_a_slow_https_download_finish() {
    use services_api::v1 as pb;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = scratch("drain");
    admin(&dir, &["create-tenant", "drain", "--name", "Drain"]);
    let key = admin(&dir, &["issue-key", "drain"]).lines().last().unwrap().trim().to_string();
    let (mut child, cert, grpc_addr, http_addr) = serve_tls(&dir, "30");

    // An assessment to download the chapter of.
    let channel = grpc_tls_channel(&cert, &grpc_addr).await;
    let sample = services_maturity::sample::parse("sample", services_maturity::sample::BUILTIN).unwrap().request;
    let request = pb::SubmitAssessmentRequest {
        request_id: "drain-1".into(),
        external_ref: "drain-1".into(),
        firm_name: "Drain test B.V.".into(),
        completed_at: None,
        assessment: Some(sample),
    };
    let submitted = pb::persistence_service_client::PersistenceServiceClient::new(channel)
        .submit_assessment(services_maturity::demo::as_tenant(request, Some(&key), "").unwrap())
        .await
        .unwrap()
        .into_inner();
    let id = submitted.assessment.unwrap().id;

    // The download starts: the chapter is typeset on request (a second or so), and SIGTERM comes
    // while it is. The client then reads slowly, a few kilobytes at a time through a small window.
    let mut stream = https_client(&cert, &http_addr, Some(4096)).await;
    let get =
        format!("GET /v1/assessments/{id}/chapter HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n\r\n");
    stream.write_all(get.as_bytes()).await.unwrap();
    let mut piece = [0_u8; 2048];
    let mut reply = Vec::new();
    // SIGTERM comes while the chapter is typeset, or, when it came within 100 ms (a fast machine,
    // or this task not run for that long on a loaded one), while its 160 KB go through the
    // client's 4 KB window: either way with the call in flight.
    let early = tokio::time::timeout(std::time::Duration::from_millis(100), stream.read(&mut piece)).await;
    let caught = match early {
        Err(_) => "while typesetting",
        Ok(read) => {
            let n = read.unwrap_or(0);
            assert!(n > 0, "the server closed before answering");
            reply.extend_from_slice(&piece[..n]);
            "while downloading"
        }
    };
    let sigterm_at = std::time::Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    // New connections are refused once the server has begun to drain.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(tokio::net::TcpStream::connect(&http_addr).await.is_err(), "the HTTPS port still accepts after SIGTERM");
    let head_end = loop {
        if let Some(at) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut piece).await.unwrap_or(0);
        assert!(n > 0, "the server closed before answering: {}", String::from_utf8_lossy(&reply));
        reply.extend_from_slice(&piece[..n]);
    };
    let head = String::from_utf8_lossy(&reply[..head_end]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let headers_after = sigterm_at.elapsed();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .expect("a content length");
    // The rest arrives, slowly, until the whole document is there.
    while reply.len() < head_end + length {
        let n = stream.read(&mut piece).await.unwrap_or(0);
        assert!(n > 0, "the download broke off at {} of {length} bytes", reply.len() - head_end);
        reply.extend_from_slice(&piece[..n]);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let body = &reply[head_end..];
    assert!(body.starts_with(b"%PDF-") && body.trim_ascii_end().ends_with(b"%%EOF"), "not a whole PDF");
    let sha256 = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("x-content-sha256:").map(|v| v.trim().to_string()))
        .expect("the document's checksum");
    let got: String = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(body))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got, sha256, "the document arrived damaged");
    let read_for = sigterm_at.elapsed();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    println!(
        "SIGTERM {caught}; {length} bytes; headers {headers_after:?} and the last byte {read_for:?} after it; exit 0 after {:?}",
        sigterm_at.elapsed()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn tls_needs_both_files_and_readable_ones() {
    let cert = ["serve", "--tls-cert-file", "/nonexistent/cert.pem"];
    refused(Command::new(BIN).args(cert), "tls_cert_file and tls_key_file go together");
    let both = ["--tls-key-file", "/nonexistent/key.pem"];
    refused(Command::new(BIN).args(cert).args(both), "cannot read the TLS certificate file");
}

mod collector {
    //! A stand-in OpenTelemetry collector: OTLP over gRPC with TLS (a certificate of its own,
    //! trusted through `OTEL_EXPORTER_OTLP_CERTIFICATE`), keeping every span it is sent.

    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
    use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
    use opentelemetry_proto::tonic::trace::v1::Span;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    pub struct Received(pub Arc<Mutex<Vec<(String, Span)>>>);

    #[tonic::async_trait]
    impl TraceService for Received {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            let mut got = self.0.lock().unwrap();
            for resource in request.into_inner().resource_spans {
                let service = resource
                    .resource
                    .iter()
                    .flat_map(|r| r.attributes.iter())
                    .find(|a| a.key == "service.name")
                    .and_then(|a| a.value.as_ref())
                    .map(|v| format!("{:?}", v.value))
                    .unwrap_or_default();
                for scope in resource.scope_spans {
                    got.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
                }
            }
            Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
        }
    }

    /// Starts it on a free port with a certificate for `localhost`; its address, the CA file to
    /// trust, and what it receives.
    pub async fn start(dir: &std::path::Path) -> (String, std::path::PathBuf, Received) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let ca = dir.join("collector-ca.pem");
        std::fs::write(&ca, cert.cert.pem()).unwrap();
        let identity = tonic::transport::Identity::from_pem(cert.cert.pem(), cert.key_pair.serialize_pem());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Received::default();
        let service = TraceServiceServer::new(received.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
                .unwrap()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .unwrap();
        });
        (format!("https://localhost:{port}"), ca, received)
    }

    pub fn attribute(span: &Span, key: &str) -> Option<String> {
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        span.attributes.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
    }
}

/// With trace export to a collector over TLS: a call's span arrives inside the caller's trace
/// (W3C `traceparent`), named and kinded by OpenTelemetry's RPC conventions; the log lines of the
/// call carry the trace id; the last span is flushed at SIGTERM. An address that is not OTLP/gRPC,
/// or another protocol asked for, is refused at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_tls_inside_the_callers_trace_and_logs_carry_the_trace_id() {
    use services_api::v1::ListModelsRequest;
    use services_api::v1::scoring_service_client::ScoringServiceClient;

    refused(Command::new(BIN).args(["serve", "--otlp-endpoint", "ftp://collector:4317"]), "otlp_endpoint");
    let http = ["serve", "--otlp-endpoint", "https://collector:4318"];
    refused(Command::new(BIN).args(http).env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), "only OTLP over gRPC");

    let dir = scratch("otel");
    let (endpoint, ca, got) = collector::start(&dir).await;
    let mut child = Command::new(BIN)
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "off", "--admin-addr", "off"])
        .args(["--log-level", "services_server=debug,warn", "--log-format", "json", "--drain-seconds", "2"])
        .arg("--database-url")
        .arg(format!("sqlite://{}/m.db?mode=rwc", dir.display()))
        .arg("--pseudonym-key-file")
        .arg(dir.join("key"))
        .args(["--otlp-endpoint", &endpoint])
        .env("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    let stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>());

    let channel =
        services_maturity::demo::connect(&format!("http://{addr}"), std::time::Duration::from_secs(10)).await.unwrap();
    let mut client = ScoringServiceClient::new(channel);
    let mut request = tonic::Request::new(ListModelsRequest::default());
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    request.metadata_mut().insert("traceparent", traceparent.parse().unwrap());
    request.metadata_mut().insert("x-request-id", "otel-1".parse().unwrap());
    client.list_models(request).await.unwrap();
    let call = |id: &str| {
        got.0
            .lock()
            .unwrap()
            .iter()
            .find(|(_, s)| collector::attribute(s, "request_id").as_deref() == Some(id))
            .cloned()
    };
    let end = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while call("otel-1").is_none() {
        assert!(std::time::Instant::now() < end, "no span exported: {} received", got.0.lock().unwrap().len());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (service, span) = call("otel-1").unwrap();
    assert!(service.contains("maturity"), "{service}");
    // The caller's trace, with the caller's span as parent; a server span named after the method.
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(hex(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(hex(&span.parent_span_id), "b7ad6b7169203331");
    assert_eq!(span.name, "maturity.v1.ScoringService/ListModels");
    assert_eq!(span.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(collector::attribute(&span, "rpc.system").as_deref(), Some("grpc"));
    assert!(span.start_time_unix_nano > 0 && span.start_time_unix_nano <= span.end_time_unix_nano);
    let span_id = hex(&span.span_id);

    // Without a traceparent the call starts a trace of its own; its span is flushed at shutdown.
    let mut request = tonic::Request::new(ListModelsRequest::default());
    request.metadata_mut().insert("x-request-id", "otel-2".parse().unwrap());
    client.list_models(request).await.unwrap();
    drop(client);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let (_, own) = call("otel-2").expect("the last call's span was not exported before exit");
    assert_ne!(hex(&own.trace_id), "0af7651916cd43dd8448eb211c80319c");
    assert!(own.parent_span_id.is_empty(), "{own:?}");

    // The call's log line carries the exported trace and span ids.
    let logs = logs.join().unwrap();
    let served = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "call served" && l["span"]["request_id"] == "otel-1")
        .unwrap_or_else(|| panic!("no log line of the call: {logs:#?}"));
    assert_eq!(served["span"]["trace_id"], "0af7651916cd43dd8448eb211c80319c", "{served}");
    assert_eq!(served["span"]["span_id"], span_id.as_str(), "{served}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `report-gen` exports its spans too when given a collector: the command's span, as service
/// `report-gen`, sent before the process exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_gen_exports_its_spans_to_the_configured_collector() {
    let dir = scratch("report-gen-otel");
    let (endpoint, ca, got) = collector::start(&dir).await;
    let out = tokio::task::block_in_place(|| {
        Command::new(deploy::report_gen())
            .args(["nightly", "--out"])
            .arg(dir.join("night"))
            .arg("--database-url")
            .arg(format!("sqlite://{}/m.db?mode=rwc", dir.display()))
            .args(["--otlp-endpoint", &endpoint])
            .env("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca)
            .output()
            .unwrap()
    });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spans = got.0.lock().unwrap().clone();
    let root = spans.iter().find(|(_, s)| s.name == "report-gen");
    let (service, span) = root.unwrap_or_else(|| panic!("no report-gen span among {} exported", spans.len()));
    assert!(service.contains("report-gen"), "{service}");
    assert_eq!(collector::attribute(span, "command").as_deref(), Some("nightly"));
    std::fs::remove_dir_all(dir).unwrap();
}
