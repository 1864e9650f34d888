//! Tracing set-up for binaries: human-readable or JSON lines on stderr, filtered by `RUST_LOG`
//! or the configured level. While a progress bar is drawn on stderr, log lines are written around
//! it (`set_log_around`): the bar steps aside, the line is written above it, the bar comes back.
//! Spans are exported over OTLP when an endpoint is configured (`otel`). Every binary of the
//! product (the servers and `report-gen`) logs and traces through this crate.

use std::str::FromStr;
use std::sync::{Arc, RwLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::otel::Endpoint;

pub mod otel;

/// What every log line's write is run inside of: given the write, it performs it (for example
/// `move |write| bar.suspend(write)` for an `indicatif` bar).
pub type Around = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

static AROUND: RwLock<Option<Around>> = RwLock::new(None);

/// Writes every log line inside `around` from now on (`None`: plainly again).
pub fn set_log_around(around: Option<Around>) {
    if let Ok(mut a) = AROUND.write() {
        *a = around;
    }
}

/// Standard error, written around a progress bar when one is set.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let around = AROUND.read().ok().and_then(|a| a.clone());
        match around {
            Some(around) => {
                let mut result = Ok(());
                around(&mut || result = std::io::stderr().write_all(buf));
                result.map(|()| buf.len())
            }
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive such as `info` or
/// `services_scoring=debug,info`; `RUST_LOG`, when set, wins.
pub fn init(format: LogFormat, level: &str) {
    let _ = init_with_export(format, level, None);
}

/// As `init`, and with `export` (the collector and the service name) every span is also exported
/// over OTLP (`otel`); an exporter that cannot be built is an error (nothing is installed then).
pub fn init_with_export(format: LogFormat, level: &str, export: Option<(&Endpoint, &str)>) -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: log files and the lines tests read stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Export has its own level (info: every served call), independent of what is logged.
    let otlp = match export {
        Some((endpoint, service)) => {
            Some(crate::otel::layer::<tracing_subscriber::Registry>(endpoint, service)?.with_filter(LevelFilter::INFO))
        }
        None => None,
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(|| LogWriter).with_ansi(ansi);
    let registry = tracing_subscriber::registry().with(otlp);
    // A second init (tests that start several servers) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Text => registry.with(fmt.with_filter(filter)).try_init(),
        LogFormat::Json => registry.with(fmt.json().flatten_event(true).with_filter(filter)).try_init(),
    };
    Ok(())
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected `text` or `json`".to_string()),
        }
    }
}
