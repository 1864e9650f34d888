//! `maturity`: the all-in-one binary. Thin: parse the command, load config, set up tracing, bind,
//! and hand over to the library.
//!
//! Subcommands: `serve` (every gRPC service on one port), `migrate` (apply database
//! migrations), `seed-demo` (load synthetic demo peers), `demo` (submit the sample assessment to a
//! running server and print a summary), `run` (migrate, seed on first start, serve, demo: what
//! `make run` calls).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use configuration::layers::AuthMode;
use configuration::settings::{GlobalArgs, KeyArgs, ServeArgs, ServerArgs};
use configuration::{EXIT_CONFIG, EXIT_DATA, EXIT_FAILED, EXIT_SCHEMA, cli};
use domain_model::Locale;
use services_maturity::{AppState, Opening, demo, sample};
use services_server::server::{Listeners, ServerSettings};
use services_server::shutdown;

/// The social maturity product, all services in one process.
#[derive(Debug, clap::Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    key: KeyArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve every gRPC service of the product on one port.
    Serve(ServerArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load synthetic demo peers (labelled synthetic) into the benchmark store and publish them.
    SeedDemo(SeedOptions),
    /// Score an assessment against a running server and print a summary.
    Demo(DemoArgs),
    /// Serve, run the demo job against the server, then keep serving until Ctrl-C.
    Run {
        // The demo's options first: the serving options carry a heading of their own.
        #[command(flatten)]
        demo: DemoOptions,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Tenants and their API keys (operators only; works on the database directly).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: configuration::cli::Shell,
    },
}

#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// Create a tenant (a consultancy).
    CreateTenant {
        /// Its id: letters, digits, '-' and '_', at most 64.
        id: String,
        /// Its display name.
        #[arg(long)]
        name: String,
    },
    /// List the tenants: id, display name and creation time.
    ListTenants,
    /// Issue an API key for a tenant. The key is printed once and stored only as a hash.
    IssueKey {
        /// The id of an existing tenant.
        tenant: String,
        /// What the key is for (for example the CRM it is configured in).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List API keys (their public prefixes, never the keys).
    ListKeys {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke an API key by its prefix (effective within 5 seconds on every server).
    RevokeKey {
        /// The key's prefix, as listed.
        prefix: String,
    },
}

#[derive(Debug, clap::Args)]
struct SeedOptions {
    /// Number of synthetic firm-years.
    #[arg(long, default_value_t = 20_000)]
    companies: usize,
    /// Seed of the generator: the same seed gives the same firms.
    #[arg(long, default_value_t = 2015)]
    seed: u64,
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    server: String,
    /// API key of the demo tenant (or the environment variable MATURITY_API_KEY); without one the
    /// call names the tenant in `x-tenant-id`, which only a server with `--auth tenant-header` accepts.
    #[arg(long)]
    api_key: Option<String>,
    #[command(flatten)]
    options: DemoOptions,
}

#[derive(Debug, clap::Args)]
struct DemoOptions {
    /// Assessment file (see examples/sample-assessment.toml); the built-in synthetic sample when absent.
    #[arg(long, value_name = "FILE")]
    assessment: Option<PathBuf>,
    /// Language of the summary and the chapter: nl or en.
    #[arg(long, default_value = "nl")]
    lang: Locale,
    /// Folder for the chapter PDF.
    #[arg(long, default_value = "out")]
    out: PathBuf,
}

/// Prints a line on standard output; a closed output (a supervisor that stopped reading) is not
/// a reason to stop serving.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli: Cli = match cli::parse() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let flags = |server: ServerArgs| ServeArgs {
        global: cli.global.clone(),
        key: cli.key.clone(),
        server,
        chapter_retention_days: None,
    };
    match cli.command {
        Command::Serve(server) => start(&flags(server), None),
        Command::Migrate => {
            let mut args = flags(ServerArgs::default());
            // `migrate` is the step that migrates, whatever the configuration says of the others.
            args.global.migrate_on_start = Some("true".into());
            once(&args, |_state| async { Ok("database migrated".to_string()) })
        }
        Command::SeedDemo(seed) => once(&flags(ServerArgs::default()), move |state| async move {
            let seeded = seed_demo(&state, seed.companies, seed.seed).await?;
            Ok(format!(
                "seeded {} synthetic firm-years over {} years (seed {}); every one is labelled synthetic",
                seeded.contributions, seeded.years, seed.seed
            ))
        }),
        Command::Run { server, demo } => start(&flags(server), Some(demo)),
        Command::Admin { command } => administer(&flags(ServerArgs::default()), command),
        Command::Completions { shell } => cli::completions::<Cli>(shell, "maturity"),
        Command::Demo(args) => {
            telemetry::init(Default::default(), "warn");
            let sample = match load_sample(&args.options) {
                Ok(s) => s,
                Err(e) => return fail(EXIT_DATA, &e),
            };
            let key = args.api_key.clone().or_else(|| std::env::var("MATURITY_API_KEY").ok());
            match runtime().and_then(|rt| rt.block_on(run_demo(&args.server, &sample, &args.options, key.as_deref()))) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(EXIT_FAILED, &e),
            }
        }
    }
}

