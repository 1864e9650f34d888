//! Loading the synthetic demo peers into the benchmark store, then publishing every universe.

use domain_model::Model;
use domain_peers::calibration::Targets;
use store::publish::publish_universe;
use store::time::now_us;
use store::{Contribution, DatabaseConnection, StoreError, Universe};

use crate::Persistence;

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The reference figures could not be read.
    #[error("reference figures: {0}")]
    Reference(#[from] domain_peers::reference::FigureError),
    /// The generator failed with this model.
    #[error("demo peer generation: {0}")]
    Generate(#[from] domain_peers::GenerateError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many synthetic contributions were written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeded {
    /// Contributions written (new or replaced).
    pub contributions: usize,
    /// Universes (years) published.
    pub years: usize,
}

/// Firms generated and written at a time: seeding holds this many (and, while publishing, one
/// year's contributions) in memory, whatever `n` is.
const SEED_CHUNK: usize = 5_000;

/// Generates `n` synthetic firms with `seed` and writes them (labelled synthetic; re-seeding with
/// the same seed replaces the same pseudonyms), then publishes every year; all in one transaction,
/// after which the database is settled for the servers (`store::settle_after_load`).
pub async fn seed_demo(persistence: &Persistence, model: &Model, n: usize, seed: u64) -> Result<Seeded, SeedError> {
    let targets = Targets::from_reference()?;
    let version = store::version_column(model.version);
    let contribution = |f: &domain_peers::DemoFirm| Contribution {
        pseudonym: persistence.pseudonym(format!("synthetic\u{0}{seed}\u{0}{}", f.id).as_bytes()),
        year: i32::from(f.year),
        model_id: model.id.clone(),
        model_version: version,
        profile: f.profile,
        maturity_index: f.result.maturity_index,
        external_index: f.result.axes[0].index,
        internal_index: f.result.axes[1].index,
        external_stage: i16::from(f.result.axes[0].attained_stage),
        internal_stage: i16::from(f.result.axes[1].attained_stage),
        value_sources: f.result.value_sources.clone().map(|v| v.score),
        proposition: f.result.proposition.centrality,
        fit_verdict: f.result.fit.verdict,
        returns: f.result.fit.returns,
        synthetic: true,
        revision: 0,
    };
    let db: &DatabaseConnection = persistence.db();
    let tx = store::begin_write(db).await?;
    let revision = store::next_revision(&tx).await?;
    let mut generator = domain_peers::Generator::new(model, &targets, n, seed);
    let mut years: Vec<i32> = Vec::new();
    let mut written = 0;
    loop {
        let chunk =
            generator.by_ref().take(SEED_CHUNK).map(|f| f.map(|f| contribution(&f))).collect::<Result<Vec<_>, _>>()?;
        if chunk.is_empty() {
            break;
        }
        store::upsert_contributions(&tx, &chunk, revision).await?;
        written += chunk.len();
        years.extend(chunk.iter().map(|c| c.year));
        years.sort_unstable();
        years.dedup();
    }
    let now = now_us();
    for year in &years {
        let universe = Universe { model_id: model.id.clone(), model_version: version, year: *year };
        publish_universe(&tx, persistence.policy(), &universe, now).await?;
    }
    store::commit(tx).await?;
    // The server that opens the database next finds it settled: no log of the whole load to copy
    // back while it answers (SQLite), statistics of the loaded rows (PostgreSQL).
    store::settle_after_load(db).await?;
    // This process answers from the new figures at once; other servers reload them at their next
    // look (the publication generation moved).
    persistence.benchmarks().refresh().await?;
    Ok(Seeded { contributions: written, years: years.len() })
}

/// Whether the benchmark store holds any contribution of `model` yet.
pub async fn has_contributions(db: &DatabaseConnection, model: &Model) -> Result<bool, StoreError> {
    let version = store::version_column(model.version);
    Ok(!store::contribution_years(db, &model.id, version).await?.is_empty())
}
