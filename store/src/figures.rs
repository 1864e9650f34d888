//! The figures of one published group in the store's own terms and encoding: no API message is
//! stored, so the wire format (API v1, v2, ...) can change without touching stored data.
//!
//! Stored as JSON with a version (`{"v":2,...}`): version 1 was the protobuf encoding of the API's
//! `PublishedFigures`, re-encoded by migration m0008. Instead of every member's sorted values, a
//! group keeps each distinct value with the number of members at or below it: the same mid-rank
//! percentiles (exactly: the same counts), a fraction of the size (the 102 600 firms of a national
//! year hold about 900 distinct indices).

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The encoding version written now.
pub const VERSION: u8 = 2;

/// A metric's distribution among a group's members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// `maturity_index`, `external_index`, `internal_index`, `proposition` or a value source id.
    pub metric: String,
    /// Members with a value.
    pub n: u32,
    /// Mean.
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
        let n = self.n();
        if n == 0 {
            return None;
        }
        let count_before = |i: usize| if i == 0 { 0 } else { self.at_or_below[i - 1] };
        let below = count_before(self.values.partition_point(|v| *v < x));
        let not_above = count_before(self.values.partition_point(|v| *v <= x));
        Some((f64::from(below) + 0.5 * f64::from(not_above - below)) / f64::from(n) * 100.0)
    }

    fn check(&self) -> bool {
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
}

impl Figures {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        crate::versioned::encode(VERSION, self)
    }

    /// Reads the stored form; anything else (an older encoding, a damaged row) is an error.
    pub fn decode(bytes: &[u8]) -> Result<Figures, StoreError> {
        let f: Figures = crate::versioned::decode("published figures", VERSION, bytes)?;
        let ok = [&f.maturity, &f.external, &f.internal].iter().all(|r| r.check())
            && (f.stage_matrix.is_empty() || f.stage_matrix.len() == 25)
            && f.fit_verdicts.is_none_or(|v| f.maturity.n() == 0 || v.iter().sum::<u32>() == f.maturity.n());
        if !ok {
            return Err(StoreError::Malformed(
                "stored published figures: inconsistent ranks, stage matrix or verdict counts".into(),
            ));
        }
        Ok(f)
    }

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

    /// Distinct values one unit in the last place apart (as weighted means of 0.33 and 0.67
    /// produce) survive the stored encoding as distinct values.
    #[test]
    fn values_a_last_bit_apart_round_trip_exactly() {
        let a: f64 = 100.0 * (0.33 + 0.67 + 0.5) / 3.0;
        let values: Vec<f64> = (0..64).map(|i| f64::from_bits(a.to_bits() + i)).collect();
        let f = Figures { maturity: Ranks::of(&values), ..Figures::default() };
        let back = Figures::decode(&f.encode()).unwrap();
        assert_eq!(back.maturity.values, values);
    }

    #[test]
    fn round_trip_and_refusals() {
        let f = Figures {
            distributions: vec![Distribution {
                metric: "maturity_index".into(),
                n: 3,
                mean: 1.0 / 3.0,
                sd: 0.1,
                percentiles: [0.1, 0.2, 0.3, 0.4, 0.5],
            }],
            external_stages: Some([0.2, 0.2, 0.2, 0.2, 0.2]),
            internal_stages: None,
            stage_matrix: vec![1; 25],
            maturity: Ranks::of(&[1.0, 2.0, 2.0]),
            external: Ranks::of(&[0.1]),
            internal: Ranks::default(),
            fit_verdicts: Some([1, 1, 0, 1]),
        };
        let bytes = f.encode();
        assert_eq!(Figures::decode(&bytes).unwrap(), f);
        assert!(bytes.starts_with(b"{\"v\":2,"));
        // The protobuf encoding of version 1, another version, damage: errors, never a panic.
        assert!(Figures::decode(&[0x0a, 0x02, 0x08, 0x01]).is_err());
        assert!(Figures::decode(br#"{"v":3}"#).is_err());
        let mut broken = f.clone();
        broken.maturity.at_or_below = vec![2, 1];
        assert!(Figures::decode(&broken.encode()).is_err());
        // Verdict counts that do not add up to the members: damage.
        let mut broken = f.clone();
        broken.fit_verdicts = Some([1, 1, 1, 1]);
        assert!(Figures::decode(&broken.encode()).is_err());
        // Figures published before verdicts were kept read back without them.
        let mut older = f.clone();
        older.fit_verdicts = None;
        let text = String::from_utf8(older.encode()).unwrap();
        assert!(!text.contains("fit_verdicts"));
        assert_eq!(Figures::decode(text.as_bytes()).unwrap(), older);
        assert_eq!(f.fit_shares(), Some([1.0 / 3.0, 1.0 / 3.0, 0.0, 1.0 / 3.0]));
    }
}
