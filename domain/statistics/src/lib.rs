//! Peer statistics, exactly as docs/method.md ("Peers") defines them: the distribution of a peer
//! group (n, mean, standard deviation, percentiles by linear interpolation as PostgreSQL's
//! `percentile_cont` computes them) and a firm's mid-rank percentile within its group.
//!
//! Pure functions over slices of finite values; no I/O. Non-finite values are the caller's bug and
//! are refused with `None` rather than silently skewing a published figure.

/// The percentiles every published distribution carries.
pub const PERCENTILES: [f64; 5] = [0.10, 0.25, 0.50, 0.75, 0.90];

/// The summary of one metric over one peer group.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    /// Number of values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator, PostgreSQL's `stddev`); 0 for n = 1.
    pub sd: f64,
    /// p10, p25, p50, p75, p90 (`PERCENTILES`), by `percentile_cont`.
    pub percentiles: [f64; 5],
}

/// `percentile_cont(p)` over values sorted ascending: linear interpolation between the values at
/// positions floor and ceil of `p × (n − 1)`, computed in the same order of operations as
/// PostgreSQL so that results agree to the last bits. `None` for no values or `p` outside 0..=1.
pub fn percentile_cont(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let position = p * (sorted.len() - 1) as f64;
    let first = position.floor();
    let second = position.ceil();
    let lo = sorted[first as usize];
    let hi = sorted[second as usize];
    let proportion = position - first;
    Some(lo + proportion * (hi - lo))
}

/// The distribution of `values` (any order). `None` when empty or when any value is not finite.
pub fn distribution(values: &[f64]) -> Option<Distribution> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    distribution_of_sorted(&sorted)
}

