//! Answers from published figures: the group actually used (after fallback), its distributions,
//! and a firm's position in it.

use std::sync::Arc;

use domain_anonymity::{GroupKey, Policy};
use domain_model::{Locale, Model};
use sea_orm::ConnectionTrait;
use services_api::v1 as pb;

use crate::figures::{Distribution, Figures};
use crate::publish::{key_text, parse_key};
use crate::store::{self, Release, StoreError};

/// A published group found for a request.
#[derive(Debug)]
pub struct Found {
    /// Its figures (shared with the cache they came from).
    pub figures: Arc<Figures>,
    /// The answer's description of it.
    pub used: pb::GroupUsed,
}

/// One published group as held in memory: its release row with the figures decoded once.
#[derive(Debug)]
pub struct Held {
    /// The group.
    pub group: GroupKey,
    /// Level id.
    pub level: String,
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
        Ok(Some(Held {
            group,
            level: release.level.clone(),
            n: release.n,
            synthetic_share: release.synthetic_share,
            figures: Arc::new(figures),
        }))
    }

    /// The answer's description of this group for a request of `requested` (fallback when it is
    /// another group, or when the requested one is never published).
    pub fn used(
        &self,
        policy: Policy,
        model: &Model,
        year: i32,
        requested: &GroupKey,
        locale: Locale,
    ) -> pb::GroupUsed {
        let fallback = self.group != *requested || requested.level().is_none();
        pb::GroupUsed {
            group: Some(group_pb(&self.group)),
            level: self.level.clone(),
            name: self.group.name(locale),
            n: u32::try_from(self.n).unwrap_or(0),
            year: u32::try_from(year).unwrap_or(0),
            model: Some(pb::ModelRef { id: model.id.clone(), version: model.version }),
            fallback,
            fallback_reason: if fallback { fallback_reason(requested, locale) } else { String::new() },
            synthetic_share: self.synthetic_share,
            k: policy.k(),
        }
    }
}

/// The group as the API shows it.
pub fn group_pb(g: &GroupKey) -> pb::PeerGroup {
    pb::PeerGroup {
        sbi_section: g.section.map(|s| s.code().to_string()).unwrap_or_default(),
        size_class: g.size.map(|s| s.code().to_string()).unwrap_or_default(),
        province: g.province.map(|p| p.code().to_string()).unwrap_or_default(),
    }
}

fn fallback_reason(requested: &GroupKey, locale: Locale) -> String {
    let never = requested.level().is_none();
    match (never, locale) {
        (true, Locale::Nl) => {
            "Deze combinatie van kenmerken wordt nooit gepubliceerd; de dichtstbijzijnde bredere groep is gebruikt."
                .into()
        }
        (true, Locale::En) => {
            "This combination of attributes is never published; the nearest wider group was used.".into()
        }
        (false, Locale::Nl) => format!(
            "De groep {} is niet gepubliceerd (te weinig bedrijven, of afgeschermd zodat geen enkel bedrijf door aftrekken te herleiden is); de dichtstbijzijnde bredere gepubliceerde groep is gebruikt.",
            requested.name(locale)
        ),
        (false, Locale::En) => format!(
            "The group {} is not published (too few firms, or withheld so that no firm can be recovered by subtraction); the nearest wider published group was used.",
            requested.name(locale)
        ),
    }
}

/// The first published group of `requested`'s ladder in one universe, read from the store (the
/// report generator's path; servers answer from their cache, `engine::Benchmarks`).
pub async fn find(
    db: &impl ConnectionTrait,
    policy: Policy,
    model: &Model,
    year: i32,
    requested: &GroupKey,
    locale: Locale,
) -> Result<Option<Found>, StoreError> {
    let version = i32::try_from(model.version).unwrap_or(i32::MAX);
    for g in requested.ladder() {
        let rows = store::releases(db, &model.id, version, Some(year), Some(&key_text(&g))).await?;
        let Some(held) = rows.first().map(Held::decode).transpose()?.flatten() else { continue };
        let used = held.used(policy, model, year, requested, locale);
        return Ok(Some(Found { figures: held.figures, used }));
    }
    Ok(None)
}

/// A firm's position among the published group of its ladder.
pub fn position(model: &Model, found: &Found, values: [f64; 3], locale: Locale) -> pb::PeerPosition {
    let f = &found.figures;
    let sets = [("maturity_index", &f.maturity), ("external_index", &f.external), ("internal_index", &f.internal)];
    let positions: Vec<pb::MetricPosition> = sets
        .iter()
        .zip(values)
        .map(|((metric, ranks), value)| pb::MetricPosition {
            metric: (*metric).to_string(),
            value,
            percentile: ranks.mid_rank_percentile(value).unwrap_or(0.0),
        })
        .collect();
    let rogers = model.rogers_category(positions[0].percentile);
    pb::PeerPosition {
        group_used: Some(found.used.clone()),
        positions,
        rogers_category: rogers.id.clone(),
        rogers_label: rogers.label.get(locale).to_string(),
    }
}

/// A distribution as the API shows it.
pub fn distribution_pb(d: &Distribution) -> pb::Distribution {
    let [p10, p25, p50, p75, p90] = d.percentiles;
    pb::Distribution { metric: d.metric.clone(), n: d.n, mean: d.mean, sd: d.sd, p10, p25, p50, p75, p90 }
}

/// The distributions of `f` as the API shows them.
pub fn distributions_pb(f: &Figures) -> Vec<pb::Distribution> {
    f.distributions.iter().map(distribution_pb).collect()
}

/// The stage shares of `f` as the API shows them.
pub fn stage_shares_pb(f: &Figures) -> Vec<pb::StageShares> {
    [("external", f.external_stages), ("internal", f.internal_stages)]
        .into_iter()
        .filter_map(|(axis, shares)| shares.map(|s| pb::StageShares { axis: axis.to_string(), shares: s.to_vec() }))
        .collect()
}
