//! The configuration every binary of the product shares, and its command-line flags. Keys (also the
//! file keys and, upper-cased with the `MATURITY_` prefix, the environment variables):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `grpc_addr` | `127.0.0.1:50051` | address of the gRPC port (port 0 picks a free one) |
//! | `http_addr` | `127.0.0.1:8080` | address of the JSON-over-HTTP port, or `off` |
//! | `admin_addr` | `127.0.0.1:9464` | address of the operators' port (`/metrics`, `/livez`, `/readyz`; plain HTTP), or `off` |
//! | `models_dir` | built-in models | directory of model files (`*.toml`) to load instead |
//! | `log_format` | `text` | `text` or `json` |
//! | `log_level` | `info` | a tracing filter such as `info` or `services_scoring=debug` |
//! | `drain_seconds` | `10` | how long in-flight calls may finish after SIGTERM |
//! | `database_url` | `sqlite://./data/maturity.db?mode=rwc` | SQLite file or PostgreSQL URL (`DATABASE_URL` too); PostgreSQL over TLS with the URL's `sslmode` (`disable`, `prefer`, `require`, `verify-full`; `verify-ca` is refused), `sslrootcert`, `sslcert` and `sslkey` |
//! | `database_pool_size` | `16` | connections to the database at most, 1 to 1000 |
//! | `database_acquire_timeout_ms` | `5000` | how long a call waits for a free connection before it is answered UNAVAILABLE; 100 to 600000 |
//! | `database_connect_timeout_ms` | `5000` | how long a new connection (TLS included) may take to open; 100 to 600000 |
//! | `chapter_retention_days` | `0` | archived chapters (what the nightly batch wrote and the server serves as sent) older than this many days are removed by the nightly batch; `0` keeps them until their assessment is erased; 0 to 36500 |
//! | `migrate_on_start` | `true` | `true` applies pending migrations at start, under a lock (any number of processes at once); `false` leaves that to `maturity migrate` and refuses to start (exit 75) when the schema is older or newer than this release |
//! | `disclosure_k` | `10` | smallest published peer group; below 5 is refused |
//! | `pseudonym_key_file` | `./data/pseudonym.key` | secret key of the firm pseudonyms (created when missing) |
//! | `tenant_rate_limit` | `50` | requests per second per tenant (bursts of twice that); `0` for none |
//! | `tls_cert_file`, `tls_key_file` | none | PEM certificate chain and key: TLS on both ports |
//! | `webhook_ca_file` | none | PEM certificates trusted for webhook endpoints besides the public roots |
//! | `webhook_timeout_seconds` | `10` | how long a webhook endpoint may take to answer |
//! | `webhook_proxy` | none | `http://HOST:PORT` of the proxy webhook deliveries go through; when unset, `HTTPS_PROXY`, `HTTP_PROXY` and `ALL_PROXY` are read (`NO_PROXY` applies either way) |
//! | `public_url` | none | the address firms reach the HTTP port at (`https://survey.example.nl`): the start of the questionnaire links InvitationService hands out (without it, a link is its path alone) |
//! | `webhook_allow_private_networks` | `false` | `true` lets webhook endpoints be on loopback, private or link-local addresses (development, or endpoints inside the operator's own network) |
//! | `max_in_flight` | `256` | calls served at once; more are refused at once (`RESOURCE_EXHAUSTED`, HTTP 503); `0` for no limit |
//! | `otlp_endpoint` | none | `http://HOST:PORT` or `https://HOST[:PORT]` of an OpenTelemetry collector: spans exported over OTLP/gRPC (`OTEL_EXPORTER_OTLP_ENDPOINT` too; the other `OTEL_EXPORTER_OTLP_*` variables apply) |
//! | `max_submits_in_flight` | `16` | of those, `SubmitAssessment` calls (they are written one at a time) |
//! | `publish_interval_ms` | `1000` | benchmark figures are republished at most this often (changes in between are coalesced); 50 to 60000 |
//! | `sqlite_checkpoint_ms` | `50` | on SQLite, milliseconds between checkpoints of the write-ahead log beside the submission writer; 10 to 60000, or `0` for none (the writer then checkpoints in its own commits) |
//! | `http_header_timeout_ms` | `10000` | how long an HTTP client may take to send a request's head, from its first byte, before it gets 408 (over TLS: the connection is closed); 100 to 600000 |
//! | `http_idle_timeout_ms` | `60000` | how long an HTTP/1.1 connection may wait for its first or next request before it is closed, without an answer; 100 to 3600000 |
//! | `http_body_timeout_ms` | `30000` | how long an HTTP client may take to send a request's body before it gets 408; 100 to 600000 |
//! | `completed_at_skew_seconds` | `3600` | how far ahead of the server's clock a submission's `completedAt` may be (the CRM's clock may run ahead); later ones are refused; 0 to 604800 |
//! | `peer_years_back` | `2` | an assessment of a year without published peers is compared with the latest earlier published year, at most this many back; 0 to 5 |
//! | `operator_token_file` | none | a file whose first line (32 characters or more) is the operator token: tenants and API keys over HTTP on the operators' port (`/admin/v1/...`, `Authorization: Bearer TOKEN`); unset, those routes are not there |
//! | `auth` | `keys` | `keys` (API keys) or `tenant-header` (trust `x-tenant-id`; development only) |

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use domain_anonymity::years::DEFAULT_PEER_YEARS_BACK;
use telemetry::LogFormat;
use telemetry::otel::Endpoint;

