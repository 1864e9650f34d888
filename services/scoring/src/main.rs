//! `scoring-service`: ScoringService alone, for separate deployment. Thin: config, tracing, the
//! models, bind, `services_scoring::run`.

use std::process::ExitCode;

use configuration::cli;
use configuration::settings::{GlobalArgs, ServeArgs, ServeConfig, ServerArgs};
use services_server::server::{Listeners, ServerSettings};
use services_server::shutdown;

/// ScoringService of the social maturity product (gRPC).
#[derive(Debug, clap::Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    server: ServerArgs,
}

impl Cli {
    fn flags(self) -> ServeArgs {
        ServeArgs { global: self.global, server: self.server, ..ServeArgs::default() }
    }
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Cli = match cli::parse() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let (config, registry) = match configuration::models::start_up("scoring-service", &args.flags()) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let tls = match config.tls() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("scoring-service: {e}");
            return ExitCode::from(configuration::EXIT_CONFIG as u8);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scoring-service: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        // The scoring service speaks gRPC only: no JSON port, whatever http_addr says.
        let listeners = Listeners::bind(&ServeConfig { http_addr: None, ..config.clone() }).await?;
        // Before the first line that says the server listens (see `shutdown::signal`).
        let stop = shutdown::signal();
        println!("scoring-service: gRPC listening on {}", listeners.grpc.local_addr()?);
        if let Some(l) = &listeners.admin {
            println!("scoring-service: operators' port on http://{} (/metrics, /livez, /readyz)", l.local_addr()?);
        }
        let settings = ServerSettings::from_config(&config, tls);
        services_scoring::run(listeners, registry, settings, stop).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("scoring-service: {e:#}");
            ExitCode::FAILURE
        }
    }
}
