//! The benchmark contributions (`benchmark_contributions`): one anonymised row per firm, year and
//! model version, written with the submissions and read by the publisher.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};

use domain_model::{FirmProfile, FitVerdict, Province, Returns, SbiSection, SizeClass};

use crate::StoreError;
use crate::changes::{Universe, record_change};
use crate::connection::{begin_write, get};
use crate::schema::BenchmarkContributions as B;

/// One anonymised contribution.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// Keyed pseudonym of the firm (hex).
    pub pseudonym: String,
    /// Benchmark year: the UTC year in which the assessment was completed.
    pub year: i32,
    pub model_id: String,
    pub model_version: i32,
    /// Coarse attributes.
    pub profile: FirmProfile,
    /// Maturity index, 0-100.
    pub maturity_index: f64,
    /// External axis index.
    pub external_index: f64,
    /// Internal axis index.
    pub internal_index: f64,
    /// Attained external stage.
    pub external_stage: i16,
    /// Attained internal stage.
    pub internal_stage: i16,
    /// Value sources in `ValueSource::ALL` order.
    pub value_sources: [Option<f64>; 4],
    /// Proposition centrality.
    pub proposition: f64,
    /// The fit verdict the engine gave.
    pub fit_verdict: FitVerdict,
    /// The firm's answers on returns.
    pub returns: Returns,
    /// Demo data.
    pub synthetic: bool,
    /// Change counter (set by the store on write).
    pub revision: i64,
}

/// What identifies a contribution: one per firm, year and model version.
const CONTRIBUTION_KEY: [B; 4] = [B::Pseudonym, B::Year, B::ModelId, B::ModelVersion];

/// What a contribution carries, in the order `upsert_contributions` writes it; a newer
/// contribution of the same firm replaces all of it (latest wins).
const CONTRIBUTION_VALUES: [B; 18] = [
    B::SbiSection,
    B::SizeClass,
    B::Province,
    B::MaturityIndex,
    B::ExternalIndex,
    B::InternalIndex,
    B::ExternalStage,
    B::InternalStage,
    B::CoCreation,
    B::InformationSharing,
    B::NetworkMobilisation,
    B::TrustBuilding,
    B::Proposition,
    B::Synthetic,
    B::Revision,
    B::FitVerdict,
    B::ReturnsCoverCosts,
    B::ReturnsMeasured,
];

/// The next revision number.
pub async fn next_revision(db: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let stmt = Query::select().expr_as(Expr::col(B::Revision).max(), "m").from(B::Table).to_owned();
    let row = db.query_one(&stmt).await?;
    let max: Option<i64> = match row {
        Some(r) => r.try_get("", "m").ok(),
        None => None,
    };
    Ok(max.unwrap_or(0) + 1)
}

/// Writes contributions; a firm's contribution for the same year and model version replaces the
/// earlier one (latest wins). Each gets `revision`.
pub async fn upsert_contributions(
    db: &impl ConnectionTrait,
    rows: &[Contribution],
    revision: i64,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(500) {
        let mut stmt = Query::insert();
        stmt.into_table(B::Table).columns(CONTRIBUTION_KEY.into_iter().chain(CONTRIBUTION_VALUES));
        for c in chunk {
            stmt.values_panic(contribution_values(c, revision));
        }
        stmt.on_conflict(OnConflict::columns(CONTRIBUTION_KEY).update_columns(CONTRIBUTION_VALUES).to_owned());
        db.execute(&stmt).await?;
    }
    Ok(())
}

/// Writes one contribution as `upsert_contributions` does and returns its id (the same id when it
/// replaced the firm's earlier contribution), for the change record that names it.
pub async fn upsert_contribution(
    db: &impl ConnectionTrait,
    c: &Contribution,
    revision: i64,
) -> Result<i64, StoreError> {
    let ids = upsert_contributions_with_ids(db, std::slice::from_ref(c), revision).await?;
    ids.first().copied().ok_or_else(|| StoreError::Malformed("a contribution's upsert returned no id".into()))
}