use crate::layers::{AuthMode, ConfigError, Layers, Seconds, Secret};

/// Every key a serving binary reads.
pub const KEYS: &[&str] = &[
    "grpc_addr",
    "http_addr",
    "admin_addr",
    "models_dir",
    "log_format",
    "log_level",
    "drain_seconds",
    "database_url",
    "database_pool_size",
    "database_acquire_timeout_ms",
    "database_connect_timeout_ms",
    "migrate_on_start",
    "chapter_retention_days",
    "operator_token_file",
    "disclosure_k",
    "pseudonym_key_file",
    "auth",
    "tenant_rate_limit",
    "tls_cert_file",
    "tls_key_file",
    "webhook_ca_file",
    "webhook_timeout_seconds",
    "webhook_allow_private_networks",
    "webhook_proxy",
    "public_url",
    "max_in_flight",
    "max_submits_in_flight",
    "otlp_endpoint",
    "publish_interval_ms",
    "sqlite_checkpoint_ms",
    "peer_years_back",
    "completed_at_skew_seconds",
    "http_header_timeout_ms",
    "http_idle_timeout_ms",
    "http_body_timeout_ms",
];

/// Calls served at once by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// `SubmitAssessment` calls served at once by default (most of them waiting for a writer): few
/// enough that an admitted call spends little time in the queue; one more is refused at once
/// (BENCHMARKS.md, "Overload").
pub const DEFAULT_MAX_SUBMITS: usize = 16;

/// How long an HTTP client may take to send a request's headers unless configured otherwise.
pub const DEFAULT_HTTP_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an HTTP/1.1 connection may wait for a request unless configured otherwise.
pub const DEFAULT_HTTP_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long an HTTP client may take to send a request's body unless configured otherwise: a
/// whole megabyte (the largest body) at about 35 kB/s.
pub const DEFAULT_HTTP_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// A certificate chain and its private key, PEM-encoded.
#[derive(Clone)]
pub struct TlsPem {
    /// The certificate chain.
    pub cert: Vec<u8>,
    /// The private key (never logged).
    pub key: Secret<Vec<u8>>,
}

impl std::fmt::Debug for TlsPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPem").field("cert_bytes", &self.cert.len()).finish_non_exhaustive()
    }
}

/// The default database: an SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/maturity.db?mode=rwc";

/// How far ahead of the server's clock a submission's `completed_at` may be, unless configured
/// otherwise.
pub const DEFAULT_COMPLETED_AT_SKEW_SECONDS: u32 = 3600;

/// Smallest disclosure threshold a deployment may configure (docs/method.md, "Disclosure control").
pub const MIN_DISCLOSURE_K: u32 = 5;

/// The default gRPC address.
pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:50051";

/// The default address of the operators' port: loopback only, on the port OpenTelemetry's
/// Prometheus exporters use.
pub const DEFAULT_ADMIN_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

/// A socket address or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HttpAddr(Option<SocketAddr>);

impl std::str::FromStr for HttpAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "off" {
            return Ok(HttpAddr(None));
        }
        s.parse().map(|a| HttpAddr(Some(a))).map_err(|_| "expected HOST:PORT or `off`".to_string())
    }
}

/// Options every command of `maturity` and `report-gen` takes, before or after the subcommand:
/// the configuration file, the database, the models, logging and tracing, and the disclosure
/// rules. Each overrides the file and the environment.
#[derive(Clone, Debug, Default, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Configuration file (TOML, keys as in the README); also MATURITY_CONFIG.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://... (also DATABASE_URL) [default: sqlite://./data/maturity.db?mode=rwc].
    #[arg(long, value_name = "URL", global = true)]
    pub database_url: Option<String>,
    /// Connections to the database at most, 1 to 1000 [default: 16].
    #[arg(long, value_name = "N", global = true)]
    pub database_pool_size: Option<String>,
    /// Milliseconds a call waits for a free database connection, 100 to 600000 [default: 5000].
    #[arg(long, value_name = "MS", global = true)]
    pub database_acquire_timeout_ms: Option<String>,
    /// Milliseconds a new database connection may take to open, 100 to 600000 [default: 5000].
    #[arg(long, value_name = "MS", global = true)]
    pub database_connect_timeout_ms: Option<String>,
    /// true applies pending migrations at start; false only checks the schema and refuses to
    /// start when it differs from this release's (run `maturity migrate` first) [default: true].
    #[arg(long, value_name = "BOOL", global = true)]
    pub migrate_on_start: Option<String>,
    /// Directory of model files to load instead of the built-in ones.
    #[arg(long, value_name = "DIR", global = true)]
    pub models_dir: Option<PathBuf>,
    /// Log format: text or json [default: text].
    #[arg(long, value_name = "FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Log filter [default: info].
    #[arg(long, value_name = "FILTER", global = true)]
    pub log_level: Option<String>,
    /// OpenTelemetry collector for trace export over OTLP/gRPC, http://HOST:PORT or
    /// https://HOST[:PORT] [default: none].
    #[arg(long, value_name = "URL", global = true)]
    pub otlp_endpoint: Option<String>,
    /// Smallest published peer group, at least 5 [default: 10].
    #[arg(long, value_name = "K", global = true)]
    pub disclosure_k: Option<String>,
    /// Years back an assessment's peers may come from when its own year has none, 0 to 5 [default: 2].
    #[arg(long, value_name = "YEARS", global = true)]
    pub peer_years_back: Option<String>,
}

