//! The server stack every gRPC binary runs: the product's services plus gRPC health, server
//! reflection (v1 and v1alpha, so that any stock client can discover the API) and the diagnostics
//! echo, served on a listener the caller bound (tests bind port 0), until `shutdown` resolves.
//!
//! Shutdown: health turns NOT_SERVING for every service, new connections are refused, in-flight
//! calls and HTTP(S) requests (a chapter download included) get `drain` to finish, then the server
//! stops regardless.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use configuration::ServeConfig;
pub use configuration::TlsPem;
use configuration::settings::{
    DEFAULT_HTTP_BODY_TIMEOUT, DEFAULT_HTTP_HEADER_TIMEOUT, DEFAULT_HTTP_IDLE_TIMEOUT, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_SUBMITS,
};

/// Settings of the server stack.
#[derive(Clone)]
pub struct ServerSettings {
    /// How long in-flight calls may take to finish after shutdown begins.
    pub drain: Duration,
    /// Certificate chain and private key (PEM) for TLS on both ports; plain text when absent.
    pub tls: Option<TlsPem>,
    /// How long an HTTPS client may take to complete its TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// How long an HTTP client may take to send a request's head, from its first byte: then 408.
    pub http_header_timeout: Duration,
    /// How long an HTTP/1.1 connection may wait for its next request before it is closed.
    pub http_idle_timeout: Duration,
    /// How long an HTTP client may take to send a request's body once its headers are in: then 408.
    pub http_body_timeout: Duration,
    /// The front door: request ids, load shedding, metrics.
    pub guard: crate::guard::Guard,
    /// Whether the server can do its work (its database answers); checked every 2 seconds. The
    /// gRPC health of `""` and of every service follows it (readiness); `liveness` stays SERVING
    /// while the process runs.
    pub readiness: Option<Probe>,
    /// More routes for the operators' port (the all-in-one server's tenants and keys).
    pub admin_routes: Option<axum::Router>,
    /// More routes for the HTTP port, beside the JSON gateway's and through its front door (the
    /// questionnaire's pages).
    pub public_routes: Option<axum::Router>,
}

impl std::fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSettings")
            .field("drain", &self.drain)
            .field("tls", &self.tls)
            .field("tls_handshake_timeout", &self.tls_handshake_timeout)
            .field("http_header_timeout", &self.http_header_timeout)
            .field("http_idle_timeout", &self.http_idle_timeout)
            .field("http_body_timeout", &self.http_body_timeout)
            .field("guard", &self.guard)
            .field("readiness", &self.readiness.is_some())
            .field("admin_routes", &self.admin_routes.is_some())
            .field("public_routes", &self.public_routes.is_some())
            .finish()
    }
}

/// A readiness check.
pub type Probe = std::sync::Arc<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// How long an HTTPS client may take to complete its TLS handshake unless configured otherwise.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The gRPC health service name that reports liveness only.
pub const LIVENESS: &str = "liveness";

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            drain: Duration::from_secs(10),
            tls: None,
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            http_header_timeout: DEFAULT_HTTP_HEADER_TIMEOUT,
            http_idle_timeout: DEFAULT_HTTP_IDLE_TIMEOUT,
            http_body_timeout: DEFAULT_HTTP_BODY_TIMEOUT,
            guard: crate::guard::Guard::new(DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_SUBMITS),
            readiness: None,
            admin_routes: None,
            public_routes: None,
        }
    }
}

