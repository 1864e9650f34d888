//! The shutdown signal of a long-running binary: SIGTERM (how service managers stop a process)
//! or Ctrl-C (SIGINT).

/// A future that resolves on the first SIGTERM or Ctrl-C. The handlers are installed when this is
/// called (inside the runtime), not when the future is first polled: a server calls it before it
/// says it listens, so that a SIGTERM sent as soon as it does is a graceful stop, not the default
/// action of ending the process at once.
pub fn signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            // Without a working handler a branch never resolves, rather than shut down at once.
            let term = async {
                match term {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let interrupt = async {
                match interrupt {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = interrupt => tracing::info!("Ctrl-C received, shutting down"),
                () = term => tracing::info!("SIGTERM received, shutting down"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("Ctrl-C received, shutting down");
    }
}