/// The pseudonym key, an option of every `maturity` command that opens the benchmark store.
#[derive(Clone, Debug, Default, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct KeyArgs {
    /// File holding the secret key of the firm pseudonyms [default: ./data/pseudonym.key].
    #[arg(long, value_name = "FILE", global = true)]
    pub pseudonym_key_file: Option<PathBuf>,
}

/// Options of a command that serves (`maturity serve`, `maturity run`, `scoring-service`).
#[derive(Clone, Debug, Default, clap::Args)]
#[command(next_help_heading = "Serving options")]
pub struct ServerArgs {
    /// Address of the gRPC port [default: 127.0.0.1:50051].
    #[arg(long, value_name = "ADDR")]
    pub grpc_addr: Option<String>,
    /// Address of the JSON-over-HTTP port, or `off` [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub http_addr: Option<String>,
    /// Address of the operators' port (metrics, liveness, readiness; plain HTTP), or `off`
    /// [default: 127.0.0.1:9464].
    #[arg(long, value_name = "ADDR")]
    pub admin_addr: Option<String>,
    /// Seconds in-flight calls may take to finish after SIGTERM [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub drain_seconds: Option<String>,
    /// File holding the operator token for tenants and keys over HTTP on the operators' port
    /// [default: none, the routes are off].
    #[arg(long, value_name = "FILE")]
    pub operator_token_file: Option<PathBuf>,
    /// How callers are identified: keys (API keys), or tenant-header (trust x-tenant-id; for
    /// development only) [default: keys].
    #[arg(long, value_name = "MODE")]
    pub auth: Option<String>,
    /// Requests per second each tenant may make, in bursts of twice that; 0 for no limit
    /// [default: 50].
    #[arg(long, value_name = "N")]
    pub tenant_rate_limit: Option<String>,
    /// PEM certificate chain for TLS on both ports (with --tls-key-file).
    #[arg(long, value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for TLS on both ports (with --tls-cert-file).
    #[arg(long, value_name = "FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// PEM certificates trusted for webhook endpoints besides the public roots (a private CA).
    #[arg(long, value_name = "FILE")]
    pub webhook_ca_file: Option<PathBuf>,
    /// Seconds a webhook endpoint may take to answer [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub webhook_timeout_seconds: Option<String>,
    /// true lets webhook endpoints be on loopback, private or link-local addresses: for
    /// development, or endpoints inside the operator's own network [default: false].
    #[arg(long, value_name = "BOOL")]
    pub webhook_allow_private_networks: Option<String>,
    /// Proxy for webhook deliveries, http://HOST:PORT [default: HTTPS_PROXY, HTTP_PROXY or
    /// ALL_PROXY from the environment, with NO_PROXY].
    #[arg(long, value_name = "URL")]
    pub webhook_proxy: Option<String>,
    /// The address firms reach the HTTP port at, https://HOST[:PORT][/PATH]: the start of the
    /// questionnaire's links [default: none, a link is its path].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Calls served at once; more are refused at once; 0 for no limit [default: 256].
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<String>,
    /// SubmitAssessment calls served at once [default: 16].
    #[arg(long, value_name = "N")]
    pub max_submits_in_flight: Option<String>,
    /// Milliseconds between rounds of benchmark publication, 50 to 60000 [default: 1000].
    #[arg(long, value_name = "MS")]
    pub publish_interval_ms: Option<String>,
    /// On SQLite, milliseconds between checkpoints of the write-ahead log beside the submission
    /// writer, 10 to 60000, or 0 for none [default: 50].
    #[arg(long, value_name = "MS")]
    pub sqlite_checkpoint_ms: Option<String>,
    /// How far ahead of the server's clock a submission's completedAt may be, 0 to 604800
    /// [default: 3600].
    #[arg(long, value_name = "SECONDS")]
    pub completed_at_skew_seconds: Option<String>,
    /// Milliseconds an HTTP client may take to send a request's headers before it gets 408, 100
    /// to 600000 [default: 10000].
    #[arg(long, value_name = "MS")]
    pub http_header_timeout_ms: Option<String>,
    /// Milliseconds an HTTP/1.1 connection may wait for a request before it is closed, 100 to
    /// 3600000 [default: 60000].
    #[arg(long, value_name = "MS")]
    pub http_idle_timeout_ms: Option<String>,
    /// Milliseconds an HTTP client may take to send a request's body before it gets 408, 100 to
    /// 600000 [default: 30000].
    #[arg(long, value_name = "MS")]
    pub http_body_timeout_ms: Option<String>,
}