/// `upsert_contributions` in one statement that returns each one's id, in their order. No two may
/// be of the same firm, year and model version (one statement cannot replace a row twice).
pub async fn upsert_contributions_with_ids(
    db: &impl ConnectionTrait,
    rows: &[Contribution],
    revision: i64,
) -> Result<Vec<i64>, StoreError> {
    let key = |pseudonym: String, year: i32, model_id: String, version: i32| (pseudonym, year, model_id, version);
    let mut order = std::collections::HashMap::with_capacity(rows.len());
    for (i, c) in rows.iter().enumerate() {
        if order.insert(key(c.pseudonym.clone(), c.year, c.model_id.clone(), c.model_version), i).is_some() {
            return Err(StoreError::Malformed("a contribution twice in one upsert".into()));
        }
    }
    let mut stmt = Query::insert();
    stmt.into_table(B::Table).columns(CONTRIBUTION_KEY.into_iter().chain(CONTRIBUTION_VALUES));
    for c in rows {
        stmt.values_panic(contribution_values(c, revision));
    }
    stmt.on_conflict(OnConflict::columns(CONTRIBUTION_KEY).update_columns(CONTRIBUTION_VALUES).to_owned());
    stmt.returning(Query::returning().columns([B::Id, B::Pseudonym, B::Year, B::ModelId, B::ModelVersion]));
    let mut ids = vec![None; rows.len()];
    for row in db.query_all(&stmt).await? {
        let k = key(get(&row, "pseudonym")?, get(&row, "year")?, get(&row, "model_id")?, get(&row, "model_version")?);
        if let Some(&i) = order.get(&k) {
            ids[i] = Some(get(&row, "id")?);
        }
    }
    ids.into_iter()
        .map(|id| id.ok_or_else(|| StoreError::Malformed("a contribution's upsert returned no id".into())))
        .collect()
}

fn contribution_values(c: &Contribution, revision: i64) -> [sea_orm::sea_query::SimpleExpr; 22] {
    [
        c.pseudonym.clone().into(),
        c.year.into(),
        c.model_id.clone().into(),
        c.model_version.into(),
        c.profile.section.code().into(),
        c.profile.size.code().into(),
        c.profile.province.code().into(),
        c.maturity_index.into(),
        c.external_index.into(),
        c.internal_index.into(),
        c.external_stage.into(),
        c.internal_stage.into(),
        c.value_sources[0].into(),
        c.value_sources[1].into(),
        c.value_sources[2].into(),
        c.value_sources[3].into(),
        c.proposition.into(),
        c.synthetic.into(),
        revision.into(),
        c.fit_verdict.id().into(),
        c.returns.cover_costs.into(),
        c.returns.measured.into(),
    ]
}

fn profile(row: &QueryResult) -> Result<FirmProfile, StoreError> {
    let section: String = get(row, "sbi_section")?;
    let size: String = get(row, "size_class")?;
    let province: String = get(row, "province")?;
    match (SbiSection::parse(&section), SizeClass::parse(&size), Province::parse(&province)) {
        (Some(section), Some(size), Some(province)) => Ok(FirmProfile { section, size, province }),
        _ => Err(StoreError::Malformed(format!("attributes {section}/{size}/{province}"))),
    }
}

fn fit_verdict(row: &QueryResult) -> Result<Option<FitVerdict>, StoreError> {
    let id: Option<String> = get(row, "fit_verdict")?;
    match id {
        None => Ok(None),
        Some(id) => match FitVerdict::parse(&id) {
            Some(v) => Ok(Some(v)),
            None => Err(StoreError::Malformed(format!("fit verdict {id}"))),
        },
    }
}

/// What publication reads of a contribution (the type is the publication rules').
pub use domain_publication::Member;

/// The columns publication reads of a contribution: its id and what it carries.
fn member_columns() -> impl Iterator<Item = B> {
    std::iter::once(B::Id).chain(CONTRIBUTION_VALUES)
}

fn member_of(r: &QueryResult) -> Result<Member, StoreError> {
    Ok(Member {
        id: get(r, "id")?,
        profile: profile(r)?,
        maturity_index: get(r, "maturity_index")?,
        external_index: get(r, "external_index")?,
        internal_index: get(r, "internal_index")?,
        external_stage: get(r, "external_stage")?,
        internal_stage: get(r, "internal_stage")?,
        value_sources: [
            get(r, "co_creation")?,
            get(r, "information_sharing")?,
            get(r, "network_mobilisation")?,
            get(r, "trust_building")?,
        ],
        proposition: get(r, "proposition")?,
        fit_verdict: fit_verdict(r)?,
        returns: Returns { cover_costs: get(r, "returns_cover_costs")?, measured: get(r, "returns_measured")? },
        synthetic: get(r, "synthetic")?,
        revision: get(r, "revision")?,
    })
}

