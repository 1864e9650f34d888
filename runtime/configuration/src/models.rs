//! Loading the model registry for a server: the built-in model files, or every `*.toml` under a
//! configured directory. This is the I/O half of `domain_model::ModelRegistry`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::settings::{ServeArgs, ServeConfig};
use crate::{EXIT_CONFIG, EXIT_DATA};
use anyhow::Context;
use domain_model::ModelRegistry;

/// The start-up steps every serving binary shares: configuration from file, environment and
/// flags (exit 64 on any bad value), tracing, then the models (exit 65 on a bad model file).
/// `program` prefixes the messages on stderr.
pub fn start_up(program: &str, args: &ServeArgs) -> Result<(ServeConfig, Arc<ModelRegistry>), ExitCode> {
    let config = ServeConfig::load(args, |k| std::env::var(k).ok()).map_err(|e| {
        eprintln!("{program}: {e}");
        ExitCode::from(EXIT_CONFIG as u8)
    })?;
    let export = config.otlp_endpoint.as_ref().map(|e| (e, program));
    telemetry::init_with_export(config.log_format, &config.log_level, export).map_err(|e| {
        eprintln!("{program}: otlp_endpoint: {e}");
        ExitCode::from(EXIT_CONFIG as u8)
    })?;
    let registry = load_registry(config.models_dir.as_deref()).map_err(|e| {
        eprintln!("{program}: {e:#}");
        ExitCode::from(EXIT_DATA as u8)
    })?;
    Ok((config, Arc::new(registry)))
}

/// The built-in models, or those in `dir` when given. Every problem in every file is reported.
pub fn load_registry(dir: Option<&Path>) -> anyhow::Result<ModelRegistry> {
    let Some(dir) = dir else {
        return ModelRegistry::builtin().context("while loading the built-in model files");
    };
    let mut files = Vec::new();
    collect(dir, &mut files).with_context(|| format!("while reading the model directory {}", dir.display()))?;
    files.sort();
    let mut sources = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).with_context(|| format!("while reading {}", path.display()))?;
        sources.push((path.display().to_string(), text));
    }
    if sources.is_empty() {
        anyhow::bail!("the model directory {} holds no *.toml model files", dir.display());
    }
    ModelRegistry::from_sources(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .with_context(|| format!("while loading the model files under {}", dir.display()))
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}
