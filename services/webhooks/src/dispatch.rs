//! The webhook dispatcher: claims due deliveries from the outbox with a lease, POSTs them signed,
//! and records every attempt and what follows (delivered, retry at a time, given up, endpoint
//! gone). Several dispatchers (processes) may run on one PostgreSQL database: a claim skips rows
//! another holds. A dispatcher that dies mid-POST leaves a lease that expires, after which the
//! delivery is sent again with the same `webhook-id`: a receiver sees a duplicate only then.
//!
//! The HTTP client is reqwest: HTTP/1.1 over pooled keep-alive connections, through a proxy when
//! one is configured (`webhook_proxy`, or the standard proxy variables), no redirects (a 3xx is a
//! failed attempt), TLS through rustls with the public roots compiled in plus any configured
//! private CA, and one deadline over connect, handshake and answer. In front of it stands the
//! egress guard: a tenant chooses the URL, so addresses of the operator's own network (loopback,
//! private, link-local, cloud metadata) are refused after resolution, unless the operator allows
//! them.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use tokio::sync::Notify;
use tokio::task::JoinSet;

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
    /// The proxy deliveries go through (`http://HOST:PORT`); `None` reads the environment's
    /// `HTTPS_PROXY`, `HTTP_PROXY` and `ALL_PROXY`. `NO_PROXY` applies either way.
    pub proxy: Option<String>,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            timeout: Duration::from_secs(10),
            concurrency: 8,
            poll: Duration::from_secs(1),
            extra_roots_pem: None,
            allow_private_networks: false,
            proxy: None,
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

/// The HTTP(S) client of deliveries: reqwest over pooled keep-alive connections, through the
/// configured or environment proxy, behind the egress guard.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    guard: Arc<Guard>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .field("allow_private_networks", &self.guard.allow_private_networks)
            .field("proxies", &self.guard.proxies)
            .finish_non_exhaustive()
    }
}

/// Why a delivery was refused before any connection: the egress guard's verdict.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The egress guard: which addresses deliveries may go to, and which proxy carries which.
struct Guard {
    allow_private_networks: bool,
    /// The proxy rules reqwest applies (the same hyper-util matcher, built from the same input).
    proxies: hyper_util::client::proxy::matcher::Matcher,
    /// Host names of the proxies themselves: the operator chose them, so they may be internal.
    proxy_hosts: Vec<String>,
}

impl Guard {
    /// Refuses `ip` unless deliveries to the operator's own network are allowed.
    fn check(&self, host: &str, ip: std::net::IpAddr) -> Result<(), Refused> {
        match domain_webhooks::forbidden_address(ip) {
            Some(why) if !self.allow_private_networks => Err(Refused(format!(
                "refused: {host} resolves to {ip}, {why}; deliveries to the operator's own network are off (webhook_allow_private_networks)"
            ))),
            _ => Ok(()),
        }
    }

