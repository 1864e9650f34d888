//! Tracing set-up for binaries: human-readable or JSON lines on stderr, filtered by `RUST_LOG`
//! or the configured level.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
use crate::otel::Endpoint;

/// Installs the global subscriber. `level` is an `EnvFilter` directive such as `info` or
/// `services_scoring=debug,info`; `RUST_LOG`, when set, wins.
pub fn init(format: LogFormat, level: &str) {
    init_with_export(format, level, None);
}

/// As `init`, and with `export` (the collector and the service name) every span is also exported
/// over OTLP (`otel`).
pub fn init_with_export(format: LogFormat, level: &str, export: Option<(&Endpoint, &str)>) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: log files and the lines tests read stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Export has its own level (info: every served call), independent of what is logged.
    let otlp =
        export.map(|(endpoint, service)| crate::otel::layer(endpoint.clone(), service).with_filter(LevelFilter::INFO));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let registry = tracing_subscriber::registry().with(otlp);
    // A second init (tests that start several servers) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Text => registry.with(fmt.with_filter(filter)).try_init(),
        LogFormat::Json => registry.with(fmt.json().flatten_event(true).with_filter(filter)).try_init(),
    };
}