/// The flags of one command line, by group; a group the command does not take stays empty.
/// `ServeConfig::load` lays them over the file and the environment.
#[derive(Clone, Debug, Default)]
pub struct ServeArgs {
    /// The options every command takes.
    pub global: GlobalArgs,
    /// The pseudonym key.
    pub key: KeyArgs,
    /// The serving options.
    pub server: ServerArgs,
    /// `report-gen nightly --chapter-retention-days`.
    pub chapter_retention_days: Option<String>,
}

/// The typed configuration of a serving binary.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Address of the gRPC port.
    pub grpc_addr: SocketAddr,
    /// Address of the JSON-over-HTTP port; `None` when off.
    pub http_addr: Option<SocketAddr>,
    /// Address of the operators' port; `None` when off.
    pub admin_addr: Option<SocketAddr>,
    /// Directory of model files, or `None` for the built-in models.
    pub models_dir: Option<PathBuf>,
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// Drain deadline on shutdown.
    pub drain: Duration,
    /// Database URL (may hold a password: never logged).
    pub database_url: Secret<String>,
    /// Connections to the database at most.
    pub database_pool_size: u32,
    /// How long a call waits for a free database connection.
    pub database_acquire_timeout: Duration,
    /// How long a new database connection may take to open.
    pub database_connect_timeout: Duration,
    /// Whether pending migrations are applied at start (else the schema is only checked).
    pub migrate_on_start: bool,
    /// Days archived chapters are kept (0: until erasure).
    pub chapter_retention_days: u32,
    /// The operator token's file, when tenants and keys are managed over HTTP.
    pub operator_token_file: Option<PathBuf>,
    /// Disclosure threshold k.
    pub disclosure_k: u32,
    /// Secret key file of the pseudonyms.
    pub pseudonym_key_file: PathBuf,
    /// How callers are identified.
    pub auth: AuthMode,
    /// Requests per second per tenant; 0 for none.
    pub tenant_rate_limit: f64,
    /// Certificate chain and key files for TLS, when both are configured.
    pub tls_files: Option<(PathBuf, PathBuf)>,
    /// Extra trusted certificates for webhook endpoints.
    pub webhook_ca_file: Option<PathBuf>,
    /// How long a webhook endpoint may take to answer.
    pub webhook_timeout: Duration,
    /// Webhook endpoints may be on the operator's own network (loopback, private, link-local).
    pub webhook_allow_private_networks: bool,
    /// The proxy webhook deliveries go through, when configured (else the environment's).
    pub webhook_proxy: Option<String>,
    /// The address firms reach the HTTP port at, without a trailing slash (empty: none).
    pub public_url: String,
    /// Calls served at once (0: no limit).
    pub max_in_flight: usize,
    /// SubmitAssessment calls served at once (0: no limit).
    pub max_submits_in_flight: usize,
    /// Where spans are exported, if anywhere.
    pub otlp_endpoint: Option<Endpoint>,
    /// Time between rounds of benchmark publication.
    pub publish_interval: Duration,
    /// Time between checkpoints of an SQLite write-ahead log beside the writer; `None` for none.
    pub sqlite_checkpoint: Option<Duration>,
    /// How many years before an assessment's own its peers may come from.
    pub peer_years_back: u32,
    /// How far ahead of the server's clock a submission's `completed_at` may be.
    pub completed_at_skew_seconds: u32,
    /// How long an HTTP client may take to send a request's head.
    pub http_header_timeout: Duration,
    /// How long an HTTP/1.1 connection may wait for a request.
    pub http_idle_timeout: Duration,
    /// How long an HTTP client may take to send a request's body.
    pub http_body_timeout: Duration,
}

impl ServeConfig {
    /// The TLS certificate and key, read from their files, when TLS is configured.
    pub fn tls(&self) -> Result<Option<TlsPem>, ConfigError> {
        let Some((cert, key)) = &self.tls_files else { return Ok(None) };
        let read = |p: &PathBuf, what: &str| {
            std::fs::read(p)
                .map_err(|e| ConfigError(vec![format!("cannot read the TLS {what} file {}: {e}", p.display())]))
        };
        Ok(Some(TlsPem { cert: read(cert, "certificate")?, key: Secret::new(read(key, "key")?) }))
    }
}

