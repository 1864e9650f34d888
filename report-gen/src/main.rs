//! `report-gen`: chapters from the command line. `render` writes one assessment's chapter (PDF or
//! the generated Typst source); `nightly` runs the night's batch; `templates` exports the
//! built-in templates for a consultancy to edit (and `--templates DIR` uses the edited ones);
//! `export` writes a year's published benchmark figures as CSV or Parquet (docs/open-figures.md);
//! `sector` writes a sector volume from published figures only.
//!
//! `--out -` writes the chapter, the volume or the figures to standard output (the message then
//! goes to standard error).
//!
//! Exit codes, as for `maturity`: 0 all done, 1 something failed (listed on stderr), 64 bad usage
//! or configuration, 65 a model file that does not validate, 75 the database's schema is not this
//! release's and `migrate_on_start` is false (or a later release migrated it).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use configuration::cli::{is_stdout, write_stdout};
use configuration::settings::{GlobalArgs, ServeArgs, ServeConfig};
use configuration::{EXIT_CONFIG, EXIT_DATA, EXIT_FAILED, EXIT_SCHEMA, cli};
use domain_anonymity::Policy;
use domain_model::Locale;
use report_gen::Templates;
use report_gen::nightly::{self, Options};
use report_gen::render::write_atomic;
use report_gen::{Assembler, Format, Renderer};
use store::time::{date_of, now_us, parse_date};

/// The exit status of a command that failed with `e`.
fn status_of(e: &anyhow::Error) -> ExitCode {
    match e.downcast_ref::<migrations::PrepareError>() {
        Some(migrations::PrepareError::Mismatch(_)) => ExitCode::from(EXIT_SCHEMA as u8),
        _ => ExitCode::from(EXIT_FAILED as u8),
    }
}

/// Chapters of social maturity assessments: one on demand, or the night's batch.
#[derive(Debug, clap::Parser)]
#[command(name = "report-gen", version)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct TemplatesArg {
    /// Folder of edited templates (files there replace the built-in ones of the same name).
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
}

// The options of `report-gen nightly`. Plain comments on these structs: clap would take a doc
// comment for the command's description.
#[derive(Debug, clap::Args)]
struct NightlyArgs {
    /// Output folder: chapters go to OUT/DATE/TENANT/ID.pdf.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The night, YYYY-MM-DD (UTC) [default: today].
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Typesetting threads [default: the cores plus one, which covers the moments a thread
    /// waits for the database or the disk].
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Also write the sector volumes of the latest published year up to the night's, one per
    /// sector with published figures, into OUT/DATE/sectors/SECTION.LANG.pdf (each once).
    #[arg(long)]
    sectors: bool,
    /// Also bind each tenant's chapters of the night into OUT/DATE/TENANT/book.pdf.
    #[arg(long)]
    book: bool,
    /// Language of the chapters: nl or en.
    #[arg(long, default_value = "nl")]
    lang: Locale,
    /// Seconds a claim holds without renewal: a live worker renews its claims four times per
    /// lease, and a dead worker's chapters are taken over this long after its last renewal.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    lease_seconds: u64,
    /// Failed renderings after which an assessment is left for an operator.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_attempts: u32,
    /// This worker's name [default: host and process id].
    #[arg(long, value_name = "NAME")]
    worker: Option<String>,
    /// Days archived chapters are kept, 0 to 36500; 0 keeps them until their assessment is erased
    /// [default: 0].
    #[arg(long, value_name = "DAYS")]
    chapter_retention_days: Option<String>,
    #[command(flatten)]
    templates: TemplatesArg,
}

// The options of `report-gen sector`.
#[derive(Debug, clap::Args)]
struct SectorArgs {
    /// The SBI section (A to U).
    #[arg(long, value_name = "SECTION")]
    section: String,
    /// One size class in it: micro, small, medium or large [default: all sizes].
    #[arg(long, value_name = "SIZE")]
    size: Option<String>,
    /// The benchmark year whose published figures the volume shows.
    #[arg(long, value_name = "YEAR")]
    year: i32,
    /// Language: nl or en.
    #[arg(long, default_value = "nl")]
    lang: Locale,
    /// pdf, or typ for the generated Typst source.
    #[arg(long, value_enum, default_value = "pdf")]
    format: Format,
    /// The model [default: the default model, its latest version].
    #[arg(long, value_name = "ID")]
    model: Option<String>,
    /// The file to write, or `-` for standard output.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    templates: TemplatesArg,
}

// The options of `report-gen export`.
#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// The year (not needed for the dictionary).
    #[arg(long, value_name = "YEAR")]
    year: Option<i32>,
    /// csv, parquet, or dictionary (the data dictionary as CSV).
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// The model [default: the default model].
    #[arg(long, value_name = "ID")]
    model: Option<String>,
    /// The model's version [default: its latest].
    #[arg(long, value_name = "VERSION")]
    model_version: Option<u32>,
    /// The file to write, or `-` for standard output.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write one assessment's chapter.
    Render {
        /// The assessment's id.
        #[arg(long, value_name = "ID")]
        assessment: i64,
        /// Language: nl or en.
        #[arg(long, default_value = "nl")]
        lang: Locale,
        /// pdf, or typ for the generated Typst source.
        #[arg(long, value_enum, default_value = "pdf")]
        format: Format,
        /// The file to write, or `-` for standard output.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        templates: TemplatesArg,
    },
    /// Write one assessment's chapter as PNG images, one per page (DIR/page-01.png, ...), to show
    /// a chapter where a PDF cannot be shown.
    Pages {
        /// The assessment's id.
        #[arg(long, value_name = "ID")]
        assessment: i64,
        /// Language: nl or en.
        #[arg(long, default_value = "nl")]
        lang: Locale,
        /// Pixels per typographic point (1.0 is 72 dpi).
        #[arg(long, default_value_t = 1.5)]
        scale: f64,
        /// The folder to write the pages into (created; earlier page-NN.png files are replaced).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        templates: TemplatesArg,
    },
    /// Render every assessment completed up to the night and not yet reported.
    Nightly(NightlyArgs),
    /// Write a sector volume: where one SBI section (or one size class in it) stands among Dutch
    /// firms, from published figures only (suppressed groups say so).
    Sector(SectorArgs),
    /// Write the published benchmark figures of a year as open data (CSV or Parquet), or their
    /// data dictionary; only published, disclosure-controlled figures (docs/open-figures.md).
    Export(ExportArgs),
    /// Write the built-in templates to a folder, to edit and use with --templates.
    Templates {
        /// The folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: configuration::cli::Shell,
    },
}

