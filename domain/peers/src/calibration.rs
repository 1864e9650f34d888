//! The share of firms that use social media at all, per SBI section, size class and year,
//! derived from the reference figures. How:
//!
//! 1. **National trend for firms with 10+ persons**, `T(y)`: the yearly totals (Eurostat 2013,
//!    2019, 2021; CBS 2015, 2016, 2017), linearly interpolated between them; after the last figure
//!    it grows 1.5 points a year (an assumption: adoption was slowing).
//! 2. **Sections with 10+ persons**: where a figure exists for a section and year it is used
//!    (CBS 2017 for C, D-E, F, G, H, I; for 2021 the 10-50 figure of C and D-E, shifted to all
//!    10+ firms by the size split below). Other sections and years follow `T(y)` plus the
//!    section's own deviation (its nearest such figure, or else its 2021 "2+ persons" figure
//!    against the 2021 total), and a correction shared by those free sections so that the
//!    weighted national total equals `T(y)` exactly.
//! 3. **Size split of 10+**: small (10-49) 4 points below the 10+ share, medium 6 and large 8
//!    above; with the demo mix (28 : 12 : 5) the split leaves the 10+ total unchanged, and it
//!    reproduces the 2021 figure for 10-50 persons (76 against 80).
//! 4. **Micro (1-9)**: the 2021 figure for 2-10 persons per section, free sections corrected so
//!    that the national micro total is the 2021 figure (53), and moving with `T(y)` over the years.
//!
//! "Uses social networks" (CBS 2021) and "uses social media" (Eurostat, CBS 2017) are both read
//! as use of social media. The "2+ persons" figures mix micro and larger firms by the population's
//! weights, which the demo sample deliberately does not have, so they only set deviations.

use std::collections::BTreeMap;

use domain_model::{SbiSection, SizeClass};

use crate::mix;
use crate::reference::{Figure, FigureError, figures};

/// Offsets of small, medium and large against the 10+ share (they cancel with weights 28:12:5).
const TEN_PLUS_SPLIT: [f64; 3] = [-4.0, 6.0, 8.0];

/// Growth of `T(y)` per year after the last figure.
const GROWTH_AFTER_LAST: f64 = 1.5;

/// Shares of firms using social media, per section, size class and year, in percent.
#[derive(Clone, Debug)]
pub struct Targets {
    trend: BTreeMap<u16, f64>,
    ten_plus: BTreeMap<(SbiSection, u16), f64>,
    micro: BTreeMap<(SbiSection, u16), f64>,
}

fn sections_of(key: &str) -> Vec<SbiSection> {
    match key {
        "D-E" => vec![SbiSection::D, SbiSection::E],
        k => SbiSection::parse(k).into_iter().collect(),
    }
}

fn interpolate(points: &BTreeMap<u16, f64>, year: u16) -> f64 {
    if let Some(v) = points.get(&year) {
        return *v;
    }
    let before = points.range(..year).next_back();
    let after = points.range(year..).next();
    match (before, after) {
        (Some((y0, v0)), Some((y1, v1))) => v0 + (v1 - v0) * f64::from(year - y0) / f64::from(y1 - y0),
        (Some((y0, v0)), None) => v0 + GROWTH_AFTER_LAST * f64::from(year - y0),
        (None, Some((_, v1))) => *v1,
        (None, None) => 0.0,
    }
}

impl Targets {
    /// Derives the targets from the embedded reference figures.
    pub fn from_reference() -> Result<Targets, FigureError> {
        Ok(Targets::derive(&figures()?))
    }

    /// Derives the targets from `figures`.
    pub fn derive(figures: &[Figure]) -> Targets {
        let weights: Vec<(SbiSection, f64)> = SbiSection::ALL.iter().map(|s| (*s, mix::section_weight(*s))).collect();
        let trend = national_trend(figures);
        let ten_plus = ten_plus_shares(figures, &trend, &weights);
        let micro = micro_shares(figures, &trend, &weights);
        Targets { trend, ten_plus, micro }
    }