/// The exit status of a command that failed with `e`: EXIT_SCHEMA when the database's schema is
/// not this release's, else 1.
fn status_of(e: &anyhow::Error) -> i32 {
    match e.downcast_ref::<migrations::PrepareError>() {
        Some(migrations::PrepareError::Mismatch(_)) => EXIT_SCHEMA,
        _ => EXIT_FAILED,
    }
}

fn fail(code: i32, e: &anyhow::Error) -> ExitCode {
    eprintln!("maturity: {e:#}");
    ExitCode::from(code as u8)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("while starting the async runtime")
}

fn load_sample(options: &DemoOptions) -> anyhow::Result<sample::SampleAssessment> {
    match &options.assessment {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("while reading {}", path.display()))?;
            sample::parse(&path.display().to_string(), &text)
        }
        None => sample::parse("examples/sample-assessment.toml", sample::BUILTIN),
    }
}

async fn run_demo(
    server: &str,
    sample: &sample::SampleAssessment,
    options: &DemoOptions,
    api_key: Option<&str>,
) -> anyhow::Result<String> {
    let lang = options.lang;
    let channel = demo::connect(server, Duration::from_secs(30)).await?;
    if options.assessment.is_none() {
        // The built-in sample's firm a year earlier, so that its chapter shows the firm's progress.
        let earlier = sample::parse("examples/sample-assessment-v1.toml", sample::BUILTIN_EARLIER)?;
        demo::submit(channel.clone(), &earlier, lang, api_key).await.context("while submitting the earlier sample")?;
    }
    let (model, response) = demo::submit(channel.clone(), sample, lang, api_key).await?;
    let id = response.assessment.as_ref().map_or(0, |a| a.id);
    let path = services_maturity::chapter::fetch(channel, api_key, id, lang, &options.out)
        .await
        .context("while fetching the sample's chapter")?;
    demo::summary(&sample.firm_name, &model, &response, lang, server, Some(&path))
}

async fn seed_demo(
    state: &AppState,
    companies: usize,
    seed: u64,
) -> anyhow::Result<services_persistence::seed::Seeded> {
    let model = state.registry.resolve("", 0).context("no default model")?;
    services_persistence::seed::seed_demo(&state.persistence, &model, companies, seed)
        .await
        .context("while seeding the demo peers")
}

/// Makes sure the demo tenant exists and issues a key for this run's demo job; prints it (once),
/// so that the user can call the running server as the demo tenant.
async fn demo_tenant_key(state: &AppState) -> anyhow::Result<String> {
    use store::tenants;
    let db = state.persistence.db();
    let now = store::time::now_us();
    if tenants::tenant(db, demo::DEMO_TENANT).await?.is_none() {
        tenants::create_tenant(db, demo::DEMO_TENANT, "Demo (synthetic data only)", now).await?;
    }
    let key = tenants::issue_key(db, demo::DEMO_TENANT, "maturity run demo job", now).await?;
    say!("maturity: API key of the demo tenant for this run (shown once): {key}");
    Ok(key)
}

fn date_time(us: i64) -> String {
    let (y, m, d) = store::time::date_of(us);
    let secs = us.div_euclid(1_000_000).rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", secs / 3600, secs / 60 % 60)
}