/// What `report-gen export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ExportFormat {
    /// RFC 4180 CSV with a header line.
    Csv,
    /// Apache Parquet, the dictionary in its metadata.
    Parquet,
    /// The data dictionary as CSV.
    Dictionary,
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("report-gen: {message}");
    ExitCode::from(EXIT_CONFIG as u8)
}

fn main() -> ExitCode {
    let code = run();
    // Spans still in the exporter's batch go out before the process ends.
    telemetry::otel::flush(Duration::from_secs(5));
    code
}

/// `command` within a span of its own, the root of its trace (exported with `otlp_endpoint`).
fn traced<F: std::future::Future>(command: &'static str, future: F) -> tracing::instrument::Instrumented<F> {
    use tracing::Instrument;
    future.instrument(tracing::info_span!("report-gen", command))
}

fn run() -> ExitCode {
    let cli: Cli = match cli::parse() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let flags = ServeArgs { global: cli.global, ..ServeArgs::default() };
    if let Command::Templates { out } | Command::Pages { out, .. } | Command::Nightly(NightlyArgs { out, .. }) =
        &cli.command
        && is_stdout(out)
    {
        return usage("--out names a folder here; `-` (standard output) is for render, sector and export");
    }
    match cli.command {
        Command::Templates { out } => export_templates(&out),
        Command::Completions { shell } => cli::completions::<Cli>(shell, "report-gen"),
        Command::Sector(args) => sector_command(&flags, args),
        Command::Export(args) => export_command(&flags, args),
        Command::Render { assessment, lang, format, out, templates } => {
            let setup = match Setup::load(&flags, templates.templates.as_deref()) {
                Ok(s) => s,
                Err(code) => return code,
            };
            finish(
                &out,
                runtime().and_then(|rt| rt.block_on(traced("render", render(setup, assessment, lang, format, &out)))),
            )
        }
        Command::Pages { assessment, lang, scale, out, templates } => {
            if !(scale.is_finite() && (0.25..=8.0).contains(&scale)) {
                return usage("--scale must be between 0.25 and 8");
            }
            let setup = match Setup::load(&flags, templates.templates.as_deref()) {
                Ok(s) => s,
                Err(code) => return code,
            };
            finish(
                &out,
                runtime().and_then(|rt| rt.block_on(traced("pages", pages(setup, assessment, lang, scale, &out)))),
            )
        }
        Command::Nightly(args) => nightly_command(flags, args),
    }
}

