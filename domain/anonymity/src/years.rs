//! Which years a benchmark publishes, and which one a request without a year means. A year comes
//! from a submission's completion time, which the tenant sends: without these rules one tenant
//! could date assessments in 2100 and make 2100 the year every tenant is shown by default.

/// The first year an assessment may be completed in: the first year of the national figures the
/// benchmark is calibrated on (Eurostat 2013, `reference-figures.csv`); the peers of the demo
/// start there too.
pub const FIRST_YEAR: i32 = 2013;

/// How many years before an assessment's own its peers may come from unless configured otherwise:
/// a firm assessed in a year without published figures is compared with the latest earlier year
/// that has them, at most this many back, so that a comparison never rests on old peers.
pub const DEFAULT_PEER_YEARS_BACK: u32 = 2;

/// Whether figures of `year` may be published when the current year is `current_year`: from
/// [`FIRST_YEAR`] up to the current year, never a year still to come.
pub fn publishable_year(year: i32, current_year: i32) -> bool {
    (FIRST_YEAR..=current_year).contains(&year)
}

/// The year a request without one means: the latest of `published` (ascending or not) that is
/// publishable now.
pub fn default_year(published: &[i32], current_year: i32) -> Option<i32> {
    published.iter().copied().filter(|y| publishable_year(*y, current_year)).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_year_is_the_latest_published_one_not_after_the_current_one() {
        assert_eq!(default_year(&[2023, 2024, 2025, 2100], 2026), Some(2025));
        assert_eq!(default_year(&[1, 2024, 9999], 2026), Some(2024));
        assert_eq!(default_year(&[2026, 2025], 2026), Some(2026));
        assert_eq!(default_year(&[2027], 2026), None);
        assert_eq!(default_year(&[], 2026), None);
        assert!(publishable_year(FIRST_YEAR, 2026) && !publishable_year(FIRST_YEAR - 1, 2026));
        assert!(publishable_year(2026, 2026) && !publishable_year(2027, 2026));
    }
}
