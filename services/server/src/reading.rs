//! How the HTTP port reads its clients, so that a slow or silent client cannot hold a connection
//! (and its file descriptor) open:
//!
//! - **idle**: a connection waiting for its first or next request is closed, without an answer,
//!   after `idle` (hyper's header timeout, which runs from the moment hyper waits for a request);
//! - **headers**: once a request's first byte has arrived, its whole head must arrive within
//!   `headers`; else plain HTTP answers 408 and closes, TLS closes (the TLS session goes with
//!   hyper's connection);
//! - **body**: the gateway's own limit (`crate::gateway::http`).
//!
//! The header limit is kept here, not by hyper, because hyper's counts the idle time before a
//! request too: a request sent in good time on a connection idle for nearly the limit would be cut.
//! `Heard` notes the first byte read while a connection is idle, the service wrapper notes when
//! hyper hands a request over and when its answer is ready, and a watchdog beside the connection
//! ends it when a head is overdue. HTTP/2 (over TLS, by ALPN) is served without these limits:
//! its streams share the connection, and hyper pings an idle one to find a peer that is gone.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The time limits of the HTTP port.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// For a TLS handshake.
    pub handshake: Duration,
    /// For a connection waiting for a request.
    pub idle: Duration,
    /// For a request's head, from its first byte.
    pub headers: Duration,
}

/// Where a connection is in its request-answer cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request.
    Idle,
    /// A request's head has been arriving since then.
    Head(Instant),
    /// hyper has the request; its answer is not ready yet.
    Request,
    /// The answer is ready; the connection is idle once it is written.
    Answered,
}

#[derive(Clone)]
struct Watch(Arc<Mutex<Phase>>);

impl Watch {
    fn new() -> Watch {
        Watch(Arc::new(Mutex::new(Phase::Idle)))
    }

    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *phase = f(*phase);
    }

    fn head_since(&self) -> Option<Instant> {
        match *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Phase::Head(since) => Some(since),
            _ => None,
        }
    }
}

/// A connection's stream that notes the first byte of a request and the writing of an answer.
struct Heard<T> {
    io: T,
    watch: Watch,
}

/// After a write: an answer being written leaves the connection idle; a head that began while the
/// server was still writing (a pipelined request) is timed from the server's last write.
fn written(p: Phase) -> Phase {
    match p {
        Phase::Answered => Phase::Idle,
        Phase::Head(_) => Phase::Head(Instant::now()),
        other => other,
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Heard<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            let now = Instant::now();
            self.watch.update(|p| if p == Phase::Idle { Phase::Head(now) } else { p });
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Heard<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(_))) {
            self.watch.update(written);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(_))) {
            self.watch.update(written);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A TCP stream that hyper reads and writes while the server keeps a handle of its own, to answer
/// 408 after hyper's connection is gone (one socket, no second file descriptor).
struct Shared(Arc<TcpStream>);

impl AsyncRead for Shared {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Shared {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(data) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                written => return Poll::Ready(written),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write_vectored(data) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                written => return Poll::Ready(written),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The write half-close before the socket goes: the client reads the answer and then the end,
    /// even when its request was not read to the end (a socket closed with unread input is reset,
    /// and a reset can overtake the answer).
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match socket2::SockRef::from(&*self.0).shutdown(std::net::Shutdown::Write) {
            Err(e) if e.kind() != std::io::ErrorKind::NotConnected => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(())),
        }
    }
}

/// Resolves once a request's head has been arriving for longer than `limit`.
async fn overdue(watch: &Watch, limit: Duration) {
    loop {
        let wait = match watch.head_since() {
            Some(since) => match limit.checked_sub(since.elapsed()) {
                Some(left) => left,
                None => return,
            },
            // A head that starts while this sleeps is noticed at most a quarter of the limit late.
            None => limit / 4,
        };
        tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
    }
}

/// How a watched connection ended.
enum Ended {
    /// hyper finished it (the client closed, or the idle limit), perhaps with an error.
    Served(Option<String>),
    /// A request's head did not arrive in time: the connection was dropped.
    Overdue,
}