/// The TLS mode a PostgreSQL `url` asks for, lower-cased, as the driver reads it: the URL's
/// `sslmode` (or `ssl-mode`) parameter, percent-decoded, else the `PGSSLMODE` environment variable.
fn ssl_mode(url: &str, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    fn decoded(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| char::from(b).to_digit(16);
            match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                (b'%', Some(h), Some(l)) => {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                }
                (b'+', _, _) => {
                    out.push(b' ');
                    i += 1;
                }
                (b, _, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let from_url = query.split('&').filter_map(|pair| pair.split_once('=')).find_map(|(k, v)| {
        matches!(decoded(k).as_str(), "sslmode" | "ssl-mode").then(|| decoded(v).to_ascii_lowercase())
    });
    from_url.or_else(|| env("PGSSLMODE").map(|m| m.to_ascii_lowercase()))
}

/// The duration a `*_ms` key gives, `default` when it is not set.
fn millis(layers: &mut Layers, key: &str, default: Duration) -> Duration {
    Duration::from_millis(layers.get(key, u64::try_from(default.as_millis()).unwrap_or(u64::MAX)))
}

impl ServeConfig {
    /// Reads defaults, then the file, then the environment (through `env`), then the flags.
    pub fn load(args: &ServeArgs, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut layers = layers(args, &env);
        let mut config = ServeConfig::read(&mut layers)?;
        config.check(&mut layers, &env);
        layers.finish()?;
        Ok(config)
    }

    /// The configuration the layers give, before the checks that span several keys.
    fn read(layers: &mut Layers) -> Result<Self, ConfigError> {
        let default_addr: SocketAddr =
            DEFAULT_GRPC_ADDR.parse().map_err(|_| ConfigError(vec!["internal: bad default address".into()]))?;
        Ok(ServeConfig {
            grpc_addr: layers.get("grpc_addr", default_addr),
            http_addr: layers.get("http_addr", HttpAddr(Some(SocketAddr::from(([127, 0, 0, 1], 8080))))).0,
            admin_addr: layers.get("admin_addr", HttpAddr(Some(DEFAULT_ADMIN_ADDR))).0,
            models_dir: layers.get_opt::<PathBuf>("models_dir"),
            log_format: layers.get("log_format", LogFormat::Text),
            log_level: layers.get("log_level", "info".to_string()),
            drain: Duration::from_secs(layers.get("drain_seconds", Seconds(10)).0),
            database_url: Secret::new(layers.get("database_url", DEFAULT_DATABASE_URL.to_string())),
            database_pool_size: layers.get("database_pool_size", 16u32),
            database_acquire_timeout: millis(layers, "database_acquire_timeout_ms", Duration::from_secs(5)),
            database_connect_timeout: millis(layers, "database_connect_timeout_ms", Duration::from_secs(5)),
            migrate_on_start: layers.get("migrate_on_start", true),
            chapter_retention_days: layers.get("chapter_retention_days", 0u32),
            operator_token_file: layers.get_opt::<PathBuf>("operator_token_file"),
            disclosure_k: layers.get("disclosure_k", 10u32),
            pseudonym_key_file: layers.get("pseudonym_key_file", PathBuf::from("./data/pseudonym.key")),
            auth: layers.get("auth", AuthMode::Keys),
            tenant_rate_limit: layers.get("tenant_rate_limit", 50.0),
            tls_files: None,
            webhook_ca_file: layers.get_opt::<PathBuf>("webhook_ca_file"),
            webhook_timeout: Duration::from_secs(layers.get("webhook_timeout_seconds", Seconds(10)).0),
            webhook_allow_private_networks: layers.get("webhook_allow_private_networks", false),
            webhook_proxy: layers.get_opt::<String>("webhook_proxy"),
            public_url: layers.get_opt::<String>("public_url").unwrap_or_default().trim_end_matches('/').to_string(),
            max_in_flight: layers.get("max_in_flight", DEFAULT_MAX_IN_FLIGHT),
            max_submits_in_flight: layers.get("max_submits_in_flight", DEFAULT_MAX_SUBMITS),
            otlp_endpoint: layers.get_opt::<Endpoint>("otlp_endpoint"),
            publish_interval: Duration::from_millis(layers.get("publish_interval_ms", 1000u64)),
            sqlite_checkpoint: Some(Duration::from_millis(layers.get("sqlite_checkpoint_ms", 50u64)))
                .filter(|d| !d.is_zero()),
            peer_years_back: layers.get("peer_years_back", DEFAULT_PEER_YEARS_BACK),
            completed_at_skew_seconds: layers.get("completed_at_skew_seconds", DEFAULT_COMPLETED_AT_SKEW_SECONDS),
            http_header_timeout: millis(layers, "http_header_timeout_ms", DEFAULT_HTTP_HEADER_TIMEOUT),
            http_idle_timeout: millis(layers, "http_idle_timeout_ms", DEFAULT_HTTP_IDLE_TIMEOUT),
            http_body_timeout: millis(layers, "http_body_timeout_ms", DEFAULT_HTTP_BODY_TIMEOUT),
        })
    }

    /// The checks of values and of keys that go together; each broken rule is a problem in
    /// `layers`.
    fn check(&mut self, layers: &mut Layers, env: &impl Fn(&str) -> Option<String>) {
        match (layers.get_opt::<PathBuf>("tls_cert_file"), layers.get_opt::<PathBuf>("tls_key_file")) {
            (Some(cert), Some(key)) => self.tls_files = Some((cert, key)),
            (None, None) => {}
            _ => layers.problem("tls_cert_file and tls_key_file go together".to_string()),
        }
        if !(self.tenant_rate_limit >= 0.0 && self.tenant_rate_limit.is_finite()) {
            layers.problem(format!("tenant_rate_limit = {} must be 0 or more", self.tenant_rate_limit));
        }
        if !(Duration::from_millis(50)..=Duration::from_secs(60)).contains(&self.publish_interval) {
            layers.problem("publish_interval_ms must be 50 to 60000".to_string());
        }
        if self.sqlite_checkpoint.is_some_and(|d| !(Duration::from_millis(10)..=Duration::from_secs(60)).contains(&d)) {
            layers.problem("sqlite_checkpoint_ms must be 0 (none) or 10 to 60000".to_string());
        }
        if self.completed_at_skew_seconds > 604_800 {
            layers
                .problem(format!("completed_at_skew_seconds = {} must be 0 to 604800", self.completed_at_skew_seconds));
        }
        for (key, limit) in [
            ("http_header_timeout_ms", self.http_header_timeout),
            ("http_body_timeout_ms", self.http_body_timeout),
            ("database_acquire_timeout_ms", self.database_acquire_timeout),
            ("database_connect_timeout_ms", self.database_connect_timeout),
        ] {
            if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&limit) {
                layers.problem(format!("{key} = {} must be 100 to 600000", limit.as_millis()));
            }
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&self.http_idle_timeout) {
            let ms = self.http_idle_timeout.as_millis();
            layers.problem(format!("http_idle_timeout_ms = {ms} must be 100 to 3600000"));
        }
        if self.chapter_retention_days > 36_500 {
            layers.problem(format!("chapter_retention_days = {} must be 0 to 36500", self.chapter_retention_days));
        }
        if !(1..=1000).contains(&self.database_pool_size) {
            layers.problem(format!("database_pool_size = {} must be 1 to 1000", self.database_pool_size));
        }
        if self.peer_years_back > 5 {
            layers.problem(format!("peer_years_back = {} must be 0 to 5", self.peer_years_back));
        }
        if self.webhook_timeout.is_zero() || self.webhook_timeout > Duration::from_secs(60) {
            layers.problem("webhook_timeout_seconds must be 1 to 60".to_string());
        }
        self.check_connections(layers, env);
    }

    /// The checks of the webhook proxy, the trace collector, the disclosure threshold, the
    /// database URL and the models folder.
    fn check_connections(&self, layers: &mut Layers, env: &impl Fn(&str) -> Option<String>) {
        if let Some(proxy) = &self.webhook_proxy
            && !proxy
                .parse::<http::Uri>()
                .is_ok_and(|u| u.scheme_str() == Some("http") && u.host().is_some_and(|h| !h.is_empty()))
        {
            layers.problem(format!("webhook_proxy = `{proxy}` is not an http://HOST:PORT URL"));
        }
        let public = &self.public_url;
        if !public.is_empty()
            && !public.parse::<http::Uri>().is_ok_and(|u| {
                matches!(u.scheme_str(), Some("http" | "https"))
                    && u.host().is_some_and(|h| !h.is_empty())
                    && u.query().is_none()
            })
        {
            layers.problem(format!("public_url = `{public}` is not an http(s)://HOST[:PORT][/PATH] URL"));
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            for problem in telemetry::otel::check_environment(endpoint, env) {
                layers.problem(problem);
            }
        }
        if self.disclosure_k < MIN_DISCLOSURE_K {
            layers.problem(format!(
                "disclosure_k = {} is below the minimum of {MIN_DISCLOSURE_K}: smaller peer groups could identify firms",
                self.disclosure_k
            ));
        }
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            layers.problem("database_url must start with sqlite:, postgres:// or postgresql://".to_string());
        }
        // The driver trusts the public certificate authorities besides `sslrootcert`; without the
        // host name check of verify-full, any publicly trusted certificate would then pass.
        if url.starts_with("postgres") && ssl_mode(url, env).is_some_and(|m| m == "verify-ca") {
            layers.problem(
                "database_url: sslmode=verify-ca is not supported (the driver also trusts the public certificate authorities, so without the host name check any publicly trusted certificate would pass); use sslmode=verify-full".to_string(),
            );
        }
        if let Some(dir) = &self.models_dir
            && !dir.is_dir()
        {
            layers.problem(format!("models_dir `{}` is not a directory", dir.display()));
        }
    }
}

