//! Times as microseconds since the Unix epoch (UTC), as the stores keep them, and their calendar
//! dates (the `time` crate's calendar, already in the tree through the typesetter).

use std::time::{SystemTime, UNIX_EPOCH};

use time::{Date, Month, OffsetDateTime};

/// Now, in microseconds since the epoch.
pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The UTC date and time of `us`, clamped to the calendar's range (years -9999 to 9999).
fn datetime(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).unwrap_or(if us < 0 {
        Date::MIN.midnight().assume_utc()
    } else {
        Date::MAX.midnight().assume_utc()
    })
}

/// The UTC calendar date (year, month, day) of a time in microseconds since the epoch.
pub fn date_of(us: i64) -> (i32, u32, u32) {
    let date = datetime(us).date();
    (date.year(), u32::from(u8::from(date.month())), u32::from(date.day()))
}

/// A time as RFC 3339 in UTC with microseconds, for example `2026-11-28T16:47:39.123456Z`.
pub fn rfc3339(us: i64) -> String {
    let t = datetime(us);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Microseconds since the epoch at the start (00:00 UTC) of a calendar date; `None` for a date
/// that does not exist.
pub fn start_of(year: i32, month: u32, day: u32) -> Option<i64> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    date.midnight().assume_utc().unix_timestamp().checked_mul(1_000_000)
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
        assert_eq!(start_of(2025, 2, 29), None);
        assert_eq!(start_of(2025, 0, 1), None);
        assert_eq!(rfc3339(1_709_208_000_123_456), "2024-02-29T12:00:00.123456Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999Z");
    }
}
