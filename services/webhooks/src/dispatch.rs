//! The webhook dispatcher: claims due deliveries from the outbox with a lease, POSTs them signed,
//! and records every attempt and what follows (delivered, retry at a time, given up, endpoint
//! gone). Several dispatchers (processes) may run on one PostgreSQL database: a claim skips rows
//! another holds. A dispatcher that dies mid-POST leaves a lease that expires, after which the
//! delivery is sent again with the same `webhook-id`: a receiver sees a duplicate only then.
//!
//! The HTTP client is deliberately small: HTTP/1.1, one connection per delivery, no redirects
//! (a 3xx is a failed attempt), TLS through rustls with the public roots compiled in plus any
//! configured private CA, and one deadline over connect, handshake and answer.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_rustls::rustls;

use store::DatabaseConnection;
use store::time::now_us;
use store::webhooks::{self, Attempt, Job, Next};

/// What a dispatcher needs to know.
#[derive(Clone, Debug)]
pub struct DispatchSettings {
    /// How long an endpoint may take to answer (connect, TLS and answer together).
    pub timeout: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How often the outbox is looked at when nothing woke the dispatcher (events written by
    /// other processes, such as the nightly batch, are seen this late at most).
    pub poll: Duration,
    /// PEM certificates trusted besides the public roots.
    pub extra_roots_pem: Option<Vec<u8>>,
    /// Deliver to addresses of the operator's own network too (loopback, private, link-local:
    /// `domain_webhooks::forbidden_address`). Off by default: a tenant chooses the URL.
    pub allow_private_networks: bool,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            timeout: Duration::from_secs(10),
            concurrency: 8,
            poll: Duration::from_secs(1),
            extra_roots_pem: None,
            allow_private_networks: false,
        }
    }
}

/// An endpoint's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// What `Retry-After` asked for, if anything understandable.
    pub retry_after: Option<Duration>,
}

