//! What every binary does with its command line: parsing with the product's exit codes, shell
//! completion scripts, and `--out -` for standard output.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub use clap_complete::Shell;

use crate::{EXIT_CONFIG, EXIT_FAILED};

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

/// Prints `T`'s completion script for `shell` on standard output, for the binary `name`.
pub fn completions<T: clap::CommandFactory>(shell: Shell, name: &str) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut T::command(), name, &mut script);
    match std::io::stdout().lock().write_all(&script) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: cannot write the completion script: {e}");
            ExitCode::from(EXIT_FAILED as u8)
        }
    }
}

/// Whether `out` names standard output (`-`) rather than a file.
pub fn is_stdout(out: &Path) -> bool {
    out.as_os_str() == "-"
}

/// Writes `bytes` to standard output, flushed: the `--out -` of a command that writes a file.
pub fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()
}