/// The distribution of values already sorted ascending by `f64::total_cmp` (as `distribution`
/// sorts them): the same figures to the last bit, without the copy and the sort. `None` when
/// empty or when any value is not finite.
pub fn distribution_of_sorted(sorted: &[f64]) -> Option<Distribution> {
    if sorted.is_empty() || sorted.iter().any(|v| !v.is_finite()) {
        return None;
    }
    debug_assert!(sorted.is_sorted_by(|a, b| a.total_cmp(b).is_le()), "distribution_of_sorted: unsorted input");
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        let ss: f64 = sorted.iter().map(|v| (v - mean) * (v - mean)).sum();
        (ss / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let mut percentiles = [0.0; 5];
    for (slot, p) in percentiles.iter_mut().zip(PERCENTILES) {
        *slot = percentile_cont(sorted, p)?;
    }
    Some(Distribution { n, mean, sd, percentiles })
}

/// Mid-rank percentile of `x` among `values`: `(below + 0.5 × equal) / n × 100`, where `equal`
/// counts values equal to `x` (the firm itself, when it is in the group, counts as equal).
/// `None` for an empty group.
pub fn mid_rank_percentile(values: &[f64], x: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let below = values.iter().filter(|v| **v < x).count() as f64;
    let equal = values.iter().filter(|v| **v == x).count() as f64;
    Some((below + 0.5 * equal) / values.len() as f64 * 100.0)
}

/// Shares (0..=1) of values per stage 0..=4; stages above 4 are ignored. `None` when empty.
pub fn stage_shares(stages: &[u8]) -> Option<[f64; 5]> {
    if stages.is_empty() {
        return None;
    }
    let mut counts = [0usize; 5];
    for &s in stages {
        if let Some(c) = counts.get_mut(usize::from(s)) {
            *c += 1;
        }
    }
    stage_shares_of_counts(counts, stages.len())
}

/// The shares `stage_shares` gives, from the members per stage 0..=4 and the number of members
/// (a member whose stage is above 4 counts in `n` only). `None` without members.
pub fn stage_shares_of_counts(counts: [usize; 5], n: usize) -> Option<[f64; 5]> {
    (n > 0).then(|| counts.map(|c| c as f64 / n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_cont_by_hand() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // Positions 0.3, 0.75, 1.5, 2.25, 2.7.
        assert_eq!(percentile_cont(&v, 0.10), Some(1.3));
        assert_eq!(percentile_cont(&v, 0.25), Some(1.75));
        assert_eq!(percentile_cont(&v, 0.50), Some(2.5));
        assert_eq!(percentile_cont(&v, 0.75), Some(3.25));
        assert!((percentile_cont(&v, 0.90).unwrap() - 3.7).abs() < 1e-12);
        assert_eq!(percentile_cont(&[7.0], 0.9), Some(7.0));
        assert_eq!(percentile_cont(&[], 0.5), None);
        assert_eq!(percentile_cont(&v, 1.5), None);
    }

    #[test]
    fn distribution_by_hand() {
        let d = distribution(&[4.0, 2.0, 6.0, 8.0]).unwrap();
        assert_eq!(d.n, 4);
        assert_eq!(d.mean, 5.0);
        // Sum of squares 20, over n − 1 = 3.
        assert!((d.sd - (20.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(d.percentiles[2], 5.0);
        assert_eq!(distribution(&[1.0, f64::NAN]), None);
        assert_eq!(distribution(&[3.0]).unwrap().sd, 0.0);
        // Sorted beforehand: the same figures, to the last bit.
        let values = [0.3, 0.1, 0.7, 0.2, 0.1, 1.0 / 3.0];
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(distribution_of_sorted(&sorted), distribution(&values));
        assert!(distribution_of_sorted(&sorted).is_some());
        assert_eq!(distribution_of_sorted(&[]), None);
        assert_eq!(distribution_of_sorted(&[1.0, f64::INFINITY]), None);
    }

    #[test]
    fn mid_rank_by_hand() {
        let v = [10.0, 20.0, 20.0, 30.0];
        assert_eq!(mid_rank_percentile(&v, 20.0), Some(50.0));
        assert_eq!(mid_rank_percentile(&v, 5.0), Some(0.0));
        assert_eq!(mid_rank_percentile(&v, 30.0), Some(87.5));
        assert_eq!(mid_rank_percentile(&v, 35.0), Some(100.0));
        assert_eq!(mid_rank_percentile(&[], 1.0), None);
    }

    #[test]
    fn stage_shares_by_hand() {
        assert_eq!(stage_shares(&[0, 1, 1, 4]), Some([0.25, 0.5, 0.0, 0.0, 0.25]));
        assert_eq!(stage_shares(&[]), None);
        assert_eq!(stage_shares_of_counts([1, 2, 0, 0, 1], 4), Some([0.25, 0.5, 0.0, 0.0, 0.25]));
        assert_eq!(stage_shares_of_counts([0; 5], 0), None);
    }
}

/// The two-sided 90% quantile of the standard normal distribution: the confidence of every
/// position interval a chapter or an answer shows.
pub const Z_90: f64 = 1.644_853_626_951_472_2;

/// A firm's position in a group: its mid-rank percentile and the 90% Wilson score interval
/// around it, all in percent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Position {
    /// `(below + 0.5 × equal) / n × 100` (`mid_rank_percentile`).
    pub percentile: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
}

impl Position {
    /// The position of a firm with `below` members under it and `equal` members at its value in a
    /// group of `n`; `None` for an empty group or counts that do not fit in it.
    ///
    /// The percentile is a share of the group, estimated from n members: the interval is the
    /// Wilson score interval of that share at 90% (`Z_90`). Unlike the normal approximation it
    /// stays within 0..=100, is not empty at a share of 0 or 1, and narrows as n grows.
    pub fn of_counts(below: u32, equal: u32, n: u32) -> Option<Position> {
        if n == 0 || u64::from(below) + u64::from(equal) > u64::from(n) {
            return None;
        }
        let share = (f64::from(below) + 0.5 * f64::from(equal)) / f64::from(n);
        let (low, high) = wilson_interval(share, n, Z_90)?;
        Some(Position { percentile: 100.0 * share, low: 100.0 * low, high: 100.0 * high })
    }
}

/// The Wilson score interval of a share `p` (0..=1) observed among `n`, for the normal quantile
/// `z`: `(p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)`. The interval always holds `p`; its ends
/// are held to that (and to 0..=1) against rounding. `None` for `n = 0` or `p` outside 0..=1.
pub fn wilson_interval(p: f64, n: u32, z: f64) -> Option<(f64, f64)> {
    if n == 0 || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let n = f64::from(n);
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = p + z2 / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some((((centre - half) / denominator).clamp(0.0, p), ((centre + half) / denominator).clamp(p, 1.0)))
}