/// `report-gen export`: the data dictionary, or checks the year and the model and writes the
/// year's figures.
fn export_command(flags: &ServeArgs, args: ExportArgs) -> ExitCode {
    let ExportArgs { year, format, model, model_version, out } = args;
    if format == ExportFormat::Dictionary {
        return finish(
            &out,
            domain_open_figures::dictionary_csv().map_err(anyhow::Error::msg).and_then(|bytes| {
                deliver(&out, &bytes)?;
                Ok(format!("report-gen: wrote the data dictionary to {}", shown(&out)))
            }),
        );
    }
    let Some(year) = year else { return usage("--year is needed for csv and parquet") };
    if !(1900..=2999).contains(&year) {
        return usage("--year must be a year such as 2025");
    }
    let setup = match Setup::load(flags, None) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let model = match setup.registry.resolve(model.as_deref().unwrap_or_default(), model_version.unwrap_or(0)) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    finish(&out, runtime().and_then(|rt| rt.block_on(traced("export", export(setup, &model, year, format, &out)))))
}

/// `report-gen sector`: checks the section and size, then writes the volume.
fn sector_command(flags: &ServeArgs, args: SectorArgs) -> ExitCode {
    let SectorArgs { section, size, year, lang, format, model, out, templates } = args;
    let Some(section) = domain_model::SbiSection::parse(&section) else {
        return usage(format!("--section `{section}` is not an SBI section (A to U)"));
    };
    let size = match size.as_deref().map(domain_model::SizeClass::parse) {
        None => None,
        Some(Some(s)) => Some(s),
        Some(None) => return usage("--size must be micro, small, medium or large"),
    };
    let setup = match Setup::load(flags, templates.templates.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let model = match setup.registry.resolve(model.as_deref().unwrap_or_default(), 0) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let subject = report_gen::volume::Subject { section, size, year };
    finish(
        &out,
        runtime().and_then(|rt| rt.block_on(traced("sector", sector(setup, &model, subject, lang, format, &out)))),
    )
}

/// `report-gen nightly`: checks the options, then runs the night.
fn nightly_command(mut flags: ServeArgs, args: NightlyArgs) -> ExitCode {
    let NightlyArgs {
        out,
        date,
        jobs,
        sectors,
        book,
        lang,
        lease_seconds,
        max_attempts,
        worker,
        chapter_retention_days,
        templates,
    } = args;
    flags.chapter_retention_days = chapter_retention_days;
    let date = match date.as_deref().map(parse_date) {
        None => date_of(now_us()),
        Some(Some(d)) => d,
        Some(None) => return usage("--date must be a calendar date written YYYY-MM-DD"),
    };
    if jobs == Some(0) || lease_seconds == 0 || max_attempts == 0 {
        return usage("--jobs, --lease-seconds and --max-attempts must be at least 1");
    }
    let setup = match Setup::load(&flags, templates.templates.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let options = Options {
        out,
        date,
        jobs: jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()) + 1),
        book,
        locale: lang,
        lease: Duration::from_secs(lease_seconds),
        max_attempts: i32::try_from(max_attempts).unwrap_or(i32::MAX),
        worker: worker.unwrap_or_else(default_worker),
        progress: std::io::stderr().is_terminal(),
    };
    match runtime().and_then(|rt| rt.block_on(traced("nightly", night(setup, options, sectors)))) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("report-gen: {e:#}");
            status_of(&e)
        }
    }
}

/// Prints the message of a command that wrote `out`: on standard output, or on standard error
/// when the document itself went to standard output.
fn finish(out: &std::path::Path, result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(message) if is_stdout(out) => {
            eprintln!("{message}");
            ExitCode::SUCCESS
        }
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("report-gen: {e:#}");
            status_of(&e)
        }
    }
}

fn default_worker() -> String {
    let host =
        std::fs::read_to_string("/proc/sys/kernel/hostname").map_or_else(|_| "host".into(), |h| h.trim().to_string());
    format!("{host}:{}", std::process::id())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("while starting the async runtime")
}

fn export_templates(out: &std::path::Path) -> ExitCode {
    for (name, text) in report_gen::templates::BUILTIN {
        let path = out.join(name);
        if path.exists() {
            return usage(format!("{} exists; not overwriting an edited template", path.display()));
        }
        if let Err(e) = write_atomic(&path, text.as_bytes()) {
            eprintln!("report-gen: cannot write {}: {e}", path.display());
            return ExitCode::from(EXIT_FAILED as u8);
        }
    }
    println!(
        "report-gen: the built-in templates are in {}; use them with --templates {}",
        out.display(),
        out.display()
    );
    ExitCode::SUCCESS
}

