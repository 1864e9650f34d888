//! The figures of one published group: each metric's distribution, the shares of the stages,
//! the stage matrix, the ranks a firm's percentile is read from, and the fit verdicts. Instead of
//! every member's sorted values, a group keeps each distinct value with the number of members at
//! or below it: the same mid-rank percentiles (exactly: the same counts), a fraction of the size
//! (a national year's firms share far fewer distinct indices than there are firms).

use serde::{Deserialize, Serialize};

/// A metric's distribution among a group's members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// `maturity_index`, `external_index`, `internal_index`, `proposition` or a value source id.
    pub metric: String,
    /// Members with a value.
    pub n: u32,
    /// Arithmetic mean over the members with a value.
    pub mean: f64,
    /// Sample standard deviation (0 for one member).
    pub sd: f64,
    /// p10, p25, p50, p75 and p90, by PostgreSQL's `percentile_cont`.
    pub percentiles: [f64; 5],
}

impl Distribution {
    /// `metric`'s distribution as `domain-statistics` computes it.
    pub fn of(metric: &str, d: domain_statistics::Distribution) -> Distribution {
        Distribution {
            metric: metric.to_string(),
            n: u32::try_from(d.n).unwrap_or(u32::MAX),
            mean: d.mean,
            sd: d.sd,
            percentiles: d.percentiles,
        }
    }
}

/// The distinct values of a metric among a group's members, ascending, each with the number of
/// members at or below it: what a firm's percentile rank is computed from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranks {
    /// Distinct values, ascending.
    pub values: Vec<f64>,
    /// Members with a value at or below `values[i]` (non-decreasing; the last is n).
    pub at_or_below: Vec<u32>,
}

impl Ranks {
    /// The ranks of `values` (any order).
    pub fn of(values: &[f64]) -> Ranks {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Ranks::of_sorted(&sorted)
    }

    /// The ranks of values sorted ascending by `f64::total_cmp`: what `of` gives, without the copy
    /// and the sort.
    pub fn of_sorted(sorted: &[f64]) -> Ranks {
        debug_assert!(sorted.is_sorted_by(|a, b| a.total_cmp(b).is_le()), "Ranks::of_sorted: unsorted input");
        let mut ranks = Ranks::default();
        for (i, v) in sorted.iter().enumerate() {
            let count = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if ranks.values.last() == Some(v) {
                if let Some(last) = ranks.at_or_below.last_mut() {
                    *last = count;
                }
            } else {
                ranks.values.push(*v);
                ranks.at_or_below.push(count);
            }
        }
        ranks
    }

    /// Members in all.
    pub fn n(&self) -> u32 {
        self.at_or_below.last().copied().unwrap_or(0)
    }

    /// The mid-rank percentile of `x` among the members (`domain_statistics::mid_rank_percentile`
    /// over the members' values, in logarithmic time); `None` without members.
    pub fn mid_rank_percentile(&self, x: f64) -> Option<f64> {
        self.position(x).map(|p| p.percentile)
    }

    /// The position of `x` among the members: its mid-rank percentile with the 90% interval of
    /// `domain_statistics::Position`; `None` without members.
    pub fn position(&self, x: f64) -> Option<domain_statistics::Position> {
        let count_before = |i: usize| if i == 0 { 0 } else { self.at_or_below[i - 1] };
        let below = count_before(self.values.partition_point(|v| *v < x));
        let not_above = count_before(self.values.partition_point(|v| *v <= x));
        domain_statistics::Position::of_counts(below, not_above - below, self.n())
    }

    /// Whether the ranks are well formed: distinct values ascending, counts not decreasing.
    pub fn check(&self) -> bool {
        self.values.len() == self.at_or_below.len()
            && self.values.windows(2).all(|w| w[0] < w[1])
            && self.at_or_below.windows(2).all(|w| w[0] <= w[1])
    }
}

/// The figures of one published group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// One per metric with values, in the order of `publish::METRICS`.
    pub distributions: Vec<Distribution>,
    /// Shares of members per stage 0..=4 of the external axis.
    pub external_stages: Option<[f64; 5]>,
    /// Shares of members per stage 0..=4 of the internal axis.
    pub internal_stages: Option<[f64; 5]>,
    /// Members per (external stage, internal stage): index external * 5 + internal; 25 cells.
    pub stage_matrix: Vec<u32>,
    /// Ranks of the maturity index.
    pub maturity: Ranks,
    /// Ranks of the external axis index.
    pub external: Ranks,
    /// Ranks of the internal axis index.
    pub internal: Ranks,
    /// Members per fit verdict, in `FitVerdict::ALL` order (balanced, under-invested,
    /// over-invested, restrained); `None` when a member's verdict is not known (a contribution from
    /// before verdicts were kept) or the figures were published before they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_verdicts: Option<[u32; 4]>,
    /// Whether social media pay, by the members' own answers (`crate::pay`); `None` when the
    /// group's cell "all" is withheld or the figures were published before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay: Option<crate::Pay>,
}

impl Figures {
    /// The shares of the fit verdicts among the members, in `FitVerdict::ALL` order, when known.
    pub fn fit_shares(&self) -> Option<[f64; 4]> {
        let counts = self.fit_verdicts?;
        let n: u32 = counts.iter().sum();
        (n > 0).then(|| counts.map(|c| f64::from(c) / f64::from(n)))
    }

    /// The shares of the verdicts `model` gives (in `FitVerdict::ALL` order), when known; empty
    /// otherwise.
    pub fn fit_shares_of(&self, model: &domain_model::Model) -> Vec<(domain_model::FitVerdict, f64)> {
        let Some(shares) = self.fit_shares() else { return Vec::new() };
        model.fit.verdicts.iter().map(|(v, _)| (*v, shares[v.index()])).collect()
    }

    /// The distribution of `metric`, if the group has values of it.
    pub fn distribution(&self, metric: &str) -> Option<&Distribution> {
        self.distributions.iter().find(|d| d.metric == metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_give_the_scans_percentiles() {
        let values: Vec<f64> = (0..500).map(|i| f64::from((i * 37) % 61) * 0.5).collect();
        let ranks = Ranks::of(&values);
        assert_eq!(ranks.n(), 500);
        assert!(ranks.values.len() <= 61 && ranks.check());
        for step in -4..=70 {
            let x = f64::from(step) * 0.5 + if step % 4 == 0 { 0.25 } else { 0.0 };
            assert_eq!(ranks.mid_rank_percentile(x), domain_statistics::mid_rank_percentile(&values, x), "x = {x}");
        }
        assert_eq!(Ranks::default().mid_rank_percentile(1.0), None);
    }
}
