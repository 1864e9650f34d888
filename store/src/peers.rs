//! Published groups as read back: one group held in memory, and the group found for a request
//! (the first published one of its ladder) with a firm's percentiles in it.

use std::sync::Arc;

use domain_anonymity::{GroupKey, Level};
use domain_model::Model;
use sea_orm::ConnectionTrait;

use crate::figures::Figures;
use crate::publish::{key_text, parse_key};
use crate::{Release, StoreError};

/// One published group as held in memory: its release row with the figures decoded once.
#[derive(Debug)]
pub struct Held {
    /// The group.
    pub group: GroupKey,
    /// Distinct firms.
    pub n: i32,
    /// Share of synthetic contributions.
    pub synthetic_share: f64,
    /// Its figures.
    pub figures: Arc<Figures>,
}

impl Held {
    /// A stored release, decoded; `None` for a key that no longer parses.
    pub fn decode(release: &Release) -> Result<Option<Held>, StoreError> {
        let Some(group) = parse_key(&release.group_key) else { return Ok(None) };
        let figures = Figures::decode(&release.figures)?;
        Ok(Some(Held { group, n: release.n, synthetic_share: release.synthetic_share, figures: Arc::new(figures) }))
    }

    /// The level of the group (every published group has one).
    pub fn level(&self) -> Level {
        self.group.level().unwrap_or(Level::All)
    }
}

/// The published group used for a request of `requested` in `year`.
#[derive(Clone, Debug)]
pub struct Found {
    /// The group used, with its figures.
    pub held: Arc<Held>,
    /// The group asked for.
    pub requested: GroupKey,
    /// The benchmark year.
    pub year: i32,
}

impl Found {
    /// Whether another group than the one asked for was used (or the one asked for is never
    /// published).
    pub fn fallback(&self) -> bool {
        self.held.group != self.requested || self.requested.level().is_none()
    }

    /// The figures of the group used.
    pub fn figures(&self) -> &Figures {
        &self.held.figures
    }

    /// Mid-rank percentiles of a firm's maturity, external and internal index in the group.
    pub fn percentiles(&self, values: [f64; 3]) -> [f64; 3] {
        let f = &self.held.figures;
        let ranks = [&f.maturity, &f.external, &f.internal];
        let mut out = [0.0; 3];
        for ((slot, r), v) in out.iter_mut().zip(ranks).zip(values) {
            *slot = r.mid_rank_percentile(v).unwrap_or(0.0);
        }
        out
    }
}

/// The first published group of `requested`'s ladder in one universe, read from the store (the
/// report generator's path; servers answer from their cache, `engine::Benchmarks`).
pub async fn find(
    db: &impl ConnectionTrait,
    model: &Model,
    year: i32,
    requested: &GroupKey,
) -> Result<Option<Found>, StoreError> {
    let version = crate::version_column(model.version);
    for g in requested.ladder() {
        let rows = crate::releases(db, &model.id, version, Some(year), Some(&key_text(&g))).await?;
        let Some(held) = rows.first().map(Held::decode).transpose()?.flatten() else { continue };
        return Ok(Some(Found { held: Arc::new(held), requested: *requested, year }));
    }
    Ok(None)
}