/// What every command that reads the database needs.
struct Setup {
    config: ServeConfig,
    registry: Arc<domain_model::ModelRegistry>,
    assembler: Assembler,
    renderer: Arc<Renderer>,
}

impl Setup {
    fn load(flags: &ServeArgs, templates: Option<&std::path::Path>) -> Result<Setup, ExitCode> {
        let config = ServeConfig::load(flags, |k| std::env::var(k).ok()).map_err(usage)?;
        let export = config.otlp_endpoint.as_ref().map(|e| (e, "report-gen"));
        telemetry::init_with_export(config.log_format, &config.log_level, export)
            .map_err(|e| usage(format!("otlp_endpoint: {e}")))?;
        let registry = configuration::models::load_registry(config.models_dir.as_deref()).map_err(|e| {
            eprintln!("report-gen: {e:#}");
            ExitCode::from(EXIT_DATA as u8)
        })?;
        let templates = match templates {
            Some(dir) => Templates::from_dir(dir),
            None => Templates::builtin(),
        }
        .map_err(usage)?;
        let policy = Policy::new(config.disclosure_k).map_err(|e| usage(format!("{e:?}")))?;
        let registry = Arc::new(registry);
        let assembler = Assembler::new(Arc::clone(&registry), policy).map_err(usage)?;
        assembler.set_peer_years_back(config.peer_years_back);
        Ok(Setup { config, registry, assembler, renderer: Arc::new(Renderer::new(templates)) })
    }

    async fn db(&self) -> anyhow::Result<store::DatabaseConnection> {
        let config = &self.config;
        let pool = store::PoolSettings {
            max_connections: config.database_pool_size,
            acquire_timeout: config.database_acquire_timeout,
            connect_timeout: config.database_connect_timeout,
        };
        let db = store::open_with(config.database_url.expose(), pool).await.context("while opening the database")?;
        migrations::prepare(&db, config.migrate_on_start).await.context("while preparing the database schema")?;
        Ok(db)
    }
}

async fn render(setup: Setup, id: i64, lang: Locale, format: Format, out: &std::path::Path) -> anyhow::Result<String> {
    let db = setup.db().await?;
    let stored = store::reports::by_id(&db, id).await?.with_context(|| format!("no assessment {id}"))?;
    let date = date_of(now_us());
    let chapter = setup.assembler.chapter(&db, &stored, lang, date, 1).await?;
    let renderer = Arc::clone(&setup.renderer);
    let ident = format!("assessment-{id}");
    let bytes = tokio::task::spawn_blocking(move || renderer.chapter(&chapter, lang, format, date, &ident))
        .await
        .context("the typesetting task failed")??;
    deliver(out, &bytes)?;
    Ok(format!("report-gen: wrote {} ({} bytes)", shown(out), bytes.len()))
}

