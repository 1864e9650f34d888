//! The nightly batch: every assessment completed up to the night's date and not yet reported
//! becomes `OUT/DATE/TENANT/ID.pdf`. Work is claimed a few chapters at a time with a lease (see
//! `store::reports`), so that several workers, on one machine or several, share a
//! night against one PostgreSQL: none renders what another holds, a live worker renews its
//! leases while it renders, and what a dead worker held is taken over one lease after its last
//! renewal. Typesetting runs on `jobs` threads; every file is written
//! atomically and durably before its status is recorded, so that a crash at any point leaves
//! either no file and a waiting status, or the complete file (and, at worst, a waiting status
//! that the next run settles by writing the same bytes again).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::chapter::Book;
use crate::figures::date_text;
use domain_model::Locale;
use store::reports::{self, Night};
use store::time::now_us;
use store::{DatabaseConnection, StoredAssessment};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::assemble::Assembler;
use crate::render::{Format, Renderer, sweep_temporaries, write_atomic};

/// How a night runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Output folder; chapters go to `out/DATE/TENANT/ID.pdf`.
    pub out: PathBuf,
    /// The night's date (year, month, day): assessments completed before its end are due.
    pub date: (i32, u32, u32),
    /// Typesetting threads.
    pub jobs: usize,
    /// Also bind each tenant's chapters of the night into `out/DATE/TENANT/book.pdf`.
    pub book: bool,
    /// Language of the chapters.
    pub locale: Locale,
    /// How long a claim holds before another worker may take it over.
    pub lease: Duration,
    /// Failed renderings after which an assessment is left for an operator.
    pub max_attempts: i32,
    /// This worker's name (unique among the night's workers).
    pub worker: String,
    /// Show a progress line (on a terminal) instead of a log line per chapter.
    pub progress: bool,
}

impl Options {
    /// `YYYY-MM-DD` of the night.
    pub fn night(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.date.0, self.date.1, self.date.2)
    }
}

/// One chapter that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The assessment.
    pub id: i64,
    /// The assessment's tenant.
    pub tenant: String,
    /// Why.
    pub error: String,
}

/// What a night did (this worker's share of it).
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Chapters this worker wrote, with their paths.
    pub rendered: Vec<(i64, PathBuf)>,
    /// Chapters that failed in this run (and may be retried).
    pub failed: Vec<Failure>,
    /// Assessments of the night that failed for good (no attempts left), whoever tried them.
    pub given_up: Vec<Failure>,
    /// An output failure that stopped the batch: the rest waits for the next run.
    pub stopped: Option<String>,
    /// Books written.
    pub books: Vec<PathBuf>,
    /// Leftover temporary files of killed runs that were removed.
    pub swept: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// Whether everything due is done.
    pub fn all_done(&self) -> bool {
        self.failed.is_empty() && self.given_up.is_empty() && self.stopped.is_none()
    }
}

/// Why a night could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum NightlyError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The date has no end (out of range).
    #[error("the date {0} is out of range")]
    Date(String),
}

enum Outcome {
    Rendered {
        id: i64,
        path: PathBuf,
    },
    Failed(Failure),
    /// The output could not be written: not the chapter's fault; the claim is given back.
    Output {
        id: i64,
        error: String,
    },
    /// Another worker took the chapter over (this one's lease ran out before it could renew).
    Lost {
        id: i64,
    },
}

/// How old a temporary file must be before a batch removes it as left behind by a killed writer:
/// far longer than any write takes, whatever the lease.
const TEMPORARY_AGE: Duration = Duration::from_secs(600);

/// The assessments this worker's tasks hold now: what its lease renewal extends. A task leaves
/// it however it ends (a panic included), so that a chapter no task works on any more is not
/// renewed and its lease runs out.
#[derive(Clone, Default)]
struct InHand(Arc<std::sync::Mutex<std::collections::BTreeSet<i64>>>);

impl InHand {
    fn ids(&self) -> Vec<i64> {
        self.0.lock().map(|set| set.iter().copied().collect()).unwrap_or_default()
    }
}

/// One task's hold on its assessment in `InHand`, released when the task ends.
struct Held(InHand, i64);

impl Held {
    fn new(in_hand: &InHand, id: i64) -> Held {
        if let Ok(mut set) = in_hand.0.lock() {
            set.insert(id);
        }
        Held(in_hand.clone(), id)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut set) = (self.0).0.lock() {
            set.remove(&self.1);
        }
    }
}