/// Serves `router` on `io` until the connection ends, or until a request's head is overdue.
async fn watched<T>(
    io: T,
    peer: std::net::SocketAddr,
    router: axum::Router,
    limits: Limits,
    http2: bool,
    watcher: hyper_util::server::graceful::Watcher,
) -> Ended
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let watch = Watch::new();
    let heard = hyper_util::rt::TokioIo::new(Heard { io, watch: watch.clone() });
    let inner = hyper_util::service::TowerToHyperService::new(router);
    let noted = watch.clone();
    let service = hyper::service::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
        noted.update(|_| Phase::Request);
        // The peer's address, for handlers that limit by it (`axum::extract::ConnectInfo`).
        request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        let (noted, answer) = (noted.clone(), hyper::service::Service::call(&inner, request));
        async move {
            let answered = answer.await;
            noted.update(|_| Phase::Answered);
            answered
        }
    });
    let executor = hyper_util::rt::TokioExecutor::new();
    if http2 {
        let mut builder = hyper_util::server::conn::auto::Builder::new(executor).http2_only();
        builder.http2().timer(hyper_util::rt::TokioTimer::new()).keep_alive_interval(limits.idle);
        let served = watcher.watch(builder.serve_connection(heard, service).into_owned()).await;
        return Ended::Served(served.err().map(|e| e.to_string()));
    }
    let mut builder = hyper_util::server::conn::auto::Builder::new(executor).http1_only();
    builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(limits.idle);
    let served = watcher.watch(builder.serve_connection(heard, service).into_owned());
    tokio::select! {
        served = served => Ended::Served(served.err().map(|e| e.to_string())),
        () = overdue(&watch, limits.headers) => Ended::Overdue,
    }
}

/// The 408 for a request whose head did not arrive within the limit.
fn overdue_answer() -> Vec<u8> {
    let body = concat!(
        r#"{"type":"urn:maturity:problem:deadline_exceeded","title":"Request Timeout","status":408,"#,
        r#""code":"DEADLINE_EXCEEDED","detail":"the request's headers did not arrive in time","#,
        r#""reason":"DEADLINE_EXCEEDED","domain":"maturity"}"#
    );
    let head = "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close";
    format!("{head}\r\ncontent-length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Serves one plain HTTP/1.1 connection.
pub(crate) async fn serve_plain(
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    router: axum::Router,
    limits: Limits,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let tcp = Arc::new(tcp);
    match watched(Shared(Arc::clone(&tcp)), peer, router, limits, false, watcher).await {
        Ended::Overdue => {
            // hyper's connection is gone; this is the socket's last handle.
            let answer = overdue_answer();
            let written = tokio::time::timeout(Duration::from_secs(1), async {
                let mut at = 0;
                while at < answer.len() {
                    tcp.writable().await?;
                    match tcp.try_write(&answer[at..]) {
                        Ok(n) => at += n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                socket2::SockRef::from(&*tcp).shutdown(std::net::Shutdown::Write)
            })
            .await;
            tracing::debug!(%peer, ?written, "HTTP request head overdue: 408");
        }
        Ended::Served(Some(e)) => tracing::debug!(%peer, error = %e, "HTTP connection ended with an error"),
        Ended::Served(None) => {}
    }
}

/// Serves one connection over TLS: HTTP/2 when the client chose it (ALPN), else HTTP/1.1.
pub(crate) async fn serve_tls(
    tls: tokio_rustls::server::TlsStream<TcpStream>,
    peer: std::net::SocketAddr,
    router: axum::Router,
    limits: Limits,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    match watched(tls, peer, router, limits, http2, watcher).await {
        Ended::Overdue => tracing::debug!(%peer, "HTTPS request head overdue: connection closed"),
        Ended::Served(Some(e)) => tracing::debug!(%peer, error = %e, "HTTPS connection ended with an error"),
        Ended::Served(None) => {}
    }
}