/// The rustls configuration of `pem` for the HTTP port (HTTP/1.1 and HTTP/2).
fn rustls_config(pem: &TlsPem) -> anyhow::Result<tokio_rustls::rustls::ServerConfig> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem.cert)
        .collect::<Result<_, _>>()
        .context("the TLS certificate file is not PEM")?;
    anyhow::ensure!(!certs.is_empty(), "the TLS certificate file holds no certificate");
    let key = PrivateKeyDer::from_pem_slice(pem.key.expose()).context("the TLS key file holds no PEM private key")?;
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("while choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until `stop` resolves, then lets
/// the connections finish what they are doing: a request in flight (a chapter being downloaded)
/// completes, idle keep-alive connections are closed (HTTP/1.1 `Connection: close`, HTTP/2
/// GOAWAY). The caller bounds that wait with the drain deadline. Slow or silent clients are held
/// to `limits` (`crate::reading`): a TLS handshake not done in time is dropped.
async fn serve_http(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<tokio_rustls::rustls::ServerConfig>,
    limits: crate::reading::Limits,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let acceptor = tls.map(|config| tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted: the
                    // listener itself is fine, so wait a moment rather than stop serving.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, router) = (acceptor.clone(), router.clone());
        // Taken before the handshake, so that the drain also waits for handshakes under way.
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some(acceptor) = acceptor else {
                return crate::reading::serve_plain(tcp, peer, router, limits, watcher).await;
            };
            match tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => crate::reading::serve_tls(tls, peer, router, limits, watcher).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, timeout = ?limits.handshake, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    tracing::debug!(connections = graceful.count(), "HTTP draining");
    graceful.shutdown().await;
    Ok(())
}

/// The product's services to serve, with their names for health reporting.
#[derive(Debug, Default)]
pub struct Services {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl Services {
    /// No services yet.
    pub fn new() -> Self {
        Services::default()
    }

    /// Adds a tonic service.
    pub fn add<S>(&mut self, svc: S) -> &mut Self
    where
        S: tower_service::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(svc);
        self
    }
}

/// The sockets a server answers on.
#[derive(Debug)]
pub struct Listeners {
    /// The gRPC port.
    pub grpc: TcpListener,
    /// The JSON-over-HTTP port (`crate::gateway`), if any.
    pub http: Option<TcpListener>,
    /// The operators' port (`/metrics`, `/livez`, `/readyz`; plain HTTP), if any.
    pub admin: Option<TcpListener>,
}

impl Listeners {
    /// The gRPC port only.
    pub fn grpc_only(grpc: TcpListener) -> Listeners {
        Listeners { grpc, http: None, admin: None }
    }
}

/// Serves `services` (plus health, reflection and the echo) on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    services: Services,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    serve_with_http(Listeners::grpc_only(listener), services, settings, shutdown).await
}

/// Follows `probe` every two seconds and sets every service's health (and `ready`) by it.
async fn watch_readiness(
    probe: Probe,
    health: tonic_health::server::HealthReporter,
    names: Vec<&'static str>,
    ready: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let mut was = true;
    loop {
        let now = tokio::time::timeout(Duration::from_secs(2), probe()).await.unwrap_or(false);
        if now != was {
            let status = if now { ServingStatus::Serving } else { ServingStatus::NotServing };
            for name in names.iter().chain(std::iter::once(&"")) {
                health.set_service_status(*name, status).await;
            }
            if now {
                tracing::info!("ready again: the database answers");
            } else {
                tracing::warn!("not ready: the database does not answer");
            }
            was = now;
        }
        ready.store(now, std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

type Reflection<T> = tonic_reflection::server::v1::ServerReflectionServer<T>;
type ReflectionAlpha<T> = tonic_reflection::server::v1alpha::ServerReflectionServer<T>;

/// The reflection services (v1 and v1alpha) over our API and health.
fn reflection() -> anyhow::Result<(
    Reflection<impl tonic_reflection::server::v1::ServerReflection>,
    ReflectionAlpha<impl tonic_reflection::server::v1alpha::ServerReflection>,
)> {
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(services_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("while building the reflection service (v1)")?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(services_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("while building the reflection service (v1alpha)")?;
    Ok((v1, v1alpha))
}

/// Serves the operators' port (metrics, health, and `more` routes) on `listener` until `stop`.
fn spawn_admin(
    listener: TcpListener,
    ops: crate::gateway::http::Operations,
    more: Option<axum::Router>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let addr = listener.local_addr().context("while reading the admin listener's address")?;
    tracing::info!(%addr, "operators' port (metrics, health) listening");
    let router = crate::gateway::http::admin_router(ops);
    let router = match more {
        Some(more) => router.merge(more),
        None => router,
    };
    Ok(tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stop.await;
            })
            .await
    }))
}

/// Serves the JSON gateway over `routes` on `listener` (over TLS when configured) until `stop`.
fn spawn_http(
    listener: TcpListener,
    routes: tonic::service::Routes,
    settings: &ServerSettings,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let addr = listener.local_addr().context("while reading the HTTP listener's address")?;
    let router = crate::gateway::http::router(
        routes,
        settings.guard.metrics.clone(),
        settings.http_body_timeout,
        settings.public_routes.clone(),
    )
    .context("while building the JSON gateway")?;
    let limits = crate::reading::Limits {
        handshake: settings.tls_handshake_timeout,
        idle: settings.http_idle_timeout,
        headers: settings.http_header_timeout,
    };
    let tls = match &settings.tls {
        Some(pem) => {
            tracing::info!(%addr, "JSON over HTTPS listening");
            Some(rustls_config(pem)?)
        }
        None => {
            tracing::info!(%addr, "JSON over HTTP listening");
            None
        }
    };
    Ok(tokio::spawn(serve_http(listener, router, tls, limits, stop)))
}

/// Sets the health of every service in `names` and of the server as a whole (`""`) to `status`.
async fn set_health(health: &tonic_health::server::HealthReporter, names: &[&'static str], status: ServingStatus) {
    for name in names {
        health.set_service_status(*name, status).await;
    }
    health.set_service_status("", status).await;
}

/// The gRPC server's builder, with TLS when `settings` has a certificate.
fn grpc_builder(settings: &ServerSettings) -> anyhow::Result<Server> {
    let mut builder = Server::builder();
    if let Some(pem) = &settings.tls {
        let identity = tonic::transport::Identity::from_pem(&pem.cert, pem.key.expose());
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .context("the TLS certificate or key is not usable")?;
    }
    Ok(builder)
}

/// As `serve`, and when `listeners` has them, the same services as JSON over HTTP
/// (`crate::gateway`) and the operators' port.
pub async fn serve_with_http(
    listeners: Listeners,
    mut services: Services,
    mut settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let Listeners { grpc: listener, http, admin } = listeners;
    let addr = listener.local_addr().context("while reading the listener's address")?;
    services.add(crate::diagnostics::service());

    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, &services.names, ServingStatus::Serving).await;
    health.set_service_status(LIVENESS, ServingStatus::Serving).await;
    let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let readiness_task = settings.readiness.clone().map(|probe| {
        tokio::spawn(watch_readiness(probe, health.clone(), services.names.clone(), std::sync::Arc::clone(&ready)))
    });

    let (reflection_v1, reflection_v1alpha) = reflection()?;
    services.add(health_service).add(reflection_v1).add(reflection_v1alpha);

    let names = services.names.clone();
    // Every call passes the front door (the JSON gateway's too: it calls these routes).
    let guarded = services
        .routes
        .routes()
        .into_axum_router()
        .layer(axum::middleware::from_fn_with_state(settings.guard.clone(), crate::guard::grpc));
    let routes = tonic::service::Routes::from(guarded);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (http_stop_tx, http_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let ops = crate::gateway::http::Operations {
        metrics: settings.guard.metrics.clone(),
        ready: std::sync::Arc::clone(&ready),
    };
    let (admin_stop_tx, admin_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let admin_task = match admin {
        Some(listener) => Some(spawn_admin(listener, ops, settings.admin_routes.take(), admin_stop_rx)?),
        None => None,
    };
    let http_task = match http {
        Some(listener) => Some(spawn_http(listener, routes.clone(), &settings, http_stop_rx)?),
        None => None,
    };
    // Nagle's algorithm would hold back small responses until the peer's delayed ACK (about
    // 40 ms): every accepted connection gets TCP_NODELAY, as a stock gRPC server does.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = grpc_builder(&settings)?.add_routes(routes).serve_with_incoming_shutdown(incoming, async {
        let _ = stop_rx.await;
    });
    tokio::pin!(server);
    tracing::info!(%addr, services = ?names, "gRPC server listening");

    tokio::select! {
        res = &mut server => return res.context("gRPC server failed"),
        () = shutdown => {}
    }
    if let Some(task) = readiness_task {
        task.abort();
    }
    ready.store(false, std::sync::atomic::Ordering::Relaxed);
    set_health(&health, &names, ServingStatus::NotServing).await;
    let _ = stop_tx.send(());
    let _ = http_stop_tx.send(());
    // The operators' port answers until the very end (readiness says NOT_SERVING meanwhile).
    // One deadline for both ports: in-flight gRPC calls and HTTP requests drain side by side.
    let deadline = tokio::time::Instant::now() + settings.drain;
    match tokio::time::timeout_at(deadline, server).await {
        Ok(res) => res.context("gRPC server failed while draining")?,
        Err(_) => tracing::warn!(drain = ?settings.drain, "drain deadline passed; stopping with calls in flight"),
    }
    if let Some(task) = http_task {
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(res)) => res.context("HTTP server failed while draining")?,
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server task failed"),
            Err(_) => {
                tracing::warn!(drain = ?settings.drain, "drain deadline passed; stopping with HTTP requests in flight")
            }
        }
    }
    let _ = admin_stop_tx.send(());
    if let Some(task) = admin_task {
        let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
    }
    tracing::info!(%addr, "gRPC server stopped");
    // Spans of the last calls go out before the process ends (when trace export is on).
    let _ = tokio::task::spawn_blocking(|| telemetry::otel::flush(Duration::from_secs(2))).await;
    Ok(())
}