/// The layers of the configuration: defaults, the file, the environment (through `env`), the flags.
fn layers(args: &ServeArgs, env: &impl Fn(&str) -> Option<String>) -> Layers {
    let file = args.global.config.clone().or_else(|| env("MATURITY_CONFIG").map(PathBuf::from));
    // DATABASE_URL, the common convention, counts as the environment layer too.
    let database_env = env("DATABASE_URL");
    // So is OpenTelemetry's standard variable for the collector.
    let otlp_env = env("OTEL_EXPORTER_OTLP_ENDPOINT");
    let layers = Layers::new(KEYS)
        .file(file.as_deref())
        .env_alias("database_url", "DATABASE_URL", database_env)
        .env_alias("otlp_endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", otlp_env)
        .env(env)
        .flag("chapter_retention_days", args.chapter_retention_days.as_ref())
        .flag("pseudonym_key_file", args.key.pseudonym_key_file.as_ref().map(|p| p.display()));
    args.server.flags(args.global.flags(layers))
}

impl GlobalArgs {
    /// `layers` with these flags on top.
    fn flags(&self, layers: Layers) -> Layers {
        layers
            .flag("models_dir", self.models_dir.as_ref().map(|p| p.display()))
            .flag("log_format", self.log_format.as_ref())
            .flag("log_level", self.log_level.as_ref())
            .flag("database_url", self.database_url.as_ref())
            .flag("database_pool_size", self.database_pool_size.as_ref())
            .flag("database_acquire_timeout_ms", self.database_acquire_timeout_ms.as_ref())
            .flag("database_connect_timeout_ms", self.database_connect_timeout_ms.as_ref())
            .flag("migrate_on_start", self.migrate_on_start.as_ref())
            .flag("disclosure_k", self.disclosure_k.as_ref())
            .flag("otlp_endpoint", self.otlp_endpoint.as_ref())
            .flag("peer_years_back", self.peer_years_back.as_ref())
    }
}