    /// Share of firms of `section`, `size` and `year` that use social media, in percent.
    pub fn use_pct(&self, section: SbiSection, size: SizeClass, year: u16) -> f64 {
        let v = match size {
            SizeClass::Micro => self.micro.get(&(section, year)).copied().unwrap_or(50.0),
            other => {
                let base = self.ten_plus.get(&(section, year)).copied().unwrap_or(50.0);
                let offset = match other {
                    SizeClass::Small => TEN_PLUS_SPLIT[0],
                    SizeClass::Medium => TEN_PLUS_SPLIT[1],
                    _ => TEN_PLUS_SPLIT[2],
                };
                base + offset
            }
        };
        v.clamp(2.0, 98.0)
    }

    /// The national trend for firms with 10+ persons, `T(y)`, in percent.
    pub fn trend(&self, year: u16) -> f64 {
        interpolate(&self.trend, year)
    }
}

/// Whether `f` is a figure of population `pop` broken down by `breakdown`.
fn is(f: &Figure, pop: &str, breakdown: &str) -> bool {
    f.population == pop && f.breakdown == breakdown
}

/// The national share of firms with ten or more persons that use social media, per year.
fn national_trend(figures: &[Figure]) -> BTreeMap<u16, f64> {
    let ten_plus_total = |f: &Figure| {
        f.population == "enterprises 10+ persons"
            && f.breakdown == "total"
            && (f.measure == "uses social media" || f.measure == "active on a social network")
    };
    let mut trend: BTreeMap<u16, f64> = BTreeMap::new();
    for f in figures.iter().filter(|f| ten_plus_total(f)) {
        trend.insert(f.year, f.value_pct);
    }
    for f in figures.iter().filter(|f| f.population.starts_with("enterprises 10+ persons (") && f.breakdown == "total")
    {
        if f.measure == "uses social media" {
            trend.entry(f.year).or_insert(f.value_pct);
        }
    }
    trend
}

/// The shares of firms with ten or more persons per section and year: each section's own
/// figures where they exist, elsewhere the national trend plus the section's deviation, balanced
/// so that the sections' weighted mean is the national figure.
fn ten_plus_shares(
    figures: &[Figure],
    trend: &BTreeMap<u16, f64>,
    weights: &[(SbiSection, f64)],
) -> BTreeMap<(SbiSection, u16), f64> {
    // Deviations of each section from the national figure of the same population and year.
    let total_2plus = figures.iter().find(|f| is(f, "enterprises 2+ persons", "total")).map_or(0.0, |f| f.value_pct);
    let mut fallback_dev: BTreeMap<SbiSection, f64> = BTreeMap::new();
    for f in figures.iter().filter(|f| is(f, "enterprises 2+ persons", "sbi_section")) {
        for s in sections_of(&f.key) {
            fallback_dev.insert(s, f.value_pct - total_2plus);
        }
    }
    let small_offset = TEN_PLUS_SPLIT[0];
    // Anchored 10+ shares: (section, year) -> share.
    let mut anchors: BTreeMap<(SbiSection, u16), f64> = BTreeMap::new();
    for f in figures.iter().filter(|f| is(f, "enterprises 10+ persons", "sbi_section")) {
        for s in sections_of(&f.key) {
            anchors.insert((s, f.year), f.value_pct);
        }
    }
    for f in figures.iter().filter(|f| is(f, "enterprises 10-50 persons", "sbi_section")) {
        for s in sections_of(&f.key) {
            anchors.insert((s, f.year), f.value_pct - small_offset);
        }
    }
    let total_weight: f64 = weights.iter().map(|(_, w)| w).sum();
    let mut ten_plus = BTreeMap::new();
    for year in crate::YEARS {
        let t = interpolate(trend, year);
        let dev = |s: SbiSection| deviation(&anchors, &fallback_dev, trend, s, year);
        let fixed = |s: SbiSection| anchors.contains_key(&(s, year));
        let free_weight: f64 = weights.iter().filter(|(s, _)| !fixed(*s)).map(|(_, w)| w).sum();
        let fixed_sum: f64 = weights.iter().filter(|(s, _)| fixed(*s)).map(|(s, w)| w * anchors[&(*s, year)]).sum();
        let free_sum: f64 = weights.iter().filter(|(s, _)| !fixed(*s)).map(|(s, w)| w * (t + dev(*s))).sum();
        let correction = if free_weight > 0.0 { (t * total_weight - fixed_sum - free_sum) / free_weight } else { 0.0 };
        for (s, _) in weights {
            let v = match anchors.get(&(*s, year)) {
                Some(v) => *v,
                None => t + dev(*s) + correction,
            };
            ten_plus.insert((*s, year), v.clamp(2.0, 98.0));
        }
    }
    ten_plus
}

