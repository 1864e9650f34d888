//! The server stack every gRPC binary runs: the product's services plus gRPC health, server
//! reflection (v1 and v1alpha, so that any stock client can discover the API) and the diagnostics
//! echo, served on a listener the caller bound (tests bind port 0), until `shutdown` resolves.
//!
//! Shutdown: health turns NOT_SERVING for every service, new connections are refused, in-flight
//! calls get `drain` to finish, then the server stops regardless.

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

/// Settings of the server stack.
#[derive(Clone)]
pub struct ServerSettings {
    /// How long in-flight calls may take to finish after shutdown begins.
    pub drain: Duration,
    /// Certificate chain and private key (PEM) for TLS on both ports; plain text when absent.
    pub tls: Option<TlsPem>,
    /// The front door: request ids, load shedding, metrics.
    pub guard: crate::guard::Guard,
    /// Whether the server can do its work (its database answers); checked every 2 seconds. The
    /// gRPC health of `""` and of every service follows it (readiness); `liveness` stays SERVING
    /// while the process runs.
    pub readiness: Option<Probe>,
}

impl std::fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSettings")
            .field("drain", &self.drain)
            .field("tls", &self.tls)
            .field("guard", &self.guard)
            .field("readiness", &self.readiness.is_some())
            .finish()
    }
}

/// A readiness check.
pub type Probe = std::sync::Arc<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// The gRPC health service name that reports liveness only.
pub const LIVENESS: &str = "liveness";

/// A certificate chain and its private key, PEM-encoded.
#[derive(Clone)]
pub struct TlsPem {
    /// The certificate chain.
    pub cert: Vec<u8>,
    /// The private key (never logged).
    pub key: crate::config::Secret<Vec<u8>>,
}

impl std::fmt::Debug for TlsPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPem").field("cert_bytes", &self.cert.len()).finish_non_exhaustive()
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            drain: Duration::from_secs(10),
            tls: None,
            guard: crate::guard::Guard::new(crate::guard::DEFAULT_MAX_IN_FLIGHT, crate::guard::DEFAULT_MAX_SUBMITS),
            readiness: None,
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

/// Serves `router` over TLS on `listener` until `stop` resolves.
async fn serve_tls(
    listener: TcpListener,
    router: axum::Router,
    config: tokio_rustls::rustls::ServerConfig,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = &mut stop => return Ok(()),
        };
        let acceptor = acceptor.clone();
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            if let Err(e) = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), service).await {
                tracing::debug!(%peer, error = %e, "HTTPS connection ended with an error");
            }
        });
    }
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

/// Serves `services` (plus health, reflection and the echo) on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    services: Services,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    serve_with_http(listener, None, services, settings, shutdown).await
}

/// As `serve`, and when `http` is given, the same services as JSON over HTTP on it (`crate::http`).
pub async fn serve_with_http(
    listener: TcpListener,
    http: Option<TcpListener>,
    mut services: Services,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr().context("while reading the listener's address")?;
    services.add(crate::diagnostics::service());

    let (health, health_service) = tonic_health::server::health_reporter();
    for name in &services.names {
        health.set_service_status(*name, ServingStatus::Serving).await;
    }
    health.set_service_status("", ServingStatus::Serving).await;
    health.set_service_status(LIVENESS, ServingStatus::Serving).await;
    let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let readiness_task = settings.readiness.clone().map(|probe| {
        let (health, names, ready) = (health.clone(), services.names.clone(), std::sync::Arc::clone(&ready));
        tokio::spawn(async move {
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
        })
    });

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(services_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("while building the reflection service (v1)")?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(services_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("while building the reflection service (v1alpha)")?;
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
    let http_task = match http {
        Some(http_listener) => {
            let http_addr = http_listener.local_addr().context("while reading the HTTP listener's address")?;
            let ops = crate::http::Operations {
                metrics: settings.guard.metrics.clone(),
                ready: std::sync::Arc::clone(&ready),
            };
            let router = crate::http::router(routes.clone(), ops).context("while building the JSON gateway")?;
            match &settings.tls {
                Some(pem) => {
                    let config = rustls_config(pem)?;
                    tracing::info!(addr = %http_addr, "JSON over HTTPS listening");
                    Some(tokio::spawn(serve_tls(http_listener, router, config, http_stop_rx)))
                }
                None => {
                    tracing::info!(addr = %http_addr, "JSON over HTTP listening");
                    Some(tokio::spawn(async move {
                        axum::serve(http_listener, router)
                            .with_graceful_shutdown(async {
                                let _ = http_stop_rx.await;
                            })
                            .await
                    }))
                }
            }
        }
        None => None,
    };
    // Nagle's algorithm would hold back small responses until the peer's delayed ACK (about
    // 40 ms): every accepted connection gets TCP_NODELAY, as a stock gRPC server does.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = Server::builder();
    if let Some(pem) = &settings.tls {
        let identity = tonic::transport::Identity::from_pem(&pem.cert, pem.key.expose());
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .context("the TLS certificate or key is not usable")?;
    }
    let server = builder.add_routes(routes).serve_with_incoming_shutdown(incoming, async {
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
    for name in &names {
        health.set_service_status(*name, ServingStatus::NotServing).await;
    }
    health.set_service_status("", ServingStatus::NotServing).await;
    let _ = stop_tx.send(());
    let _ = http_stop_tx.send(());
    match tokio::time::timeout(settings.drain, server).await {
        Ok(res) => res.context("gRPC server failed while draining")?,
        Err(_) => tracing::warn!(drain = ?settings.drain, "drain deadline passed; stopping with calls in flight"),
    }
    if let Some(task) = http_task {
        match tokio::time::timeout(settings.drain, task).await {
            Ok(Ok(res)) => res.context("HTTP server failed while draining")?,
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server task failed"),
            Err(_) => tracing::warn!("HTTP drain deadline passed; stopping with requests in flight"),
        }
    }
    tracing::info!(%addr, "gRPC server stopped");
    // Spans of the last calls go out before the process ends (when trace export is on).
    let _ = tokio::task::spawn_blocking(|| crate::otel::flush(Duration::from_secs(2))).await;
    Ok(())
}
