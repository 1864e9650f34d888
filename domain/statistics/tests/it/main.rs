//! Invariants of the peer statistics over random data (proptest).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

use domain_statistics::{distribution, mid_rank_percentile, percentile_cont};
use proptest::prelude::*;

mod position;

fn values() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.0f64..=100.0, 1..200)
}

proptest! {
    #[test]
    fn percentiles_are_ordered_and_within_the_range(v in values()) {
        let d = distribution(&v).unwrap();
        let (min, max) = v.iter().fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
        for w in d.percentiles.windows(2) {
            prop_assert!(w[0] <= w[1]);
        }
        prop_assert!(d.percentiles[0] >= min && d.percentiles[4] <= max);
        prop_assert!(d.mean >= min - 1e-9 && d.mean <= max + 1e-9);
        prop_assert!(d.sd >= 0.0);
    }

    #[test]
    fn order_does_not_matter(mut v in values()) {
        let a = distribution(&v).unwrap();
        v.reverse();
        let b = distribution(&v).unwrap();
        prop_assert_eq!(a.percentiles, b.percentiles);
        prop_assert!((a.mean - b.mean).abs() < 1e-9);
    }

    #[test]
    fn mid_rank_is_monotone_and_bounded(v in values(), x in 0.0f64..=100.0, dx in 0.0f64..=10.0) {
        let a = mid_rank_percentile(&v, x).unwrap();
        let b = mid_rank_percentile(&v, x + dx).unwrap();
        prop_assert!((0.0..=100.0).contains(&a));
        prop_assert!(b >= a);
    }

    #[test]
    fn extreme_percentiles_are_min_and_max(v in values()) {
        let mut s = v.clone();
        s.sort_by(f64::total_cmp);
        prop_assert_eq!(percentile_cont(&s, 0.0), Some(s[0]));
        prop_assert_eq!(percentile_cont(&s, 1.0), Some(s[s.len() - 1]));
    }
}