impl ServerArgs {
    /// `layers` with these flags on top.
    fn flags(&self, layers: Layers) -> Layers {
        layers
            .flag("grpc_addr", self.grpc_addr.as_ref())
            .flag("http_addr", self.http_addr.as_ref())
            .flag("admin_addr", self.admin_addr.as_ref())
            .flag("drain_seconds", self.drain_seconds.as_ref())
            .flag("operator_token_file", self.operator_token_file.as_ref().map(|p| p.display()))
            .flag("auth", self.auth.as_ref())
            .flag("tenant_rate_limit", self.tenant_rate_limit.as_ref())
            .flag("tls_cert_file", self.tls_cert_file.as_ref().map(|p| p.display()))
            .flag("tls_key_file", self.tls_key_file.as_ref().map(|p| p.display()))
            .flag("webhook_ca_file", self.webhook_ca_file.as_ref().map(|p| p.display()))
            .flag("webhook_timeout_seconds", self.webhook_timeout_seconds.as_ref())
            .flag("webhook_allow_private_networks", self.webhook_allow_private_networks.as_ref())
            .flag("webhook_proxy", self.webhook_proxy.as_ref())
            .flag("public_url", self.public_url.as_ref())
            .flag("max_in_flight", self.max_in_flight.as_ref())
            .flag("max_submits_in_flight", self.max_submits_in_flight.as_ref())
            .flag("publish_interval_ms", self.publish_interval_ms.as_ref())
            .flag("sqlite_checkpoint_ms", self.sqlite_checkpoint_ms.as_ref())
            .flag("completed_at_skew_seconds", self.completed_at_skew_seconds.as_ref())
            .flag("http_header_timeout_ms", self.http_header_timeout_ms.as_ref())
            .flag("http_idle_timeout_ms", self.http_idle_timeout_ms.as_ref())
            .flag("http_body_timeout_ms", self.http_body_timeout_ms.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use clap::Args;

    use super::*;

    /// The keys of the first Markdown table in `text` whose header begins `| key`: each row's
    /// first cell, backticked names separated by commas; with the row's second cell.
    fn table_keys(text: &str) -> Vec<(String, String)> {
        let mut rows = text
            .lines()
            .map(|l| l.trim_start_matches("//!").trim())
            .skip_while(|l| !l.starts_with("| key"))
            .skip(2)
            .take_while(|l| l.starts_with('|'));
        let mut out = Vec::new();
        for row in rows.by_ref() {
            let cells: Vec<&str> = row.split(" | ").collect();
            for key in cells[0].trim_start_matches("| ").split(", ") {
                out.push((key.trim_matches('`').to_string(), cells[1].to_string()));
            }
        }
        out
    }

    #[test]
    fn the_readme_and_this_module_list_exactly_the_keys_the_program_reads_each_with_its_flag() {
        let mut keys: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
        keys.sort();
        let readme = table_keys(include_str!("../../../README.md"));
        let mut listed: Vec<String> = readme.iter().map(|(k, _)| k.clone()).collect();
        listed.sort();
        assert_eq!(listed, keys, "the README's configuration table");
        for (key, env) in &readme {
            let var = format!("MATURITY_{}", key.to_uppercase());
            assert!(env.contains(&var), "the README names no {var} for {key}: {env}");
        }
        let mut documented: Vec<String> = table_keys(include_str!("settings.rs")).into_iter().map(|(k, _)| k).collect();
        documented.sort();
        assert_eq!(documented, keys, "the table at the top of settings.rs");
        // Every key but the file's own name is a flag of one group (`chapter_retention_days` is
        // `report-gen nightly`'s own).
        let command =
            ServerArgs::augment_args(KeyArgs::augment_args(GlobalArgs::augment_args(clap::Command::new("x"))));
        let mut flags: Vec<String> =
            command.get_arguments().filter_map(|a| a.get_long()).map(|l| l.replace('-', "_")).collect();
        flags.retain(|f| f != "config");
        flags.push("chapter_retention_days".into());
        flags.sort();
        assert_eq!(flags, keys, "the flags");
    }

    #[test]
    fn defaults_without_any_layer() {
        let c = ServeConfig::load(&ServeArgs::default(), |_| None).unwrap();
        assert_eq!(c.grpc_addr.to_string(), DEFAULT_GRPC_ADDR);
        assert_eq!(c.admin_addr, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(c.drain, Duration::from_secs(10));
        assert!(c.models_dir.is_none());
        assert_eq!(c.sqlite_checkpoint, Some(Duration::from_millis(50)));
    }

    #[test]
    fn the_sqlite_checkpointer_is_turned_off_with_zero_and_bounded_otherwise() {
        let with = |v: &'static str| move |k: &str| (k == "MATURITY_SQLITE_CHECKPOINT_MS").then(|| v.to_string());
        assert_eq!(ServeConfig::load(&ServeArgs::default(), with("0")).unwrap().sqlite_checkpoint, None);
        assert_eq!(
            ServeConfig::load(&ServeArgs::default(), with("250")).unwrap().sqlite_checkpoint,
            Some(Duration::from_millis(250))
        );
        for bad in ["5", "60001", "-1", "often"] {
            let err = ServeConfig::load(&ServeArgs::default(), with(bad)).unwrap_err();
            assert!(err.0.iter().any(|p| p.contains("sqlite_checkpoint_ms")), "{bad}: {err}");
        }
    }

    #[test]
    fn sslmode_verify_ca_is_refused_and_verify_full_accepted() {
        let with = |url: &'static str| move |k: &str| (k == "DATABASE_URL").then(|| url.to_string());
        let err = ServeConfig::load(
            &ServeArgs::default(),
            with("postgres://u@db:5432/m?sslmode=verify-ca&sslrootcert=/ca.pem"),
        )
        .unwrap_err();
        assert!(err.0.iter().any(|p| p.contains("verify-ca is not supported")), "{err}");
        let ok = ServeConfig::load(
            &ServeArgs::default(),
            with("postgres://u@db:5432/m?sslmode=verify-full&sslrootcert=/ca.pem"),
        );
        assert!(ok.is_ok());
        // Written as the driver would still read it: another case, percent-encoded, the other key
        // name, or the PostgreSQL environment variable.
        for url in ["postgres://u@db/m?sslmode=VERIFY-CA", "postgres://u@db/m?ssl-mode=verify%2Dca"] {
            let err = ServeConfig::load(&ServeArgs::default(), with(url)).unwrap_err();
            assert!(err.0.iter().any(|p| p.contains("verify-ca is not supported")), "{url}: {err}");
        }
        let env = |k: &str| match k {
            "DATABASE_URL" => Some("postgres://u@db/m".to_string()),
            "PGSSLMODE" => Some("verify-ca".to_string()),
            _ => None,
        };
        assert!(ServeConfig::load(&ServeArgs::default(), env).is_err());
    }

    #[test]
    fn every_bad_value_is_reported() {
        let args = ServeArgs {
            global: GlobalArgs { models_dir: Some("/no/such/dir".into()), ..GlobalArgs::default() },
            server: ServerArgs {
                grpc_addr: Some("localhost".into()),
                webhook_proxy: Some("socks5://proxy:1080".into()),
                ..ServerArgs::default()
            },
            ..ServeArgs::default()
        };
        let env = |k: &str| match k {
            "MATURITY_LOG_FORMAT" => Some("yaml".to_string()),
            "MATURITY_DRAIN_SECONDS" => Some("-1".to_string()),
            _ => None,
        };
        let err = ServeConfig::load(&args, env).unwrap_err();
        assert_eq!(err.0.len(), 5, "{err}");
        assert!(
            err.0.iter().any(|p| p.contains("webhook_proxy = `socks5://proxy:1080` is not an http://HOST:PORT URL"))
        );
        let server = ServerArgs { webhook_proxy: Some("http://egress.internal:3128".into()), ..ServerArgs::default() };
        let proxied = ServeArgs { server, ..ServeArgs::default() };
        let config = ServeConfig::load(&proxied, |_| None).unwrap();
        assert_eq!(config.webhook_proxy.as_deref(), Some("http://egress.internal:3128"));
    }
}