/// The deviation of section `s` from the national trend in `year`: from its nearest anchor
/// (interpolated between two), else its fallback deviation.
fn deviation(
    anchors: &BTreeMap<(SbiSection, u16), f64>,
    fallback_dev: &BTreeMap<SbiSection, f64>,
    trend: &BTreeMap<u16, f64>,
    s: SbiSection,
    year: u16,
) -> f64 {
    let own: BTreeMap<u16, f64> =
        anchors.iter().filter(|((sec, _), _)| *sec == s).map(|((_, y), v)| (*y, v - interpolate(trend, *y))).collect();
    if own.is_empty() {
        return fallback_dev.get(&s).copied().unwrap_or(0.0);
    }
    let nearest = own.iter().min_by_key(|(y, _)| y.abs_diff(year)).map_or(0.0, |(_, d)| *d);
    // Between two anchors, interpolate the deviation.
    let before = own.range(..=year).next_back();
    let after = own.range(year..).next();
    match (before, after) {
        (Some((y0, d0)), Some((y1, d1))) if y1 > y0 => d0 + (d1 - d0) * f64::from(year - y0) / f64::from(y1 - y0),
        _ => nearest,
    }
}

/// Micro firms: the 2021 figures for 2-10 persons, balanced to the national micro figure and
/// moved along the national trend.
fn micro_shares(
    figures: &[Figure],
    trend: &BTreeMap<u16, f64>,
    weights: &[(SbiSection, f64)],
) -> BTreeMap<(SbiSection, u16), f64> {
    let total_weight: f64 = weights.iter().map(|(_, w)| w).sum();
    let micro_total = figures.iter().find(|f| is(f, "enterprises 2-10 persons", "total")).map_or(0.0, |f| f.value_pct);
    let micro_year = figures.iter().find(|f| is(f, "enterprises 2-10 persons", "total")).map_or(2021, |f| f.year);
    let mut micro_anchor: BTreeMap<SbiSection, f64> = BTreeMap::new();
    for f in figures.iter().filter(|f| is(f, "enterprises 2-10 persons", "sbi_section")) {
        for s in sections_of(&f.key) {
            micro_anchor.insert(s, f.value_pct);
        }
    }
    let free_weight: f64 = weights.iter().filter(|(s, _)| !micro_anchor.contains_key(s)).map(|(_, w)| w).sum();
    let fixed_sum: f64 = weights.iter().filter_map(|(s, w)| micro_anchor.get(s).map(|v| w * v)).sum();
    let free_value =
        if free_weight > 0.0 { (micro_total * total_weight - fixed_sum) / free_weight } else { micro_total };
    let t_micro = interpolate(trend, micro_year);
    let mut micro = BTreeMap::new();
    for year in crate::YEARS {
        let shift = interpolate(trend, year) - t_micro;
        for (s, _) in weights {
            let base = micro_anchor.get(s).copied().unwrap_or(free_value);
            micro.insert((*s, year), (base + shift).clamp(2.0, 98.0));
        }
    }
    micro
}
