//! `maturity`: the all-in-one binary. Thin: parse the command, load config, set up tracing, bind,
//! and hand over to the library.
//!
//! Subcommands: `serve` (every gRPC service on one port), `demo` (score the sample assessment
//! against a running server and print a summary), `run` (both: what `make run` calls).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use domain_model::Locale;
use services_common::serve::ServeArgs;
use services_common::server::ServerSettings;
use services_common::{EXIT_DATA, cli, shutdown, telemetry};
use services_maturity::{AppState, demo, sample};

/// The social maturity product, all services in one process.
#[derive(Debug, clap::Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve every gRPC service of the product on one port.
    Serve(ServeArgs),
    /// Score an assessment against a running server and print a summary.
    Demo(DemoArgs),
    /// Serve, run the demo job against the server, then keep serving until Ctrl-C.
    Run {
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        demo: DemoOptions,
    },
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    server: String,
    #[command(flatten)]
    options: DemoOptions,
}

#[derive(Debug, clap::Args)]
struct DemoOptions {
    /// Assessment file (see examples/sample-assessment.toml); the built-in synthetic sample when absent.
    #[arg(long, value_name = "FILE")]
    assessment: Option<PathBuf>,
    /// Language of the summary: nl or en.
    #[arg(long, default_value = "nl")]
    lang: Locale,
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli: Cli = match cli::parse() {
        Ok(c) => c,
        Err(code) => return code,
    };
    match cli.command {
        Command::Serve(args) => start(&args, None),
        Command::Run { serve, demo } => start(&serve, Some(demo)),
        Command::Demo(args) => {
            telemetry::init(Default::default(), "warn");
            let sample = match load_sample(&args.options) {
                Ok(s) => s,
                Err(e) => return fail(EXIT_DATA, &e),
            };
            match runtime().and_then(|rt| rt.block_on(run_demo(&args.server, &sample, args.options.lang))) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(1, &e),
            }
        }
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

async fn run_demo(server: &str, sample: &sample::SampleAssessment, lang: Locale) -> anyhow::Result<String> {
    let channel = demo::connect(server, Duration::from_secs(30)).await?;
    let (model, result) = demo::score(channel, sample, lang).await?;
    Ok(demo::summary(&sample.firm_name, &model, &result, lang, server))
}

/// `serve`, and `run` when `demo` is given.
fn start(args: &ServeArgs, demo: Option<DemoOptions>) -> ExitCode {
    let (config, registry) = match services_scoring::models::start_up("maturity", args) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let sample = match demo.as_ref().map(load_sample).transpose() {
        Ok(s) => s,
        Err(e) => return fail(EXIT_DATA, &e),
    };
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind(config.grpc_addr)
                .await
                .with_context(|| format!("cannot listen on {}", config.grpc_addr))?;
            let addr = listener.local_addr()?;
            println!("maturity: gRPC listening on {addr}");
            let settings = ServerSettings { drain: config.drain };
            let server =
                tokio::spawn(services_maturity::run(listener, AppState { registry }, settings, shutdown::signal()));
            if let (Some(sample), Some(options)) = (sample, demo) {
                let url = format!("http://{addr}");
                match run_demo(&url, &sample, options.lang).await {
                    Ok(text) => print!("{text}"),
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
        Err(e) => fail(1, &e),
    }
}