async fn pages(setup: Setup, id: i64, lang: Locale, scale: f64, out: &std::path::Path) -> anyhow::Result<String> {
    let db = setup.db().await?;
    let stored = store::reports::by_id(&db, id).await?.with_context(|| format!("no assessment {id}"))?;
    let date = date_of(now_us());
    let chapter = setup.assembler.chapter(&db, &stored, lang, date, 1).await?;
    let renderer = Arc::clone(&setup.renderer);
    let pages = tokio::task::spawn_blocking(move || renderer.chapter_pages(&chapter, lang, date, scale))
        .await
        .context("the typesetting task failed")??;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for old in std::fs::read_dir(out)?.flatten() {
        let name = old.file_name().to_string_lossy().to_string();
        if name.starts_with("page-") && name.ends_with(".png") {
            std::fs::remove_file(old.path()).with_context(|| format!("cannot replace {name}"))?;
        }
    }
    for (i, png) in pages.iter().enumerate() {
        let path = out.join(format!("page-{:02}.png", i + 1));
        write_atomic(&path, png).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(format!("report-gen: wrote {} pages into {}", pages.len(), out.display()))
}

async fn sector(
    setup: Setup,
    model: &domain_model::Model,
    subject: report_gen::volume::Subject,
    lang: Locale,
    format: Format,
    out: &std::path::Path,
) -> anyhow::Result<String> {
    let db = setup.db().await?;
    let date = date_of(now_us());
    let written = format!("{}-{:02}-{:02}", date.0, date.1, date.2);
    let context = setup.assembler.context(subject.section, lang);
    let volume =
        report_gen::volume::assemble(&db, model, setup.config.disclosure_k, subject, lang, written, context).await?;
    let renderer = Arc::clone(&setup.renderer);
    let ident = format!("sector-{}-{}", subject.section.code(), subject.year);
    let (cells, suppressed) = (volume.cells, volume.suppressed);
    let bytes = tokio::task::spawn_blocking(move || renderer.volume(&volume, lang, format, date, &ident))
        .await
        .context("the typesetting task failed")??;
    deliver(out, &bytes)?;
    Ok(format!(
        "report-gen: wrote the sector volume to {} ({} bytes; {cells} cells, {suppressed} suppressed)",
        shown(out),
        bytes.len()
    ))
}

async fn export(
    setup: Setup,
    model: &domain_model::Model,
    year: i32,
    format: ExportFormat,
    out: &std::path::Path,
) -> anyhow::Result<String> {
    let db = setup.db().await?;
    let release = report_gen::export::release(&db, model, year, setup.config.disclosure_k).await?;
    let bytes = match format {
        ExportFormat::Parquet => release.parquet(),
        ExportFormat::Csv | ExportFormat::Dictionary => release.csv(),
    }
    .map_err(anyhow::Error::msg)?;
    deliver(out, &bytes)?;
    Ok(format!(
        "report-gen: wrote {} published groups of {} version {} for {year} ({} rows, k = {}) to {}",
        release.groups.len(),
        model.id,
        model.version,
        release.row_count(),
        release.k,
        shown(out)
    ))
}

/// Writes `bytes` to the file `out`, or to standard output when `out` is `-`.
fn deliver(out: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    if is_stdout(out) {
        write_stdout(bytes).context("cannot write to standard output")
    } else {
        write_atomic(out, bytes).with_context(|| format!("cannot write {}", out.display()))
    }
}

/// How a message names `out`.
fn shown(out: &std::path::Path) -> std::borrow::Cow<'_, str> {
    if is_stdout(out) { "standard output".into() } else { out.display().to_string().into() }
}

/// Peak resident memory of this process, in KiB (Linux; `None` elsewhere).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn night(setup: Setup, options: Options, sectors: bool) -> anyhow::Result<ExitCode> {
    let db = setup.db().await?;
    let label = options.night();
    let volumes = if sectors {
        Some(nightly::sector_volumes(&db, &setup.assembler, &setup.renderer, &options).await?)
    } else {
        None
    };
    let retention = setup.config.chapter_retention_days;
    let summary = nightly::run(db.clone(), setup.assembler, setup.renderer, options).await?;
    if retention > 0 {
        let before = now_us().saturating_sub(i64::from(retention) * 86_400_000_000);
        let pruned = store::archive::prune(&db, before).await.context("while pruning the chapter archive")?;
        if pruned > 0 {
            println!("report-gen: {pruned} archived chapters older than {retention} days removed");
        }
    }
    let secs = summary.elapsed.as_secs_f64();
    println!(
        "report-gen: night {label}: {} chapters written in {secs:.1} s ({:.1} chapters/s), {} failed, peak memory {} MiB{}",
        summary.rendered.len(),
        summary.rendered.len() as f64 / secs.max(0.001),
        summary.failed.len() + summary.given_up.len(),
        peak_rss_kib().map_or_else(|| "?".to_string(), |k| (k / 1024).to_string()),
        if summary.swept > 0 { format!(", {} leftover temporary files removed", summary.swept) } else { String::new() },
    );
    for book in &summary.books {
        println!("report-gen: book {}", book.display());
    }
    for f in summary.failed.iter().chain(&summary.given_up) {
        eprintln!("report-gen: FAILED assessment {} (tenant {}): {}", f.id, f.tenant, f.error);
    }
    if let Some(why) = &summary.stopped {
        eprintln!("report-gen: STOPPED: {why}; the remaining chapters wait for the next run");
    }
    let mut volumes_done = true;
    if let Some(v) = &volumes {
        match v.year {
            None => println!("report-gen: sector volumes: no published figures up to {label}; none written"),
            Some(year) => println!(
                "report-gen: sector volumes of {year}: {} written, {} already there, {} sectors without published figures ({})",
                v.written.len(),
                v.present,
                v.unpublished.len(),
                v.unpublished.join(", ")
            ),
        }
        for (section, error) in &v.failed {
            eprintln!("report-gen: FAILED sector volume {section}: {error}");
        }
        volumes_done = v.failed.is_empty();
    }
    Ok(if summary.all_done() && volumes_done { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILED as u8) })
}
