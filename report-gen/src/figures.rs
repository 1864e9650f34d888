//! Geometry the templates cannot compute comfortably: the Rogers adoption curve (a normal curve
//! cut at the categories' percentiles) with the firm's place on it. Typst draws it from these
//! points with its own primitives; no figure needs an external program or package.

use crate::chapter::RogersView;

/// Width of the Rogers figure's canvas, in points.
pub const ROGERS_WIDTH: f64 = 340.0;
/// Height of the Rogers figure's canvas, in points.
pub const ROGERS_HEIGHT: f64 = 80.0;
/// Width of a category's label box on the Rogers figure, in points (1.9 cm).
pub const ROGERS_LABEL_WIDTH: f64 = 53.86;
/// Labels whose centres are closer than their width and a little white space go on another row.
pub const ROGERS_LABEL_SPACING: f64 = ROGERS_LABEL_WIDTH + 8.0;
const Z_RANGE: f64 = 3.0;
const STEPS: usize = 24;

/// The standard normal distribution function, from the error function (Abramowitz and Stegun
/// 7.1.26, absolute error below 1.5e-7: far finer than a figure needs).
pub fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

/// The z whose normal probability is `p` (0-1), by bisection on `normal_cdf`, clamped to the
/// figure's range.
pub fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-Z_RANGE, Z_RANGE);
    if p <= normal_cdf(lo) {
        return lo;
    }
    if p >= normal_cdf(hi) {
        return hi;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

fn x_of(z: f64) -> f64 {
    round2((z + Z_RANGE) / (2.0 * Z_RANGE) * ROGERS_WIDTH)
}

fn y_of(z: f64) -> f64 {
    // Density relative to its peak, leaving a tenth of the height free above it.
    round2(ROGERS_HEIGHT - (-0.5 * z * z).exp() * ROGERS_HEIGHT * 0.9)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A category as the model defines it: label, share of adopters (percent), lowest percentile.
#[derive(Clone, Debug)]
pub struct Category {
    /// Name.
    pub label: String,
    /// Share of adopters in Rogers' curve, percent.
    pub share_percent: f64,
    /// Lowest percentile in the category.
    pub min_percentile: f64,
}

/// The curve cut into `categories` (any order), the firm's category marked by its `percentile`
/// (0-100), and the firm's x on the canvas. Categories are drawn left (laggards) to right.
pub fn rogers_curve(categories: &[Category], percentile: f64) -> (Vec<RogersView>, f64) {
    let mut sorted: Vec<&Category> = categories.iter().collect();
    sorted.sort_by(|a, b| a.min_percentile.total_cmp(&b.min_percentile));
    let current = sorted.iter().rposition(|c| percentile >= c.min_percentile).unwrap_or(0);
    let mut views: Vec<RogersView> = sorted
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let z0 = normal_quantile(c.min_percentile / 100.0);
            let z1 = sorted.get(i + 1).map_or(Z_RANGE, |n| normal_quantile(n.min_percentile / 100.0));
            let mut polygon: Vec<[f64; 2]> = (0..=STEPS)
                .map(|s| {
                    let z = z0 + (z1 - z0) * s as f64 / STEPS as f64;
                    [x_of(z), y_of(z)]
                })
                .collect();
            polygon.push([x_of(z1), ROGERS_HEIGHT]);
            polygon.push([x_of(z0), ROGERS_HEIGHT]);
            RogersView {
                label: c.label.clone(),
                share_percent: c.share_percent,
                current: i == current,
                polygon,
                label_x: x_of(0.5 * (z0 + z1)),
                label_row: 0,
            }
        })
        .collect();
    // Each label on the first row where it keeps a label's width from the last one there.
    let mut row_ends: Vec<f64> = Vec::new();
    for v in &mut views {
        let row = row_ends.iter().position(|end| v.label_x - end >= ROGERS_LABEL_SPACING).unwrap_or(row_ends.len());
        if row == row_ends.len() {
            row_ends.push(v.label_x);
        } else {
            row_ends[row] = v.label_x;
        }
        v.label_row = u32::try_from(row).unwrap_or(0);
    }
    (views, x_of(normal_quantile(percentile / 100.0)))
}