/// Aborts the task when dropped: the lease renewal stops however `run` returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Everything a chapter's rendering needs, shared by the tasks.
struct Shared {
    db: DatabaseConnection,
    assembler: Assembler,
    renderer: Arc<Renderer>,
    options: Options,
    cpu: Semaphore,
}

fn relative(options: &Options, a: &StoredAssessment) -> String {
    format!("{}/{}/{}.pdf", options.night(), a.tenant, a.id)
}

async fn process(shared: Arc<Shared>, a: StoredAssessment) -> Outcome {
    let o = &shared.options;
    let fail = |error: String| Failure { id: a.id, tenant: a.tenant.clone(), error };
    let chapter = match shared.assembler.chapter(&shared.db, &a, o.locale, o.date, 1).await {
        Ok(c) => c,
        Err(e) => {
            let error = e.to_string();
            if let Err(e) = reports::mark_failed(&shared.db, a.id, &o.worker, &error, now_us()).await {
                tracing::warn!(id = a.id, error = %e, "could not record a failure");
            }
            return Outcome::Failed(fail(error));
        }
    };
    let rel = relative(o, &a);
    let path = o.out.join(&rel);
    // Typesetting holds one of the `jobs` CPU permits; writing (and its fsyncs) does not, so that
    // a thread waiting on the disk never leaves a core idle.
    let typeset = {
        let Ok(_permit) = shared.cpu.acquire().await else {
            return Outcome::Output { id: a.id, error: "the batch is shutting down".into() };
        };
        let renderer = Arc::clone(&shared.renderer);
        let (locale, date, ident) = (o.locale, o.date, format!("assessment-{}", a.id));
        tokio::task::spawn_blocking(move || renderer.chapter(&chapter, locale, Format::Pdf, date, &ident)).await
    };
    // A worker stopped for longer than its lease (suspended, starved) may have lost the chapter
    // to another: then the other writes it, this one does not.
    match reports::holds(&shared.db, a.id, &o.worker).await {
        Ok(true) => {}
        Ok(false) => return Outcome::Lost { id: a.id },
        Err(e) => return Outcome::Output { id: a.id, error: format!("cannot check the claim: {e}") },
    }
    let written = match typeset {
        Ok(Ok(pdf)) => {
            let target = path.clone();
            match tokio::task::spawn_blocking(move || write_atomic(&target, &pdf).map(|()| pdf)).await {
                Ok(Ok(pdf)) => Ok(Ok(pdf)),
                Ok(Err(e)) => Ok(Err((false, format!("cannot write {}: {e}", path.display())))),
                Err(join) => Err(join),
            }
        }
        Ok(Err(e)) => Ok(Err((true, e.to_string()))),
        Err(join) => Err(join),
    };
    match written {
        Ok(Ok(pdf)) => {
            match reports::mark_rendered(&shared.db, &a, &rel, &o.night(), o.locale.tag(), &pdf, now_us()).await {
                Ok(()) => Outcome::Rendered { id: a.id, path },
                // The file is durable; the next run finds the status waiting and writes the same bytes.
                Err(e) => Outcome::Output { id: a.id, error: format!("chapter written but status not recorded: {e}") },
            }
        }
        Ok(Err((true, error))) => {
            if let Err(e) = reports::mark_failed(&shared.db, a.id, &o.worker, &error, now_us()).await {
                tracing::warn!(id = a.id, error = %e, "could not record a failure");
            }
            Outcome::Failed(fail(error))
        }
        Ok(Err((false, error))) => Outcome::Output { id: a.id, error },
        Err(join) => {
            let error = format!("typesetting panicked: {join}");
            let _ = reports::mark_failed(&shared.db, a.id, &o.worker, &error, now_us()).await;
            Outcome::Failed(fail(error))
        }
    }
}

/// The progress bar of a night on a terminal: chapters done of those due, the rate, the time
/// left, and the failures so far; log lines are written above it.
fn progress_bar(due: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(due);
    let style = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} chapters · {per_sec} · ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    let around = bar.clone();
    telemetry::set_log_around(Some(Arc::new(move |write: &mut dyn FnMut()| around.suspend(write))));
    bar
}

