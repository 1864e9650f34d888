//! Who the demo peers are: approximate shares of sections, size classes, provinces and years.
//!
//! These are *assumptions* for plausible synthetic data, not official statistics. Section shares
//! follow the rough order of the Dutch business register (trade, specialist business services and
//! construction largest); size classes are deliberately over-represented above micro compared
//! with the population (where about 96% of enterprises are micro), because benchmark participants
//! are, and so that every size class can be published; provinces follow roughly the number of
//! firms. Years grow linearly from weight 1 (2013) to 2 (2025).

use domain_model::{Province, SbiSection, SizeClass};

/// Weight per SBI section, per mille, in `SbiSection::ALL` order (A..U).
pub const SECTION_WEIGHTS: [f64; 21] = [
    40.0, 2.0, 45.0, 8.0, 5.0, 120.0, 160.0, 45.0, 40.0, 60.0, 25.0, 25.0, 170.0, 70.0, 5.0, 40.0, 70.0, 40.0, 30.0,
    0.0, 0.0,
];

/// Weight per size class, percent, in `SizeClass::ALL` order (micro, small, medium, large).
pub const SIZE_WEIGHTS: [f64; 4] = [55.0, 28.0, 12.0, 5.0];

/// Weight per province, percent, in `Province::ALL` order (DR, FL, FR, GE, GR, LI, NB, NH, OV,
/// UT, ZE, ZH).
pub const PROVINCE_WEIGHTS: [f64; 12] = [2.5, 2.5, 3.5, 12.0, 3.0, 6.0, 15.0, 18.0, 6.0, 9.0, 2.0, 20.5];

/// Relative weight of `year` among the demo peers: 1 up to 2013, then 1/12 more a year (2 in 2025).
pub fn year_weight(year: u16) -> f64 {
    1.0 + f64::from(year.saturating_sub(2013)) / 12.0
}

/// `s`'s entry of `SECTION_WEIGHTS` (per mille).
pub fn section_weight(s: SbiSection) -> f64 {
    SECTION_WEIGHTS[SbiSection::ALL.iter().position(|x| *x == s).unwrap_or(0)]
}

/// `z`'s entry of `SIZE_WEIGHTS` (percent).
pub fn size_weight(z: SizeClass) -> f64 {
    SIZE_WEIGHTS[SizeClass::ALL.iter().position(|x| *x == z).unwrap_or(0)]
}

/// `p`'s entry of `PROVINCE_WEIGHTS` (percent).
pub fn province_weight(p: Province) -> f64 {
    PROVINCE_WEIGHTS[Province::ALL.iter().position(|x| *x == p).unwrap_or(0)]
}
