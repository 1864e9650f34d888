//! Shared start-up steps of the binaries: argument parsing with the product's exit codes.

use std::process::ExitCode;

use crate::EXIT_CONFIG;

/// Parses the command line; `--help` and `--version` exit 0, bad usage exits `EXIT_CONFIG` (64).
pub fn parse<T: clap::Parser>() -> Result<T, ExitCode> {
    match T::try_parse() {
        Ok(t) => Ok(t),
        Err(e) => {
            let _ = e.print();
            Err(if e.use_stderr() { ExitCode::from(EXIT_CONFIG as u8) } else { ExitCode::SUCCESS })
        }
    }
}