/// The HTTP(S) client of deliveries.
#[derive(Clone)]
pub struct Client {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
    allow_private_networks: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .field("allow_private_networks", &self.allow_private_networks)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client trusting the public roots and the certificates in `extra_roots_pem`, refusing
    /// addresses of the operator's own network.
    pub fn new(extra_roots_pem: Option<&[u8]>, timeout: Duration) -> anyhow::Result<Client> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(pem) = extra_roots_pem {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .context("the webhook CA file is not PEM")?;
            anyhow::ensure!(!certs.is_empty(), "the webhook CA file holds no certificate");
            for c in certs {
                roots.add(c).context("the webhook CA file holds a certificate rustls cannot use")?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("while choosing TLS versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Client { tls: tokio_rustls::TlsConnector::from(Arc::new(config)), timeout, allow_private_networks: false })
    }

    /// The same client, delivering to the operator's own network too when `allow` is set.
    pub fn allow_private_networks(mut self, allow: bool) -> Client {
        self.allow_private_networks = allow;
        self
    }

    /// The addresses `host` resolves to now that deliveries may go to. The check runs on the
    /// addresses the connection then uses, so a name that resolved to a public address at
    /// registration and to an internal one now (DNS rebinding) is refused here.
    async fn addresses(&self, host: &str, port: u16) -> Result<Vec<std::net::SocketAddr>, String> {
        let resolved: Vec<std::net::SocketAddr> =
            tokio::net::lookup_host((host, port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
        if self.allow_private_networks {
            return Ok(resolved);
        }
        let (allowed, refused): (Vec<_>, Vec<_>) =
            resolved.into_iter().partition(|a| domain_webhooks::forbidden_address(a.ip()).is_none());
        match (allowed.is_empty(), refused.first()) {
            (true, Some(first)) => Err(format!(
                "refused: {host} resolves to {}, {}; deliveries to the operator's own network are off (webhook_allow_private_networks)",
                first.ip(),
                domain_webhooks::forbidden_address(first.ip()).unwrap_or("an internal address"),
            )),
            (true, None) => Err(format!("{host} resolves to no address")),
            (false, _) => Ok(allowed),
        }
    }

    /// POSTs `body` with `headers` to `url`; an error says why there was no answer.
    pub async fn post(&self, url: &str, headers: &[(&'static str, String)], body: Bytes) -> Result<Answer, String> {
        match tokio::time::timeout(self.timeout, self.exchange(url, headers, body)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs())),
        }
    }

    async fn exchange(&self, url: &str, headers: &[(&'static str, String)], body: Bytes) -> Result<Answer, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
        let https = uri.scheme_str() == Some("https");
        let authority = uri.authority().ok_or("the URL has no host")?.clone();
        let (host, port) = domain_webhooks::destination(url).ok_or("the URL has no host")?;
        let addresses = self.addresses(&host, port).await?;
        let tcp = tokio::net::TcpStream::connect(addresses.as_slice())
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let mut request = http::Request::post(path)
            .header(http::header::HOST, authority.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, concat!("maturity-webhooks/", env!("CARGO_PKG_VERSION")));
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request.body(Full::new(body)).map_err(|e| format!("cannot build the request: {e}"))?;
        if https {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|_| format!("`{host}` is not a valid TLS server name"))?;
            let tls = self.tls.connect(name, tcp).await.map_err(|e| format!("TLS with {host} failed: {e}"))?;
            send(TokioIo::new(tls), request).await
        } else {
            send(TokioIo::new(tcp), request).await
        }
    }
}

async fn send<IO>(io: IO, request: http::Request<Full<Bytes>>) -> Result<Answer, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| format!("HTTP handshake failed: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await.map_err(|e| format!("no HTTP answer: {e}"))?;
    let retry_after =
        response.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(retry_after);
    Ok(Answer { status: response.status().as_u16(), retry_after })
}

/// Reads `Retry-After`: whole seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) from now.
pub fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // An HTTP date in any of the three forms RFC 9110 says a recipient must accept.
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// What happens after an answer (or none) to attempt number `attempts + 1`.
fn next_after(result: &Result<Answer, String>, attempts: u32, now: i64) -> Next {
    let retry = |after: Option<Duration>| {
        domain_webhooks::next_attempt_us(now, attempts + 1, webhooks::jitter(), after).map_or(Next::GiveUp, Next::Retry)
    };
    match result {
        Ok(a) if (200..300).contains(&a.status) => Next::Delivered,
        Ok(a) if a.status == 410 => Next::Gone,
        Ok(a) if a.status == 429 || a.status == 503 => retry(a.retry_after),
        _ => retry(None),
    }
}

/// Sends deliveries from the outbox until stopped.
#[derive(Debug)]
pub struct Dispatcher {
    db: DatabaseConnection,
    client: Client,
    worker: String,
    wake: Arc<Notify>,
    settings: DispatchSettings,
}

impl Dispatcher {
    /// A dispatcher over `db`, woken early by `wake` (SubmitAssessment notifies it).
    pub fn new(db: DatabaseConnection, settings: DispatchSettings, wake: Arc<Notify>) -> anyhow::Result<Dispatcher> {
        let client = Client::new(settings.extra_roots_pem.as_deref(), settings.timeout)?
            .allow_private_networks(settings.allow_private_networks);
        let tag = store::random::chars(6).map_err(|e| anyhow::anyhow!("{e}"))?;
        let worker = format!("dispatch-{}-{tag}", std::process::id());
        Ok(Dispatcher { db, client, worker, wake, settings })
    }

    fn lease(&self) -> Duration {
        // Long enough for the attempt and its record; a dead dispatcher's rows come back after it.
        2 * self.settings.timeout + Duration::from_secs(5)
    }

    /// Runs until `stop` resolves, then lets the deliveries in flight finish (each is bounded by
    /// the timeout).
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let this = Arc::new(self);
        let mut inflight: JoinSet<()> = JoinSet::new();
        let mut last_prune: Option<Instant> = None;
        tokio::pin!(stop);
        tracing::info!(worker = %this.worker, "webhook dispatcher started");
        loop {
            let free = this.settings.concurrency.saturating_sub(inflight.len());
            if free > 0 {
                let now = now_us();
                let until = now + i64::try_from(this.lease().as_micros()).unwrap_or(i64::MAX);
                match webhooks::claim(&this.db, &this.worker, now, until, free as u64).await {
                    Ok(jobs) => {
                        for job in jobs {
                            let me = Arc::clone(&this);
                            inflight.spawn(async move { me.deliver(job).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot read the webhook outbox; retrying"),
                }
            }
            if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
                last_prune = Some(Instant::now());
                match webhooks::prune(&this.db, now_us()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "removed webhook events past their retention"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune old webhook events"),
                }
            }
            tokio::select! {
                _ = &mut stop => break,
                Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
                _ = this.wake.notified() => {}
                _ = tokio::time::sleep(this.settings.poll) => {}
            }
        }
        while inflight.join_next().await.is_some() {}
        tracing::info!(worker = %this.worker, "webhook dispatcher stopped");
    }

    async fn deliver(&self, job: Job) {
        let now = now_us();
        let (attempt, next) = match &job.endpoint {
            Some(ep) if !ep.disabled => {
                let body = Bytes::from(job.payload.clone().into_bytes());
                let timestamp = now.div_euclid(1_000_000);
                let headers = [
                    ("webhook-id", job.event_id.clone()),
                    ("webhook-timestamp", timestamp.to_string()),
                    ("webhook-signature", ep.signature(&job.event_id, timestamp, &body)),
                ];
                let started = Instant::now();
                let result = self.client.post(&ep.url, &headers, body).await;
                let attempt = Attempt {
                    at_us: now,
                    status_code: result.as_ref().map_or(0, |a| i32::from(a.status)),
                    error: result.as_ref().err().cloned().unwrap_or_default(),
                    duration_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
                };
                let next = next_after(&result, job.attempts, now_us());
                match (&result, &next) {
                    (_, Next::Delivered) => {
                        tracing::debug!(endpoint = %ep.id, webhook_id = %job.event_id, "webhook delivered")
                    }
                    (Ok(a), _) => tracing::warn!(
                        endpoint = %ep.id, webhook_id = %job.event_id, status = a.status, next = ?next,
                        "webhook endpoint refused a delivery"
                    ),
                    (Err(e), _) => tracing::warn!(
                        endpoint = %ep.id, webhook_id = %job.event_id, error = %e, next = ?next,
                        "webhook delivery failed"
                    ),
                }
                (Some(attempt), next)
            }
            _ => (None, Next::Cancel),
        };
        if let Err(e) = webhooks::finish(&self.db, &job, &self.worker, attempt.as_ref(), &next, now_us()).await {
            // The lease runs out and the delivery is sent again, with the same webhook-id.
            tracing::error!(error = %e, delivery = job.delivery_id, "cannot record a webhook attempt");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTPS endpoint with `cert` answering `answer` to one request; the request it got.
    async fn https_endpoint(
        cert: &rcgen::CertifiedKey,
        answer: &'static str,
    ) -> (u16, tokio::task::JoinHandle<Result<String, String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
            let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&got).contains("{\"ok\":1}") {
                let n = tls.read(&mut buf).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            tls.write_all(answer.as_bytes()).await.map_err(|e| e.to_string())?;
            tls.shutdown().await.map_err(|e| e.to_string())?;
            Ok(String::from_utf8_lossy(&got).to_string())
        });
        (port, task)
    }

    #[tokio::test]
    async fn posts_over_https_trusting_only_what_it_should() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let pem = cert.cert.pem();
        let headers = [("webhook-id", "msg_1".to_string())];
        // Trusting the endpoint's certificate (a private CA): delivered, headers and body intact.
        let (port, seen) =
            https_endpoint(&cert, "HTTP/1.1 429 Too Many\r\nRetry-After: 42\r\nContent-Length: 0\r\n\r\n").await;
        let client = Client::new(Some(pem.as_bytes()), Duration::from_secs(5)).unwrap().allow_private_networks(true);
        let answer = client
            .post(&format!("https://localhost:{port}/hook?x=1"), &headers, Bytes::from_static(b"{\"ok\":1}"))
            .await;
        assert_eq!(answer, Ok(Answer { status: 429, retry_after: Some(Duration::from_secs(42)) }));
        let request = seen.await.unwrap().unwrap();
        assert!(request.starts_with("POST /hook?x=1 HTTP/1.1\r\n"), "{request}");
        let lower = request.to_ascii_lowercase();
        assert!(lower.contains("webhook-id: msg_1") && lower.contains("content-type: application/json"), "{request}");
        // With the public roots only, the same endpoint is refused.
        let (port, _seen) = https_endpoint(&cert, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        let public = Client::new(None, Duration::from_secs(5)).unwrap().allow_private_networks(true);
        let refused = public.post(&format!("https://localhost:{port}/hook"), &headers, Bytes::from_static(b"{}")).await;
        assert!(refused.as_ref().is_err_and(|e| e.contains("TLS")), "{refused:?}");
        // Nothing listening: an error, not a hang.
        let closed = public.post("http://127.0.0.1:9/hook", &headers, Bytes::from_static(b"{}")).await;
        assert!(closed.is_err(), "{closed:?}");
        assert!(Client::new(Some(b"not a certificate"), Duration::from_secs(1)).is_err());
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_after_resolution_unless_allowed() {
        // A receiver on loopback that would answer 200: the guarded client never connects.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let guarded = Client::new(None, Duration::from_secs(2)).unwrap();
        let headers = [("webhook-id", "msg_1".to_string())];
        for url in [
            format!("http://localhost:{port}/hook"),
            format!("http://127.0.0.1:{port}/hook"),
            "https://10.0.0.1/hook".to_string(),
            "https://169.254.169.254/latest/meta-data".to_string(),
            "https://[::ffff:169.254.169.254]/hook".to_string(),
        ] {
            let refused = guarded.post(&url, &headers, Bytes::from_static(b"{}")).await;
            assert!(refused.as_ref().is_err_and(|e| e.starts_with("refused: ")), "{url}: {refused:?}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "the guarded client connected to loopback");
        // The same loopback endpoint with private networks allowed: connected.
        let allowed = guarded.clone().allow_private_networks(true);
        let posting = tokio::spawn(async move {
            allowed.post(&format!("http://localhost:{port}/hook"), &headers, Bytes::from_static(b"{}")).await
        });
        let (tcp, _) = tokio::time::timeout(Duration::from_secs(2), listener.accept()).await.unwrap().unwrap();
        drop(tcp);
        let _ = posting.await;
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO), "a past date: now");
        let later = retry_after("Fri, 01 Jan 2100 00:00:00 GMT").unwrap();
        assert!(later > Duration::from_secs(60 * 365 * 86_400), "{later:?}");
        assert_eq!(retry_after("soon"), None);
        assert_eq!(retry_after("-5"), None);
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49 GMT"), None);
        // The obsolete forms a recipient must still accept: RFC 850 and asctime.
        assert_eq!(retry_after("Sunday, 06-Nov-94 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(retry_after("Sun Nov  6 08:49:37 1994"), Some(Duration::ZERO));
        let asctime = retry_after("Fri Jan  1 00:00:00 2100").unwrap();
        assert!(asctime > Duration::from_secs(60 * 365 * 86_400), "{asctime:?}");
    }

    #[test]
    fn what_follows_an_answer() {
        let ok = |status| Ok(Answer { status, retry_after: None });
        assert_eq!(next_after(&ok(200), 0, 0), Next::Delivered);
        assert_eq!(next_after(&ok(204), 3, 0), Next::Delivered);
        assert_eq!(next_after(&ok(410), 0, 0), Next::Gone);
        assert!(matches!(next_after(&ok(500), 0, 0), Next::Retry(t) if (4_000_000..=6_000_000).contains(&t)));
        assert!(matches!(next_after(&ok(301), 0, 0), Next::Retry(_)), "redirects are not followed");
        assert!(matches!(next_after(&Err("refused".into()), 1, 0), Next::Retry(t) if t >= 240_000_000));
        assert_eq!(next_after(&ok(500), 7, 0), Next::GiveUp);
        let slow = Ok(Answer { status: 429, retry_after: Some(Duration::from_secs(600)) });
        assert_eq!(next_after(&slow, 0, 0), Next::Retry(600_000_000));
        let busy = Ok(Answer { status: 503, retry_after: Some(Duration::from_secs(30)) });
        assert_eq!(next_after(&busy, 0, 0), Next::Retry(30_000_000));
    }
}