impl ServerSettings {
    /// The server stack's settings of `config`: its drain deadline and front door, with `tls`
    /// (read by `ServeConfig::tls`); readiness and the rest as the stack's defaults.
    pub fn from_config(config: &ServeConfig, tls: Option<TlsPem>) -> ServerSettings {
        ServerSettings {
            drain: config.drain,
            tls,
            http_header_timeout: config.http_header_timeout,
            http_idle_timeout: config.http_idle_timeout,
            http_body_timeout: config.http_body_timeout,
            guard: crate::guard::Guard::new(config.max_in_flight, config.max_submits_in_flight),
            ..ServerSettings::default()
        }
    }
}

impl Listeners {
    /// Binds the ports `config` names (an address with port 0 gets a free port), saying which
    /// address failed.
    pub async fn bind(config: &ServeConfig) -> anyhow::Result<Listeners> {
        async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
            TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} ({what})"))
        }
        let grpc = bind(config.grpc_addr, "grpc_addr").await?;
        let http = match config.http_addr {
            Some(a) => Some(bind(a, "http_addr").await?),
            None => None,
        };
        let admin = match config.admin_addr {
            Some(a) => Some(bind(a, "admin_addr").await?),
            None => None,
        };
        Ok(Listeners { grpc, http, admin })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client that connects to the HTTPS port and never starts its handshake is disconnected
    /// after the handshake timeout; a client that does handshake is served meanwhile.
    #[tokio::test]
    async fn a_silent_https_client_is_cut_off_after_the_handshake_timeout() {
        use tokio_rustls::rustls;
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let pem = TlsPem {
            cert: cert.cert.pem().into_bytes(),
            key: configuration::Secret::new(cert.key_pair.serialize_pem().into_bytes()),
        };
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_addr = http.local_addr().unwrap();
        let settings = ServerSettings {
            tls: Some(pem),
            tls_handshake_timeout: Duration::from_millis(300),
            drain: Duration::from_secs(5),
            ..ServerSettings::default()
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let listeners = Listeners { grpc, http: Some(http), admin: None };
        let server = tokio::spawn(serve_with_http(listeners, Services::new(), settings, async {
            let _ = stop_rx.await;
        }));

        let mut silent = tokio::net::TcpStream::connect(http_addr).await.unwrap();
        let connected = std::time::Instant::now();

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.cert.der().clone()).unwrap();
        let config =
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(http_addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp).await.unwrap();
        tls.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut reply = Vec::new();
        tls.read_to_end(&mut reply).await.unwrap_or_default();
        assert!(reply.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&reply));

        let mut buf = [0_u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf))
            .await
            .expect("the silent connection is still open after 5 s");
        assert!(matches!(read, Ok(0) | Err(_)), "the server sent something to a client that said nothing: {read:?}");
        assert!(connected.elapsed() >= Duration::from_millis(300), "cut off before the timeout");

        let _ = stop_tx.send(());
        server.await.unwrap().unwrap();
    }
}