/// Counts an outcome on the bar; the total follows what is known to be due (other workers' share
/// and assessments that arrive during the night included).
fn advance(bar: &indicatif::ProgressBar, s: &Summary, in_hand: usize, waiting: u64) {
    let done = (s.rendered.len() + s.failed.len()) as u64;
    bar.set_length(bar.length().unwrap_or(0).max(done + in_hand as u64 + waiting));
    bar.set_position(done);
    if !s.failed.is_empty() {
        bar.set_message(format!("· {} failed", s.failed.len()));
    }
}

/// Runs this worker's share of a night until nothing due is left (waiting out other workers'
/// leases, so that a dead worker's chapters are still written), or an output failure stops it.
pub async fn run(
    db: DatabaseConnection,
    assembler: Assembler,
    renderer: Arc<Renderer>,
    options: Options,
) -> Result<Summary, NightlyError> {
    let started = Instant::now();
    let (y, m, d) = options.date;
    let end = store::time::start_of(y, m, d)
        .and_then(|s| s.checked_add(86_400_000_000))
        .ok_or_else(|| NightlyError::Date(options.night()))?;
    let night = Night { completed_before_us: end, max_attempts: options.max_attempts };
    let mut summary = Summary {
        swept: sweep_temporaries(&options.out.join(options.night()), TEMPORARY_AGE).len(),
        ..Summary::default()
    };
    let jobs = options.jobs.max(1);
    let shared =
        Arc::new(Shared { db: db.clone(), assembler, renderer, options: options.clone(), cpu: Semaphore::new(jobs) });
    let lease_us = i64::try_from(options.lease.as_micros()).unwrap_or(i64::MAX);
    let in_hand = InHand::default();
    let _renewing =
        AbortOnDrop(tokio::spawn(renew_leases(db.clone(), options.worker.clone(), options.lease, in_hand.clone())));
    let mut tasks: JoinSet<Outcome> = JoinSet::new();
    let mut waiting = 0;
    let bar = if options.progress {
        Some(progress_bar(reports::outstanding(&db, &night, now_us()).await?.waiting))
    } else {
        None
    };
    loop {
        // Keep three chapters in hand per thread: one typesetting, one being assembled or
        // written, one ready.
        let room = (3 * jobs).saturating_sub(tasks.len());
        if summary.stopped.is_none() && room > 0 {
            let now = now_us();
            let claimed = reports::claim(&db, &night, &options.worker, now, now + lease_us, room as u64).await?;
            for a in claimed {
                use tracing::Instrument;
                let span = tracing::info_span!("chapter", id = a.id, tenant = %a.tenant);
                let held = Held::new(&in_hand, a.id);
                let task = process(Arc::clone(&shared), a);
                tasks.spawn(
                    async move {
                        let _held = held;
                        task.await
                    }
                    .instrument(span),
                );
            }
        }
        if tasks.is_empty() {
            if summary.stopped.is_some() {
                break;
            }
            let now = now_us();
            let left = reports::outstanding(&db, &night, now).await?;
            waiting = left.waiting;
            if left.waiting == 0 {
                break;
            }
            // Others hold what is left: wait for their leases (or their results), then look again.
            let wait_us = left.next_expiry_us.map_or(200_000, |t| (t - now).clamp(50_000, 1_000_000));
            tokio::time::sleep(Duration::from_micros(u64::try_from(wait_us).unwrap_or(200_000))).await;
            continue;
        }
        let Some(joined) = tasks.join_next().await else { continue };
        record_chapter(joined, &mut summary, &db, &options).await;
        if let Some(bar) = &bar {
            advance(bar, &summary, tasks.len(), waiting);
        }
    }
    if let Some(bar) = bar {
        telemetry::set_log_around(None);
        bar.finish_and_clear();
    }
    summary.given_up = reports::given_up(&db, &night)
        .await?
        .into_iter()
        .map(|(id, tenant, error)| Failure { id, tenant, error })
        .filter(|f| !summary.failed.iter().any(|g| g.id == f.id))
        .collect();
    // What killed writers left behind (they are gone, or their leases long expired).
    summary.swept += sweep_temporaries(&options.out.join(options.night()), TEMPORARY_AGE).len();
    if options.book && summary.stopped.is_none() {
        summary.books = books(&shared).await;
    }
    if summary.stopped.is_none() {
        announce(&db, &options.night(), &summary.given_up).await;
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Counts a finished chapter task in `summary`; an output failure stops the batch and gives the
/// chapter's claim back.
async fn record_chapter(
    joined: Result<Outcome, tokio::task::JoinError>,
    summary: &mut Summary,
    db: &DatabaseConnection,
    options: &Options,
) {
    match joined {
        Ok(Outcome::Rendered { id, path }) => {
            if !options.progress {
                tracing::info!(id, path = %path.display(), "chapter written");
            }
            summary.rendered.push((id, path));
        }
        Ok(Outcome::Failed(f)) => {
            tracing::warn!(id = f.id, tenant = %f.tenant, error = %f.error, "chapter failed");
            summary.failed.push(f);
        }
        Ok(Outcome::Output { id, error }) => {
            tracing::error!(id, error = %error, "output failed; stopping the batch (the rest waits for the next run)");
            if let Err(e) = reports::release(db, id, &options.worker).await {
                tracing::warn!(id, error = %e, "could not give the claim back; its lease will expire");
            }
            summary.stopped.get_or_insert(error);
        }
        Ok(Outcome::Lost { id }) => {
            tracing::warn!(
                id,
                "another worker took this chapter over after this one's lease ran out; not written here"
            );
        }
        Err(e) => tracing::error!(error = %e, "a chapter task failed"),
    }
}

/// Renews the leases of the chapters `worker`'s tasks hold (`in_hand`) four times per lease until
/// aborted, so that a chapter that takes longer than a lease stays this worker's, while a dead
/// worker's chapters, and a chapter no task holds any more, are free one lease after their last
/// renewal. A failed renewal is logged and tried again at the next tick (three more before the
/// lease runs out).
async fn renew_leases(db: DatabaseConnection, worker: String, lease: Duration, in_hand: InHand) {
    let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
    let mut ticks = tokio::time::interval(lease / 4);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let ids = in_hand.ids();
        if ids.is_empty() {
            continue;
        }
        if let Err(e) = reports::renew(&db, &worker, &ids, now_us().saturating_add(lease_us)).await {
            tracing::warn!(error = %e, "could not renew this worker's leases; trying again");
        }
    }
}

/// Records each tenant's `batch.finished` event for a night with nothing left waiting (once per
/// tenant and outcome, however many workers finish it). A failure here is logged: the chapters
/// are written and their `chapter.ready` events recorded already.
async fn announce(db: &DatabaseConnection, night: &str, given_up: &[Failure]) {
    let rendered = match reports::rendered_in(db, night).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot list the night's chapters for the batch.finished events");
            return;
        }
    };
    let mut tenants: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for a in &rendered {
        tenants.entry(a.tenant.as_str()).or_default().0 += 1;
    }
    for f in given_up {
        tenants.entry(f.tenant.as_str()).or_default().1 += 1;
    }
    for (tenant, (done, failed)) in tenants {
        if let Err(e) = reports::mark_night_finished(db, tenant, night, done, failed, now_us()).await {
            tracing::warn!(tenant, error = %e, "cannot record the batch.finished event");
        }
    }
}

