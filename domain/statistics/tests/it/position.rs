//! The position interval of docs/method.md ("How sure: the position as an interval"), checked
//! against an independent computation: the Wilson interval is the set of shares p for which the
//! observed share lies within z standard errors, |p̂ − p| ≤ z·√(p(1−p)/n); here its ends are found
//! by bisection on that inequality, and z by integrating the normal density, not from the closed
//! form the library uses.

use domain_statistics::{Position, Z_90, wilson_interval};

/// Φ(z) − 0.5 by Simpson's rule over the standard normal density.
fn normal_mass_from_zero(z: f64) -> f64 {
    let steps = 10_000;
    let h = z / f64::from(steps);
    let density = |x: f64| (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let inner: f64 = (1..steps).map(|i| f64::from(if i % 2 == 1 { 4 } else { 2 }) * density(f64::from(i) * h)).sum();
    h / 3.0 * (density(0.0) + inner + density(z))
}

/// The end of {p : |p̂ − p| ≤ z·√(p(1−p)/n)} on the side of `toward` (0 or 1), by bisection.
fn bisected_end(share: f64, n: f64, z: f64, toward: f64) -> f64 {
    let inside = |p: f64| (share - p).abs() <= z * (p * (1.0 - p) / n).sqrt() + 1e-15;
    if inside(toward) {
        return toward;
    }
    let (mut a, mut b) = (share, toward);
    for _ in 0..200 {
        let m = (a + b) / 2.0;
        if inside(m) { a = m } else { b = m }
    }
    (a + b) / 2.0
}

#[test]
fn z_90_leaves_five_percent_in_each_tail() {
    assert!((normal_mass_from_zero(Z_90) - 0.45).abs() < 1e-9, "Φ(Z_90) − 0.5 = {}", normal_mass_from_zero(Z_90));
}

#[test]
fn the_interval_equals_the_bisected_wilson_set() {
    for n in [1u32, 2, 5, 10, 13, 30, 100, 1_000, 250_000] {
        for below in 0..=n.min(40) {
            for equal in 0..=(n - below).min(2) {
                let p = Position::of_counts(below, equal, n).unwrap();
                let share = (f64::from(below) + 0.5 * f64::from(equal)) / f64::from(n);
                let low = 100.0 * bisected_end(share, f64::from(n), Z_90, 0.0);
                let high = 100.0 * bisected_end(share, f64::from(n), Z_90, 1.0);
                assert!((p.percentile - 100.0 * share).abs() < 1e-9);
                assert!((p.low - low).abs() < 1e-6, "n {n} below {below} equal {equal}: {} vs {low}", p.low);
                assert!((p.high - high).abs() < 1e-6, "n {n} below {below} equal {equal}: {} vs {high}", p.high);
                assert!(p.low <= p.percentile && p.percentile <= p.high);
            }
        }
    }
}

#[test]
fn a_textbook_value_and_the_narrowing_with_n() {
    // No successes in 10 at 95%: the upper end is z²/(n + z²).
    let (low, high) = wilson_interval(0.0, 10, 1.96).unwrap();
    assert_eq!(low, 0.0);
    assert!((high - 1.96f64.powi(2) / (10.0 + 1.96f64.powi(2))).abs() < 1e-12);
    // The 69th percentile among 13 is far less certain than among 1 300.
    let few = Position::of_counts(9, 0, 13).unwrap();
    let many = Position::of_counts(900, 0, 1_300).unwrap();
    assert!(few.high - few.low > 35.0, "{few:?}");
    assert!(many.high - many.low < 5.0, "{many:?}");
    let widths: Vec<f64> = [13u32, 52, 208, 832]
        .iter()
        .map(|&n| Position::of_counts(n / 2, 0, n).map(|p| p.high - p.low).unwrap())
        .collect();
    assert!(widths.windows(2).all(|w| w[1] < w[0]), "{widths:?}");
}

#[test]
fn impossible_counts_are_refused() {
    assert_eq!(Position::of_counts(0, 0, 0), None);
    assert_eq!(Position::of_counts(5, 6, 10), None);
    assert_eq!(wilson_interval(1.5, 10, Z_90), None);
}