/// Every contribution of one universe (model version and year), as publication reads it, in the
/// order of their ids. Read in pages of `MEMBERS_PAGE` by id, so that the driver never holds a whole
/// universe's rows at once (the publisher reads a universe whole only when it has no copy of its
/// own: at start, and after another publisher or the demo seeding published it).
pub async fn members(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
    year: i32,
) -> Result<Vec<Member>, StoreError> {
    let mut out = Vec::new();
    let mut after = i64::MIN;
    loop {
        let stmt = Query::select()
            .columns(member_columns())
            .from(B::Table)
            .and_where(Expr::col(B::ModelId).eq(model_id))
            .and_where(Expr::col(B::ModelVersion).eq(model_version))
            .and_where(Expr::col(B::Year).eq(year))
            .and_where(Expr::col(B::Id).gt(after))
            // A fixed order: sums (means) come out the same to the last bit on every run.
            .order_by(B::Id, Order::Asc)
            .limit(MEMBERS_PAGE)
            .to_owned();
        let page = db.query_all(&stmt).await?;
        let full = page.len() as u64 == MEMBERS_PAGE;
        for row in &page {
            out.push(member_of(row)?);
        }
        match out.last() {
            Some(last) if full => after = last.id,
            _ => return Ok(out),
        }
    }
}

/// Contributions read per statement by `members`.
const MEMBERS_PAGE: u64 = 10_000;

/// The contributions with these ids (those that exist), as publication reads them.
pub async fn members_by_id(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Member>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let stmt = Query::select()
            .columns(member_columns())
            .from(B::Table)
            .and_where(Expr::col(B::Id).is_in(chunk.iter().copied()))
            .to_owned();
        for row in db.query_all(&stmt).await? {
            out.push(member_of(&row)?);
        }
    }
    Ok(out)
}

/// The years with contributions of a model version.
pub async fn contribution_years(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
) -> Result<Vec<i32>, StoreError> {
    let stmt = Query::select()
        .distinct()
        .column(B::Year)
        .from(B::Table)
        .and_where(Expr::col(B::ModelId).eq(model_id))
        .and_where(Expr::col(B::ModelVersion).eq(model_version))
        .order_by(B::Year, Order::Asc)
        .to_owned();
    db.query_all(&stmt).await?.iter().map(|r| get(r, "year")).collect()
}

/// Contributions filled in by one step of `backfill_fit_verdicts`.
const BACKFILL_CHUNK: u64 = 5_000;

/// What `backfill_fit_verdicts` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// Contributions that got their verdict.
    pub contributions: u64,
    /// Universes (years) noted as changed for the publisher.
    pub universes: usize,
}

/// Gives the contributions of one model version that were written before verdicts were kept (m0011)
/// the verdict `rules` give their stored maturity index and proposition centrality: the scoring
/// engine's own rule on the numbers it stored, so the verdict is the one it gave. Each step (at most
/// `BACKFILL_CHUNK` contributions) is one write transaction that gives the rows a new revision and
/// notes their universes as changed, so that the publisher republishes the groups with their verdict
/// shares. Nothing to do costs one read of an empty partial index (m0011). Callers serialise it with
/// other writers (SQLite).
pub async fn backfill_fit_verdicts(
    db: &DatabaseConnection,
    model_id: &str,
    model_version: i32,
    rules: &domain_model::FitRules,
) -> Result<Backfilled, StoreError> {
    let mut done = Backfilled::default();
    let mut years = std::collections::BTreeSet::new();
    loop {
        let tx = begin_write(db).await?;
        let stmt = Query::select()
            .columns([B::Id, B::Year, B::MaturityIndex, B::Proposition])
            .from(B::Table)
            .and_where(Expr::col(B::ModelId).eq(model_id))
            .and_where(Expr::col(B::ModelVersion).eq(model_version))
            .and_where(Expr::col(B::FitVerdict).is_null())
            .order_by(B::Id, Order::Asc)
            .limit(BACKFILL_CHUNK)
            .to_owned();
        let rows = tx.query_all(&stmt).await?;
        if rows.is_empty() {
            tx.rollback().await?;
            break;
        }
        let revision = next_revision(&tx).await?;
        let mut by_verdict: std::collections::BTreeMap<&'static str, Vec<i64>> = Default::default();
        let mut chunk_years = std::collections::BTreeSet::new();
        for r in &rows {
            let (id, year): (i64, i32) = (get(r, "id")?, get(r, "year")?);
            let verdict = rules.verdict(get(r, "maturity_index")?, get(r, "proposition")?);
            by_verdict.entry(verdict.id()).or_default().push(id);
            chunk_years.insert(year);
        }
        for (verdict, ids) in by_verdict {
            for part in ids.chunks(500) {
                let stmt = Query::update()
                    .table(B::Table)
                    .values([(B::FitVerdict, verdict.into()), (B::Revision, revision.into())])
                    .and_where(Expr::col(B::Id).is_in(part.iter().copied()))
                    .to_owned();
                tx.execute(&stmt).await?;
            }
        }
        for year in &chunk_years {
            let universe = Universe { model_id: model_id.to_string(), model_version, year: *year };
            record_change(&tx, &universe, None).await?;
        }
        tx.commit().await?;
        done.contributions += rows.len() as u64;
        years.extend(chunk_years);
    }
    done.universes = years.len();
    Ok(done)
}