/// Binds each tenant's chapters of the night into `out/DATE/TENANT/book.pdf`.
async fn books(shared: &Arc<Shared>) -> Vec<PathBuf> {
    let o = &shared.options;
    let rows = match reports::rendered_in(&shared.db, &o.night()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot list the night's chapters for the books");
            return Vec::new();
        }
    };
    let mut by_tenant: BTreeMap<String, Vec<StoredAssessment>> = BTreeMap::new();
    for a in rows {
        by_tenant.entry(a.tenant.clone()).or_default().push(a);
    }
    let mut written = Vec::new();
    for (tenant, list) in by_tenant {
        let mut chapters = Vec::with_capacity(list.len());
        for (i, a) in list.iter().enumerate() {
            match shared.assembler.chapter(&shared.db, a, o.locale, o.date, u32::try_from(i + 1).unwrap_or(0)).await {
                Ok(c) => chapters.push(c),
                Err(e) => tracing::warn!(id = a.id, error = %e, "left out of the book"),
            }
        }
        let title = match o.locale {
            Locale::Nl => format!("{tenant} · nacht van {}", date_text(o.date.0, o.date.1, o.date.2, "nl")),
            Locale::En => format!("{tenant} · night of {}", date_text(o.date.0, o.date.1, o.date.2, "en")),
        };
        let book = Book { title, date: date_text(o.date.0, o.date.1, o.date.2, o.locale.tag()), chapters };
        let path = o.out.join(o.night()).join(&tenant).join("book.pdf");
        let renderer = Arc::clone(&shared.renderer);
        let (locale, date, ident, target) = (o.locale, o.date, format!("book-{tenant}-{}", o.night()), path.clone());
        let result = tokio::task::spawn_blocking(move || {
            let pdf = renderer.book(&book, locale, date, &ident).map_err(|e| e.to_string())?;
            write_atomic(&target, &pdf).map_err(|e| format!("cannot write {}: {e}", target.display()))
        })
        .await;
        match result {
            Ok(Ok(())) => written.push(path),
            Ok(Err(e)) => tracing::error!(tenant = %tenant, error = %e, "book failed"),
            Err(e) => tracing::error!(tenant = %tenant, error = %e, "book task failed"),
        }
    }
    written
}

