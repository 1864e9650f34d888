//! Published groups as read back: one group held in memory, and the group found for a request
//! (the first published one of its ladder) with a firm's percentiles in it.

use std::sync::Arc;

use domain_anonymity::{GroupKey, Level};
use domain_model::Model;
use domain_statistics::Position;
use sea_orm::ConnectionTrait;

use crate::figures::{Figures, Stored};
use crate::publish::{key_text, parse_key};
use crate::{Release, StoreError};

/// One published group as held in memory: its release row with the figures decoded once.
#[derive(Debug)]
pub struct Held {
    pub group: GroupKey,
    /// Distinct firms.
    pub n: i32,
    /// Share of synthetic contributions.
    pub synthetic_share: f64,
    pub figures: Arc<Figures>,
}

/// The published cells of `f`'s pay figures as open figures (the verdicts `model` gives).
fn pay_figures(f: &Figures, model: &Model) -> Vec<domain_open_figures::PayFigure> {
    use domain_open_figures::PayFigure;
    let Some(pay) = &f.pay else { return Vec::new() };
    let band = |b: &str| b.replace('-', "_");
    let mut out = vec![PayFigure { measure: "pay".into(), cell: pay.all }];
    for (v, _) in &model.fit.verdicts {
        if let Some(cell) = pay.by_verdict[v.index()] {
            out.push(PayFigure { measure: format!("pay_fit_{}", v.id()), cell });
        }
    }
    for (axis, cells) in [("external", &pay.by_external_band), ("internal", &pay.by_internal_band)] {
        for (b, cell) in domain_publication::BANDS.iter().zip(cells) {
            if let Some(cell) = cell {
                out.push(PayFigure { measure: format!("pay_{axis}_stage_{}", band(b)), cell: *cell });
            }
        }
    }
    out
}

impl Held {
    /// A stored release, decoded; `None` for a key that no longer parses.
    pub fn decode(release: &Release) -> Result<Option<Held>, StoreError> {
        let Some(group) = parse_key(&release.group_key) else { return Ok(None) };
        let figures = Figures::decode(&release.figures)?;
        Ok(Some(Held { group, n: release.n, synthetic_share: release.synthetic_share, figures: Arc::new(figures) }))
    }

    /// The group as open figures: exactly what its release publishes (the fit verdicts those of
    /// `model`, the model of its universe).
    pub fn open_figures(&self, model: &Model) -> domain_open_figures::Group {
        use domain_open_figures::{FitShare, StageShares};
        let (g, f) = (&self.group, &self.figures);
        domain_open_figures::Group {
            level: self.level().id().to_string(),
            sbi_section: g.section.map(|s| s.code().to_string()).unwrap_or_default(),
            size_class: g.size.map(|s| s.code().to_string()).unwrap_or_default(),
            province: g.province.map(|p| p.code().to_string()).unwrap_or_default(),
            n: u32::try_from(self.n).unwrap_or(0),
            synthetic_share: self.synthetic_share,
            distributions: f.distributions.clone(),
            stage_shares: [("external", f.external_stages), ("internal", f.internal_stages)]
                .into_iter()
                .filter_map(|(axis, shares)| shares.map(|shares| StageShares { axis: axis.to_string(), shares }))
                .collect(),
            fit_shares: f
                .fit_shares_of(model)
                .into_iter()
                .map(|(v, share)| FitShare { verdict: v.id().to_string(), share })
                .collect(),
            pay: pay_figures(f, model),
        }
    }

    /// The level of the group (every published group has one).
    pub fn level(&self) -> Level {
        self.group.level().unwrap_or(Level::All)
    }
}

/// The published group used for a request of `requested` in `requested_year`.
#[derive(Clone, Debug)]
pub struct Found {
    /// The group used, with its figures.
    pub held: Arc<Held>,
    /// The group asked for.
    pub requested: GroupKey,
    /// The benchmark year of the figures used.
    pub year: i32,
    /// The year asked for: later than `year` when that year had no published group yet.
    pub requested_year: i32,
}

impl Found {
    /// Whether another group than the one asked for was used (or the one asked for is never
    /// published).
    pub fn fallback(&self) -> bool {
        self.held.group != self.requested || self.requested.level().is_none()
    }

    /// Whether an earlier year's figures were used than the year asked for.
    pub fn earlier_year(&self) -> bool {
        self.year != self.requested_year
    }

    /// The figures of the group used.
    pub fn figures(&self) -> &Figures {
        &self.held.figures
    }

    /// The positions (mid-rank percentile and its 90% interval) of a firm's maturity, external
    /// and internal index in the group.
    pub fn positions(&self, values: [f64; 3]) -> [Position; 3] {
        let f = &self.held.figures;
        let ranks = [&f.maturity, &f.external, &f.internal];
        let mut out = [Position::default(); 3];
        for ((slot, r), v) in out.iter_mut().zip(ranks).zip(values) {
            *slot = r.position(v).unwrap_or_default();
        }
        out
    }
}

/// The years an assessment of `year` may take its peers from, in order: its own, then up to
/// `years_back` earlier ones.
pub fn candidate_years(year: i32, years_back: u32) -> impl Iterator<Item = i32> {
    (0..=i32::try_from(years_back).unwrap_or(0)).map(move |back| year.saturating_sub(back))
}

/// The peers of an assessment of `year`, read from the store (the report generator's path;
/// servers answer from their cache, `engine::Benchmarks::find_recent`): the assessment's own year
/// when it has published figures, else the latest earlier year that has, at most `years_back`
/// before; within that year, the first published group of `requested`'s ladder (the group
/// itself, then wider ones). Years are never mixed: an earlier year is used only when its own
/// year has no published group of the ladder at all.
pub async fn find(
    db: &impl ConnectionTrait,
    model: &Model,
    year: i32,
    requested: &GroupKey,
    years_back: u32,
) -> Result<Option<Found>, StoreError> {
    let version = crate::version_column(model.version);
    for y in candidate_years(year, years_back) {
        for g in requested.ladder() {
            let rows = crate::releases(db, &model.id, version, Some(y), Some(&key_text(&g))).await?;
            let Some(held) = rows.first().map(Held::decode).transpose()?.flatten() else { continue };
            return Ok(Some(Found { held: Arc::new(held), requested: *requested, year: y, requested_year: year }));
        }
    }
    Ok(None)
}
