//! Times as microseconds since the Unix epoch (UTC), as the stores keep them, and the calendar
//! year of one, without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in microseconds since the epoch.
pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The UTC calendar date (year, month, day) of a time in microseconds since the epoch.
pub fn date_of(us: i64) -> (i32, u32, u32) {
    // Days since 1970-01-01, then the civil-from-days algorithm (Howard Hinnant).
    let days = us.div_euclid(86_400_000_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (i32::try_from(year).unwrap_or(i32::MAX), month as u32, day)
}

/// A time as RFC 3339 in UTC with microseconds, for example `2026-11-28T16:47:39.123456Z`.
pub fn rfc3339(us: i64) -> String {
    let (y, m, d) = date_of(us);
    let secs = us.div_euclid(1_000_000).rem_euclid(86_400);
    let micros = us.rem_euclid(1_000_000);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Microseconds since the epoch at the start (00:00 UTC) of a calendar date; `None` for a date
/// that does not exist.
pub fn start_of(year: i32, month: u32, day: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    // Days-from-civil (Howard Hinnant), the inverse of `date_of`.
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let us = days.checked_mul(86_400_000_000)?;
    // A day past the month's end comes back as another date.
    (date_of(us) == (year, month, day)).then_some(us)
}

/// Parses `YYYY-MM-DD` into a calendar date that exists.
pub fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let date = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    start_of(date.0, date.1, date.2).map(|_| date)
}

/// The UTC calendar year of a time in microseconds since the epoch.
pub fn year_of(us: i64) -> i32 {
    date_of(us).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years() {
        assert_eq!(year_of(0), 1970);
        // 2021-12-31T23:59:59Z and 2022-01-01T00:00:00Z.
        assert_eq!(year_of(1_640_995_199_000_000), 2021);
        assert_eq!(year_of(1_640_995_200_000_000), 2022);
        // 2024-02-29T12:00:00Z.
        assert_eq!(year_of(1_709_208_000_000_000), 2024);
        assert_eq!(year_of(-1), 1969);
        assert_eq!(date_of(1_709_208_000_000_000), (2024, 2, 29));
        assert_eq!(date_of(0), (1970, 1, 1));
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(start_of(1970, 1, 1), Some(0));
        for us in [0, 951_782_400_000_000, 1_795_000_000_000_000, -86_400_000_000] {
            let (y, m, d) = date_of(us);
            let start = start_of(y, m, d).unwrap();
            assert!(start <= us && us - start < 86_400_000_000);
        }
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2025-02-29"), None);
        assert_eq!(parse_date("2025-13-01"), None);
        assert_eq!(parse_date("25-1-1"), None);
    }
}