/// What the night's sector volumes came to.
#[derive(Clone, Debug, Default)]
pub struct SectorSummary {
    /// The year the volumes describe (the latest published up to the night's), if any.
    pub year: Option<i32>,
    /// Volumes this run wrote.
    pub written: Vec<PathBuf>,
    /// Volumes already there from an earlier run of the night (not written again).
    pub present: usize,
    /// Sectors without a published group in the year: no volume (it would hold only suppressed
    /// cells).
    pub unpublished: Vec<String>,
    /// Volumes that failed (section, why); the next run tries them again.
    pub failed: Vec<(String, String)>,
}

/// The sector volumes of the night: one per SBI section with a published group in the latest
/// published year up to the night's, at `out/DATE/sectors/SECTION.LANG.pdf`. Each is written
/// once: atomically and durably, and only when it is not there yet, so that a rerun (or a
/// second worker) adds only what is missing and a killed run leaves no partial file. A volume's
/// bytes depend only on the releases and the night's date, so two workers that render the same
/// one at the same moment write the same file.
pub async fn sector_volumes(
    db: &DatabaseConnection,
    assembler: &Assembler,
    renderer: &Arc<Renderer>,
    options: &Options,
) -> anyhow::Result<SectorSummary> {
    use domain_model::SbiSection;
    let model = assembler.registry().resolve("", 0)?;
    let years = crate::export::published_years(db, &model).await?;
    let mut summary =
        SectorSummary { year: years.iter().copied().rfind(|y| *y <= options.date.0), ..SectorSummary::default() };
    let Some(year) = summary.year else { return Ok(summary) };
    // Every volume reads the same releases: once.
    let releases = crate::volume::Releases::load(db, &model, year).await?;
    let published = releases.sections(year);
    let dir = options.out.join(options.night()).join("sectors");
    sweep_temporaries(&dir, TEMPORARY_AGE);
    // At most `jobs` volumes typeset at once.
    let mut tasks = JoinSet::new();
    for section in SbiSection::ALL.iter().copied() {
        if !published.contains(&section) {
            summary.unpublished.push(section.code().to_string());
            continue;
        }
        let path = dir.join(format!("{}.{}.pdf", section.code(), options.locale.tag()));
        if path.exists() {
            summary.present += 1;
            continue;
        }
        let subject = crate::volume::Subject { section, size: None, year };
        let locale = options.locale;
        let written = date_text(options.date.0, options.date.1, options.date.2, locale.tag());
        let volume = crate::volume::build(
            &releases,
            &model,
            assembler.policy().k(),
            subject,
            locale,
            written,
            assembler.context(section, locale),
        );
        let renderer = Arc::clone(renderer);
        let (date, ident) = (options.date, format!("sector-{}-{year}", section.code()));
        tasks.spawn_blocking(move || {
            let outcome = volume.and_then(|v| {
                let pdf = renderer.volume(&v, locale, Format::Pdf, date, &ident)?;
                write_atomic(&path, &pdf).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                Ok(path)
            });
            (section.code().to_string(), outcome)
        });
        while tasks.len() >= options.jobs.max(1) {
            if let Some(done) = tasks.join_next().await {
                record(&mut summary, done);
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        record(&mut summary, done);
    }
    summary.written.sort();
    Ok(summary)
}

fn record(summary: &mut SectorSummary, done: Result<(String, anyhow::Result<PathBuf>), tokio::task::JoinError>) {
    match done {
        Ok((_, Ok(path))) => summary.written.push(path),
        Ok((section, Err(e))) => summary.failed.push((section, format!("{e:#}"))),
        Err(e) => summary.failed.push((String::new(), format!("typesetting panicked: {e}"))),
    }
}