/// `maturity admin ...`: on the database only (no pseudonym key), which must exist with this
/// release's schema: an operator's command never migrates (`maturity migrate` does).
fn administer(args: &ServeArgs, command: AdminCommand) -> ExitCode {
    let (mut config, _) = match configuration::models::start_up("maturity", args) {
        Ok(started) => started,
        Err(code) => return code,
    };
    config.migrate_on_start = false;
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let db = services_maturity::open_database(&config, Opening::Existing).await?;
            admin(&db, command).await
        })
    });
    match result {
        Ok(message) => {
            say!("maturity: {message}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(status_of(&e), &e),
    }
}

async fn admin(db: &store::DatabaseConnection, command: AdminCommand) -> anyhow::Result<String> {
    use store::tenants;
    let now = store::time::now_us();
    Ok(match command {
        AdminCommand::CreateTenant { id, name } => {
            tenants::create_tenant(db, &id, &name, now).await?;
            format!("tenant `{id}` created")
        }
        AdminCommand::ListTenants => {
            let list = tenants::tenants(db).await?;
            let mut out = format!("{} tenant(s)", list.len());
            for t in list {
                out.push_str(&format!("\n  {:<24} {:<32} created {}", t.id, t.name, date_time(t.created_at_us)));
            }
            out
        }
        AdminCommand::IssueKey { tenant, label } => {
            let key = tenants::issue_key(db, &tenant, &label, now).await?;
            format!(
                "API key for `{tenant}` (shown once; keep it in the CRM's secret store, it cannot be recovered):\n{key}"
            )
        }
        AdminCommand::ListKeys { tenant } => {
            let list = tenants::keys(db, tenant.as_deref()).await?;
            let mut out = format!("{} key(s)", list.len());
            for k in list {
                let state = k.revoked_at_us.map_or("valid".to_string(), |r| format!("revoked {}", date_time(r)));
                out.push_str(&format!(
                    "\n  {}  tenant {:<16} issued {}  {:<28} {}",
                    k.prefix,
                    k.tenant,
                    date_time(k.created_at_us),
                    state,
                    k.label
                ));
            }
            out
        }
        AdminCommand::RevokeKey { prefix } => {
            tenants::revoke_key(db, &prefix, now).await?;
            format!("key {prefix} revoked")
        }
    })
}

/// A one-shot command over the opened (and migrated) database.
fn once<F, Fut>(args: &ServeArgs, job: F) -> ExitCode
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<String>>,
{
    let (config, registry) = match configuration::models::start_up("maturity", args) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let state = AppState::open(&config, registry).await?;
            job(state).await
        })
    });
    match result {
        Ok(message) => {
            say!("maturity: {message}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(status_of(&e), &e),
    }
}

/// Loads the demo peers when the benchmark holds no contribution yet (`maturity run`).
async fn seed_on_first_start(state: &AppState) -> anyhow::Result<()> {
    let model = state.registry.resolve("", 0).context("no default model")?;
    if !services_persistence::seed::has_contributions(state.persistence.db(), &model).await? {
        say!("maturity: first start: loading 20 000 synthetic demo peers (labelled synthetic)...");
        let seeded = seed_demo(state, 20_000, 2015).await?;
        say!("maturity: {} synthetic firm-years over {} years loaded", seeded.contributions, seeded.years);
    }
    Ok(())
}

/// Says where each port listens (the first line names the gRPC address, which scripts and tests
/// read), and returns the gRPC address.
fn announce(listeners: &Listeners, tls: bool) -> anyhow::Result<std::net::SocketAddr> {
    let addr = listeners.grpc.local_addr()?;
    let secure = if tls { " (TLS)" } else { "" };
    say!("maturity: gRPC listening on {addr}{secure}");
    if let Some(l) = &listeners.http {
        let scheme = if tls { "https" } else { "http" };
        say!("maturity: JSON over HTTP listening on {scheme}://{} (OpenAPI at /openapi.json)", l.local_addr()?);
    }
    if let Some(l) = &listeners.admin {
        say!("maturity: operators' port on http://{} (/metrics, /livez, /readyz)", l.local_addr()?);
    }
    Ok(addr)
}

/// `serve`, and `run` when `demo` is given.
fn start(args: &ServeArgs, demo: Option<DemoOptions>) -> ExitCode {
    let (config, registry) = match configuration::models::start_up("maturity", args) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let sample = match demo.as_ref().map(load_sample).transpose() {
        Ok(s) => s,
        Err(e) => return fail(EXIT_DATA, &e),
    };
    let tls = match config.tls() {
        Ok(t) => t,
        Err(e) => return fail(EXIT_CONFIG, &anyhow::anyhow!("{e}")),
    };
    if tls.is_some() && demo.is_some() {
        let e = anyhow::anyhow!("`maturity run` is the local plain-text demo; serve with TLS through `maturity serve`");
        return fail(EXIT_CONFIG, &e);
    }
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let state = AppState::open(&config, registry).await?;
            if demo.is_some() {
                seed_on_first_start(&state).await?;
            }
            // The demo job calls as the demo tenant, with a key of its own when keys are required.
            let demo_key = match (&demo, config.auth) {
                (Some(_), AuthMode::Keys) => Some(demo_tenant_key(&state).await?),
                _ => None,
            };
            let listeners = Listeners::bind(&config).await?;
            // Before the first line that says the server listens (see `shutdown::signal`).
            let stop = shutdown::signal();
            let addr = announce(&listeners, tls.is_some())?;
            let settings = ServerSettings::from_config(&config, tls);
            let server = tokio::spawn(services_maturity::run(listeners, state, settings, stop));
            if let (Some(sample), Some(options)) = (sample, demo) {
                let url = format!("http://{addr}");
                match run_demo(&url, &sample, &options, demo_key.as_deref()).await {
                    Ok(text) => {
                        use std::io::Write as _;
                        let _ = write!(std::io::stdout(), "{text}");
                    }
                    Err(e) => {
                        server.abort();
                        return Err(e.context("the demo job failed"));
                    }
                }
            }
            server.await.context("the server task failed")?
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(status_of(&e), &e),
    }
}
