//! Benchmark answers as the API shows them: the group used (after fallback), its distributions
//! and stage shares, and a firm's position in it. The figures come from the store
//! (`store::peers::Found`); only the wire form is made here.

use domain_anonymity::{GroupKey, Policy};
use domain_model::{Locale, Model};
use services_api::v1 as pb;
use store::figures::{Distribution, Figures};
use store::peers::Found;

/// The answer's description of the group used for a request.
pub fn group_used(found: &Found, policy: Policy, model: &Model, locale: Locale) -> pb::GroupUsed {
    let held = &found.held;
    let fallback = found.fallback();
    pb::GroupUsed {
        group: Some(group_pb(&held.group)),
        level: held.level().id().to_string(),
        name: held.group.name(locale),
        n: u32::try_from(held.n).unwrap_or(0),
        year: u32::try_from(found.year).unwrap_or(0),
        model: Some(pb::ModelRef { id: model.id.clone(), version: model.version }),
        fallback,
        fallback_reason: if fallback { found.requested.fallback_reason(locale) } else { String::new() },
        synthetic_share: held.synthetic_share,
        k: policy.k(),
        requested_year: u32::try_from(found.requested_year).unwrap_or(0),
        year_reason: if found.earlier_year() {
            domain_anonymity::earlier_year_reason(found.requested_year, found.year, locale)
        } else {
            String::new()
        },
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

/// A firm's position among the published group of its ladder.
pub fn position(policy: Policy, model: &Model, found: &Found, values: [f64; 3], locale: Locale) -> pb::PeerPosition {
    let metrics = ["maturity_index", "external_index", "internal_index"];
    let found_positions = found.positions(values);
    let positions: Vec<pb::MetricPosition> = metrics
        .iter()
        .zip(values)
        .zip(found_positions)
        .map(|((metric, value), p)| pb::MetricPosition {
            metric: (*metric).to_string(),
            value,
            percentile: p.percentile,
            percentile_low: p.low,
            percentile_high: p.high,
        })
        .collect();
    let rogers = model.rogers_category(found_positions[0].percentile);
    pb::PeerPosition {
        group_used: Some(group_used(found, policy, model, locale)),
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

/// The fit verdict shares of `f` as the API shows them, labelled by `model` in `locale`.
pub fn fit_verdicts_pb(f: &Figures, model: &Model, locale: Locale) -> Vec<pb::FitVerdictShare> {
    f.fit_shares_of(model)
        .into_iter()
        .map(|(v, share)| pb::FitVerdictShare {
            verdict: services_api::convert::verdict(v) as i32,
            label: model.verdict(v).label.get(locale).to_string(),
            share,
        })
        .collect()
}

/// The pay figures of `f` as the API shows them (verdicts labelled by `model` in `locale`).
pub fn pay_pb(f: &Figures, model: &Model, locale: Locale) -> Option<pb::PayFigures> {
    let pay = f.pay.as_ref()?;
    let cell = |c: Option<&domain_publication::PayCell>| match c {
        None => pb::PayCell { withheld: true, ..pb::PayCell::default() },
        Some(c) => pb::PayCell {
            withheld: false,
            answered: c.answered,
            cover_costs_share: c.cover_costs_share(),
            measured_share: c.measured_share(),
        },
    };
    let bands = |cells: &[Option<domain_publication::PayCell>; 3]| {
        domain_publication::BANDS
            .iter()
            .zip(cells)
            .map(|(band, c)| pb::PayBandCell { band: band.to_string(), cell: Some(cell(c.as_ref())) })
            .collect()
    };
    Some(pb::PayFigures {
        all: Some(cell(Some(&pay.all))),
        by_verdict: model
            .fit
            .verdicts
            .iter()
            .map(|(v, labelled)| pb::PayVerdictCell {
                verdict: services_api::convert::verdict(*v) as i32,
                label: labelled.label.get(locale).to_string(),
                cell: Some(cell(pay.by_verdict[v.index()].as_ref())),
            })
            .collect(),
        by_external_band: bands(&pay.by_external_band),
        by_internal_band: bands(&pay.by_internal_band),
    })
}

/// The stage shares of `f` as the API shows them.
pub fn stage_shares_pb(f: &Figures) -> Vec<pb::StageShares> {
    [("external", f.external_stages), ("internal", f.internal_stages)]
        .into_iter()
        .filter_map(|(axis, shares)| shares.map(|s| pb::StageShares { axis: axis.to_string(), shares: s.to_vec() }))
        .collect()
}