/// A date written out in `lang` (`nl` or `en`): "28 november 2026", "28 November 2026".
pub fn date_text(year: i32, month: u32, day: u32, lang: &str) -> String {
    const NL: [&str; 12] = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let m = (month.clamp(1, 12) - 1) as usize;
    let name = if lang == "nl" { NL[m] } else { EN[m] };
    format!("{day} {name} {year}")
}

/// Width of the trend figure's plot, in points (12 cm).
pub const TREND_WIDTH: f64 = 340.16;

/// The x position (0..=`width`, points) of each of `years` on the trend figure's axis, and of
/// `firm_year`: proportional to the years, the axis running from the earliest to the latest of them
/// all, so that a gap of four years is four times as wide as one. A single year stands in the middle.
pub fn trend_x(years: &[u32], firm_year: u32, width: f64) -> (Vec<f64>, f64) {
    let first = years.iter().copied().chain([firm_year]).min().unwrap_or(firm_year);
    let last = years.iter().copied().chain([firm_year]).max().unwrap_or(firm_year);
    let x = |y: u32| {
        if last == first { width / 2.0 } else { width * f64::from(y - first) / f64::from(last - first) }
    };
    (years.iter().map(|&y| x(y)).collect(), x(firm_year))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions_match_tables() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.0) - 0.841_344_75).abs() < 1e-6);
        assert!((normal_cdf(-1.959_964) - 0.025).abs() < 1e-6);
        assert!((normal_quantile(0.84) - 0.994_457_9).abs() < 1e-5);
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert_eq!(normal_quantile(0.0), -3.0);
    }

    #[test]
    fn trend_positions_are_proportional_to_the_years() {
        let (xs, firm) = trend_x(&[2020, 2024, 2025], 2026, 300.0);
        assert_eq!(xs, [0.0, 200.0, 250.0]);
        assert_eq!(firm, 300.0);
        // The firm's year among the published ones, and one year alone.
        assert_eq!(trend_x(&[2023, 2025], 2024, 100.0), (vec![0.0, 100.0], 50.0));
        assert_eq!(trend_x(&[2025], 2025, 100.0), (vec![50.0], 50.0));
    }

    #[test]
    fn curve_is_cut_at_the_categories() {
        let cats: Vec<Category> =
            [("innovators", 97.5), ("early", 84.0), ("majority", 50.0), ("late", 16.0), ("laggards", 0.0)]
                .iter()
                .map(|(l, p)| Category { label: (*l).into(), share_percent: 0.0, min_percentile: *p })
                .collect();
        let (views, x) = rogers_curve(&cats, 60.0);
        let labels: Vec<&str> = views.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(labels, ["laggards", "late", "majority", "early", "innovators"]);
        assert!(views[2].current && views.iter().filter(|v| v.current).count() == 1);
        // Labels on one row keep a label's width apart; the narrow categories at the right need two.
        for (i, a) in views.iter().enumerate() {
            for b in &views[i + 1..] {
                if a.label_row == b.label_row {
                    assert!((a.label_x - b.label_x).abs() >= ROGERS_LABEL_SPACING, "{} and {}", a.label, b.label);
                }
            }
        }
        assert!(views.iter().any(|v| v.label_row > 0));
        // The median sits in the middle of the canvas; the firm at the 60th percentile right of it.
        assert!((views[2].polygon[0][0] - ROGERS_WIDTH / 2.0).abs() < 0.01);
        assert!(x > ROGERS_WIDTH / 2.0 && x < views[3].polygon[0][0]);
        assert_eq!(date_text(2026, 11, 28, "nl"), "28 november 2026");
    }
}