    /// Resolves `host` and keeps the addresses a delivery may use. This runs on the addresses the
    /// connection then uses, so a name that resolved to a public address at registration and to
    /// an internal one now (DNS rebinding) is refused here.
    async fn resolve(&self, host: &str) -> Result<Vec<std::net::SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        // A fully qualified name (`localhost.`) is the same host as without its final dot.
        let host = host.strip_suffix('.').unwrap_or(host);
        let resolved: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| Refused(format!("cannot resolve {host}: {e}")))?
            .collect();
        if self.allow_private_networks || self.proxy_hosts.iter().any(|p| p.eq_ignore_ascii_case(host)) {
            return Ok(resolved);
        }
        let first_refusal = resolved.iter().find_map(|a| self.check(host, a.ip()).err());
        let allowed: Vec<_> = resolved.into_iter().filter(|a| self.check(host, a.ip()).is_ok()).collect();
        match (allowed.is_empty(), first_refusal) {
            (false, _) => Ok(allowed),
            (true, Some(refused)) => Err(Box::new(refused)),
            (true, None) => Err(Box::new(Refused(format!("{host} resolves to no address")))),
        }
    }

    /// The checks that cannot wait for the resolver: an address written in the URL, in any
    /// notation the client reads as an address (no name is resolved for it, so this is the only
    /// check it gets), and a name a proxy will resolve (refused when it resolves here to an
    /// internal address; passed on when it does not resolve here, as behind an egress proxy).
    async fn before_sending(&self, destination: &domain_webhooks::Destination) -> Result<(), Refused> {
        if self.allow_private_networks {
            return Ok(());
        }
        match &destination.host {
            domain_webhooks::Host::Address(ip) => self.check(&ip.to_string(), *ip),
            domain_webhooks::Host::Name(name) => {
                let uri = destination.url.as_str().parse::<http::Uri>().map_err(|_| Refused("not a URL".into()))?;
                if self.proxies.intercept(&uri).is_some()
                    && let Ok(addresses) = tokio::net::lookup_host((name.as_str(), 0)).await
                {
                    for a in addresses {
                        self.check(name, a.ip())?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The resolver reqwest connects with: the guard's.
struct GuardedResolver(Arc<Guard>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = Arc::clone(&self.0);
        Box::pin(async move {
            let addresses = guard.resolve(name.as_str()).await?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Which proxy carries which delivery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ProxyRules {
    /// The proxy of `http://` deliveries.
    http: Option<String>,
    /// The proxy of `https://` deliveries.
    https: Option<String>,
    /// Hosts reached directly (the `NO_PROXY` syntax: names, domain suffixes, addresses, CIDR
    /// ranges, `*`).
    no: String,
}

impl ProxyRules {
    /// `webhook_proxy` for every delivery when set, else the environment's variables as curl
    /// reads them (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` for what those leave, upper or lower
    /// case); `NO_PROXY` either way. `env` reads a variable.
    fn new(setting: Option<&str>, env: impl Fn(&str) -> Option<String>) -> ProxyRules {
        let var = |name: &str| {
            [name.to_string(), name.to_ascii_lowercase()].iter().find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
        };
        let no = var("NO_PROXY").unwrap_or_default();
        match setting {
            Some(all) => ProxyRules { http: Some(all.to_string()), https: Some(all.to_string()), no },
            None => {
                let all = var("ALL_PROXY");
                ProxyRules { http: var("HTTP_PROXY").or(all.clone()), https: var("HTTPS_PROXY").or(all), no }
            }
        }
    }

    /// The same rules as hyper-util's matcher, which reqwest applies too.
    fn matcher(&self) -> hyper_util::client::proxy::matcher::Matcher {
        let mut builder = hyper_util::client::proxy::matcher::Matcher::builder().no(self.no.clone());
        if let Some(p) = &self.http {
            builder = builder.http(p.clone());
        }
        if let Some(p) = &self.https {
            builder = builder.https(p.clone());
        }
        builder.build()
    }

    /// The rules as reqwest's proxies.
    fn reqwest(&self) -> anyhow::Result<Vec<reqwest::Proxy>> {
        let mut proxies = Vec::new();
        let no = || reqwest::NoProxy::from_string(&self.no);
        let fail = |url: &str| format!("the webhook proxy `{url}` is not a proxy URL");
        if let Some(url) = &self.http {
            proxies.push(reqwest::Proxy::http(url.as_str()).with_context(|| fail(url))?.no_proxy(no()));
        }
        if let Some(url) = &self.https {
            proxies.push(reqwest::Proxy::https(url.as_str()).with_context(|| fail(url))?.no_proxy(no()));
        }
        Ok(proxies)
    }

    /// Host names of the proxies.
    fn hosts(&self) -> Vec<String> {
        [&self.http, &self.https]
            .into_iter()
            .flatten()
            .filter_map(|u| u.parse::<http::Uri>().ok())
            .filter_map(|u| u.host().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string()))
            .collect()
    }
}

impl Client {
    /// A client trusting the public roots and the certificates in `settings.extra_roots_pem`,
    /// going through `settings.proxy` (or the environment's `HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY`, with `NO_PROXY`), refusing addresses of the operator's own network unless
    /// `settings.allow_private_networks`.
    pub fn new(settings: &DispatchSettings) -> anyhow::Result<Client> {
        Client::with_environment(settings, |name| std::env::var(name).ok())
    }

    /// [`Client::new`] reading the proxy variables with `env`.
    fn with_environment(settings: &DispatchSettings, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Client> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(pem) = &settings.extra_roots_pem {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .context("the webhook CA file is not PEM")?;
            anyhow::ensure!(!certs.is_empty(), "the webhook CA file holds no certificate");
            for c in certs {
                roots.add(c).context("the webhook CA file holds a certificate rustls cannot use")?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("while choosing TLS versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];

        let rules = ProxyRules::new(settings.proxy.as_deref(), &env);
        for url in [&rules.http, &rules.https].into_iter().flatten() {
            let uri = url.parse::<http::Uri>().ok();
            anyhow::ensure!(
                uri.as_ref().is_some_and(|u| u.scheme_str() == Some("http") && u.host().is_some()),
                "the webhook proxy `{url}` is not an http://HOST:PORT URL"
            );
        }
        let guard = Arc::new(Guard {
            allow_private_networks: settings.allow_private_networks,
            proxies: rules.matcher(),
            proxy_hosts: rules.hosts(),
        });

        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .http1_only()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(settings.concurrency.max(1))
            .tcp_nodelay(true)
            .user_agent(concat!("maturity-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver(Arc::clone(&guard))));
        // reqwest would read the environment itself; it is given the rules the guard knows instead.
        builder = builder.no_proxy();
        for proxy in rules.reqwest()? {
            builder = builder.proxy(proxy);
        }
        let http = builder.build().context("while building the webhook HTTP client")?;
        Ok(Client { http, guard, timeout: settings.timeout })
    }

    /// POSTs `body` with `headers` to `url`; an error says why there was no answer. The URL is
    /// read once (`domain_webhooks::destination`) and that reading is both what the guard judges
    /// and what the client connects to.
    pub async fn post(&self, url: &str, headers: &[(&'static str, String)], body: Bytes) -> Result<Answer, NoAnswer> {
        let destination = domain_webhooks::destination(url)
            .map_err(|why| NoAnswer::Refused(format!("not an endpoint URL: {why}")))?;
        self.guard.before_sending(&destination).await.map_err(|r| NoAnswer::Refused(r.0))?;
        let mut request =
            self.http.post(destination.url).header(http::header::CONTENT_TYPE, "application/json").body(body);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let mut response = request.send().await.map_err(|e| self.why(&e))?;
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(retry_after);
        // The body is read (up to a bound) so that the connection goes back to the pool; a longer
        // one closes it instead.
        let mut read = 0usize;
        while read <= 64 * 1024 {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Answer { status, retry_after })
    }

    /// Why there was no answer, in one line: the guard's verdict when it refused, a TLS failure
    /// with rustls's reason, a connection failure with its cause, else the chain of causes.
    fn why(&self, e: &reqwest::Error) -> NoAnswer {
        let host = e.url().and_then(|u| u.host_str()).unwrap_or("the endpoint").to_string();
        if e.is_timeout() {
            return NoAnswer::Failed(format!("no answer from {host} within {} s", self.timeout.as_secs()));
        }
        // The causes, looking inside I/O errors too (their `source` skips the error they carry).
        let mut causes: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        while let Some(c) = next {
            causes.push(c);
            next = match c.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => c.source(),
            };
        }
        if let Some(refused) = causes.iter().find_map(|c| c.downcast_ref::<Refused>()) {
            return NoAnswer::Refused(refused.0.clone());
        }
        if let Some(tls) = causes.iter().find_map(|c| c.downcast_ref::<rustls::Error>()) {
            return NoAnswer::Failed(format!("TLS with {host} failed: {tls}"));
        }
        let root = causes.last().map_or_else(|| e.to_string(), ToString::to_string);
        if e.is_connect() {
            return NoAnswer::Failed(format!("cannot connect to {host}: {root}"));
        }
        NoAnswer::Failed(format!("no HTTP answer from {host}: {root}"))
    }
}

/// Why a delivery got no answer. The cause is for the operator's log; the tenant's delivery
/// record says only [`NoAnswer::public`], since the tenant chose the URL and a cause such as
/// "connection refused" on one port and "TLS failed" on another would map the server's network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoAnswer {
    /// The egress guard refused the destination before any connection.
    Refused(String),
    /// No HTTP answer: no connection, no TLS, a broken or late answer.
    Failed(String),
}

impl NoAnswer {
    /// What the tenant's delivery record says.
    pub fn public(&self) -> &'static str {
        match self {
            NoAnswer::Refused(_) => "refused: the endpoint's address is not allowed",
            NoAnswer::Failed(_) => "failed: no HTTP answer from the endpoint",
        }
    }

    /// The cause, for the operator's log.
    pub fn cause(&self) -> &str {
        match self {
            NoAnswer::Refused(c) | NoAnswer::Failed(c) => c,
        }
    }
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.cause())
    }
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
fn next_after(result: &Result<Answer, NoAnswer>, attempts: u32, now: i64) -> Next {
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
        let client = Client::new(&settings)?;
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
                    error: result.as_ref().err().map(|e| e.public().to_string()).unwrap_or_default(),
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client trusting `pem` besides the public roots, with no proxy whatever the environment says.
    fn test_client(pem: Option<&str>, allow_private_networks: bool) -> anyhow::Result<Client> {
        let settings = DispatchSettings {
            timeout: Duration::from_secs(5),
            extra_roots_pem: pem.map(|p| p.as_bytes().to_vec()),
            allow_private_networks,
            ..DispatchSettings::default()
        };
        Client::with_environment(&settings, |_| None)
    }

    /// An HTTPS endpoint with `cert` answering `answer` to one request; the request it got.
    async fn https_endpoint(
        cert: &rcgen::CertifiedKey,
        answer: &'static str,
    ) -> (u16, tokio::task::JoinHandle<Result<String, String>>) {
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
        let client = test_client(Some(&pem), true).unwrap();
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
        let public = test_client(None, true).unwrap();
        let refused = public.post(&format!("https://localhost:{port}/hook"), &headers, Bytes::from_static(b"{}")).await;
        assert!(
            refused.as_ref().is_err_and(|e| matches!(e, NoAnswer::Failed(_))
                && e.cause().starts_with("TLS with localhost failed: invalid peer certificate")),
            "{refused:?}"
        );
        // Nothing listening: an error, not a hang.
        let closed = public.post("http://127.0.0.1:9/hook", &headers, Bytes::from_static(b"{}")).await;
        assert!(closed.as_ref().is_err_and(|e| e.cause().starts_with("cannot connect to 127.0.0.1: ")), "{closed:?}");
        // The tenant's record says the same for both: no port state, no TLS detail.
        assert_eq!(refused.unwrap_err().public(), closed.unwrap_err().public());
        assert!(test_client(Some("not a certificate"), true).is_err());
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_after_resolution_unless_allowed() {
        // A receiver on loopback that would answer 200: the guarded client never connects.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let guarded = test_client(None, false).unwrap();
        let headers = [("webhook-id", "msg_1".to_string())];
        for url in [
            format!("http://localhost:{port}/hook"),
            format!("http://127.0.0.1:{port}/hook"),
            "https://10.0.0.1/hook".to_string(),
            "https://169.254.169.254/latest/meta-data".to_string(),
            "https://[::ffff:169.254.169.254]/hook".to_string(),
        ] {
            let refused = guarded.post(&url, &headers, Bytes::from_static(b"{}")).await;
            assert!(refused.as_ref().is_err_and(|e| matches!(e, NoAnswer::Refused(_))), "{url}: {refused:?}");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "the guarded client connected to loopback");
        // The same loopback endpoint with private networks allowed: connected.
        let allowed = test_client(None, true).unwrap();
        let posting = tokio::spawn(async move {
            allowed.post(&format!("http://localhost:{port}/hook"), &headers, Bytes::from_static(b"{}")).await
        });
        let (tcp, _) = tokio::time::timeout(Duration::from_secs(2), listener.accept()).await.unwrap().unwrap();
        drop(tcp);
        let _ = posting.await;
    }

    /// The URL forms that name an internal address in a notation other than the plain one (a
    /// trailing dot, short, hexadecimal, decimal and octal IPv4, IPv6 forms that embed IPv4):
    /// refused before any connection, to a listener on loopback that counts what reaches it.
    #[tokio::test]
    async fn every_notation_of_an_internal_address_is_refused_before_connecting() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let guarded = test_client(None, false).unwrap();
        let headers = [("webhook-id", "msg_1".to_string())];
        // The whole list, at registration, update and delivery: tests/e2e/webhooks.rs.
        let forms = [
            "https://127.0.0.1.:{port}/",
            "https://localhost.:{port}/",
            "https://127.1:{port}/",
            "https://0x7f000001.:{port}/",
            "https://2130706433.:{port}/",
            "https://[2002:7f00:1::]:{port}/",
        ];
        for url in forms.map(|u| u.replace("{port}", &port.to_string())) {
            let refused = guarded.post(&url, &headers, Bytes::from_static(b"{}")).await;
            assert!(refused.as_ref().is_err_and(|e| matches!(e, NoAnswer::Refused(_))), "{url}: {refused:?}");
            assert_eq!(refused.unwrap_err().public(), "refused: the endpoint's address is not allowed");
        }
        let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
        assert!(accepted.is_err(), "the guarded client connected to the loopback listener");
    }

    /// Reads one HTTP/1.1 request (head and a `Content-Length` body) from `io`; `None` at the end.
    async fn read_request(io: &mut (impl tokio::io::AsyncRead + Unpin), buf: &mut Vec<u8>) -> Option<String> {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    buf.drain(..end + 4 + length);
                    return Some(head);
                }
            }
            let mut chunk = [0u8; 4096];
            match io.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    #[tokio::test]
    async fn deliveries_to_one_endpoint_share_a_kept_alive_connection() {
        // A receiver that keeps each connection open and counts the connections it accepted.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (c, r) = (Arc::clone(&connections), Arc::clone(&requests));
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let r = Arc::clone(&r);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    while read_request(&mut tcp, &mut buf).await.is_some() {
                        r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if tcp.write_all(answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let client = test_client(None, true).unwrap();
        let headers = [("webhook-id", "msg_1".to_string())];
        for _ in 0..5 {
            let answer =
                client.post(&format!("http://localhost:{port}/hook"), &headers, Bytes::from_static(b"{}")).await;
            assert_eq!(answer, Ok(Answer { status: 200, retry_after: None }));
        }
        assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 5);
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1, "five deliveries, one connection");
    }

    /// A CONNECT proxy on loopback that tunnels every request to `backend`; the CONNECT lines it got.
    async fn connect_proxy(backend: u16) -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let Some(head) = read_request(&mut tcp, &mut buf).await else { return };
                    log.lock().unwrap().push(head.lines().next().unwrap_or_default().to_string());
                    if !head.starts_with("CONNECT ") {
                        let _ = tcp.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n").await;
                        return;
                    }
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(("127.0.0.1", backend)).await else { return };
                    if tcp.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_ok() {
                        let _ = tokio::io::copy_bidirectional(&mut tcp, &mut upstream).await;
                    }
                });
            }
        });
        (port, seen)
    }

    #[tokio::test]
    async fn deliveries_go_through_the_proxy_and_the_guard_still_applies() {
        // The receiver's name does not resolve here: only the proxy can reach it. The proxy is on
        // loopback (the operator's choice, so the guard lets the client connect to it).
        let cert = rcgen::generate_simple_self_signed(vec!["hooks.example.invalid".to_string()]).unwrap();
        let pem = cert.cert.pem();
        let (backend, seen_by_receiver) =
            https_endpoint(&cert, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n").await;
        let (proxy, seen_by_proxy) = connect_proxy(backend).await;
        let settings = DispatchSettings { extra_roots_pem: Some(pem.into_bytes()), ..DispatchSettings::default() };
        let proxy_url = format!("http://localhost:{proxy}");
        let guarded =
            Client::with_environment(&settings, |name| (name == "https_proxy").then(|| proxy_url.clone())).unwrap();
        let headers = [("webhook-id", "msg_1".to_string())];
        let answer =
            guarded.post("https://hooks.example.invalid/hook", &headers, Bytes::from_static(b"{\"ok\":1}")).await;
        assert_eq!(answer, Ok(Answer { status: 204, retry_after: None }));
        let request = seen_by_receiver.await.unwrap().unwrap();
        assert!(request.starts_with("POST /hook HTTP/1.1\r\n"), "{request}");
        assert_eq!(*seen_by_proxy.lock().unwrap(), ["CONNECT hooks.example.invalid:443 HTTP/1.1"]);
        // Internal destinations are refused before the proxy is asked: written as an address, or
        // a name that resolves here to one.
        for url in [
            "https://127.0.0.1/hook".to_string(),
            "https://169.254.169.254/latest/meta-data".to_string(),
            format!("https://localhost:{backend}/hook"),
        ] {
            let refused = guarded.post(&url, &headers, Bytes::from_static(b"{}")).await;
            assert!(refused.as_ref().is_err_and(|e| matches!(e, NoAnswer::Refused(_))), "{url}: {refused:?}");
        }
        assert_eq!(seen_by_proxy.lock().unwrap().len(), 1, "the proxy was not asked for a refused destination");
        // A host NO_PROXY names is reached directly: here that means it does not resolve.
        let env = |name: &str| match name {
            "HTTPS_PROXY" => Some(proxy_url.clone()),
            "NO_PROXY" => Some("example.invalid".to_string()),
            _ => None,
        };
        let direct = Client::with_environment(&settings, env).unwrap();
        let unresolved = direct.post("https://hooks.example.invalid/hook", &headers, Bytes::from_static(b"{}")).await;
        assert!(
            unresolved.as_ref().is_err_and(|e| e.cause().starts_with("cannot resolve hooks.example.invalid")),
            "{unresolved:?}"
        );
        assert_eq!(seen_by_proxy.lock().unwrap().len(), 1, "NO_PROXY's host went through the proxy");
    }

    #[test]
    fn proxy_rules_are_read_as_curl_reads_them() {
        fn rules(setting: Option<&str>, vars: &[(&str, &str)]) -> ProxyRules {
            ProxyRules::new(setting, |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
        }
        fn via(rules: &ProxyRules, url: &str) -> Option<String> {
            rules.matcher().intercept(&url.parse().unwrap()).map(|i| i.uri().to_string())
        }
        assert_eq!(rules(None, &[]), ProxyRules::default());
        assert_eq!(via(&rules(None, &[]), "https://hooks.example.com/"), None);
        let https_only =
            rules(None, &[("https_proxy", "http://proxy.internal:3128"), ("NO_PROXY", "crm.example.com,.lan")]);
        assert_eq!(via(&https_only, "https://hooks.example.com/x"), Some("http://proxy.internal:3128/".into()));
        assert_eq!(via(&https_only, "https://crm.example.com/x"), None, "named in NO_PROXY");
        assert_eq!(via(&https_only, "https://hooks.crm.example.com/x"), None, "a subdomain of a NO_PROXY name");
        assert_eq!(via(&https_only, "https://receiver.lan/x"), None, "a NO_PROXY suffix");
        assert_eq!(via(&https_only, "http://hooks.example.com/x"), None, "no proxy for http://");
        assert_eq!(https_only.hosts(), ["proxy.internal"]);
        let all =
            rules(None, &[("ALL_PROXY", "http://all:8080"), ("HTTP_PROXY", "http://plain:1"), ("HTTPS_PROXY", " ")]);
        assert_eq!((all.http.as_deref(), all.https.as_deref()), (Some("http://plain:1"), Some("http://all:8080")));
        let configured = rules(Some("http://egress:3128"), &[("HTTPS_PROXY", "http://other:1"), ("no_proxy", "*")]);
        assert_eq!(
            configured,
            ProxyRules {
                http: Some("http://egress:3128".into()),
                https: Some("http://egress:3128".into()),
                no: "*".into()
            }
        );
        assert_eq!(
            via(&configured, "https://hooks.example.com/"),
            None,
            "NO_PROXY=* applies to the configured proxy too"
        );
        for bad in ["not a proxy", "socks5://proxy:1080", "https://"] {
            let settings = DispatchSettings { proxy: Some(bad.into()), ..DispatchSettings::default() };
            let refused = Client::new(&settings).map(|_| ()).map_err(|e| format!("{e:#}"));
            assert!(
                refused.as_ref().is_err_and(|e| e.contains("is not an http://HOST:PORT URL")),
                "{bad}: {refused:?}"
            );
        }
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
        assert!(
            matches!(next_after(&Err(NoAnswer::Refused("refused".into())), 1, 0), Next::Retry(t) if t >= 240_000_000)
        );
        assert_eq!(next_after(&ok(500), 7, 0), Next::GiveUp);
        let slow = Ok(Answer { status: 429, retry_after: Some(Duration::from_secs(600)) });
        assert_eq!(next_after(&slow, 0, 0), Next::Retry(600_000_000));
        let busy = Ok(Answer { status: 503, retry_after: Some(Duration::from_secs(30)) });
        assert_eq!(next_after(&busy, 0, 0), Next::Retry(30_000_000));
    }
}
