//! Business dates and the clock the simulated bank settles by.
//!
//! Dates are plain proleptic Gregorian days computed with Howard Hinnant's civil-from-days
//! algorithm, so no date library is needed and no float is involved.

use core::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// The UTC offset of China Standard Time, seconds: Chinese banks settle by Beijing time.
pub const CHINA_STANDARD_TIME_OFFSET_S: i32 = 8 * 3600;

/// A settlement day, `YYYY-MM-DD`, between the years 1970 and 9999.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusinessDate(String);

/// Why a text is not a business date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a business date is YYYY-MM-DD, a real day between 1970 and 9999")]
pub struct DateError;

impl BusinessDate {
    /// Parses `YYYY-MM-DD`, refusing impossible days (`2025-02-29`, `2025-13-01`).
    pub fn parse(text: &str) -> Result<BusinessDate, DateError> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(index, byte)| index == 4 || index == 7 || byte.is_ascii_digit());
        if !shape_ok {
            return Err(DateError);
        }
        let number =
            |range: core::ops::Range<usize>| text[range].parse::<u32>().map_err(|_| DateError);
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in(year, month) {
            return Err(DateError);
        }
        Ok(BusinessDate(text.to_string()))
    }

    /// The day that holds `unix_ms` in a time zone `utc_offset_s` east of UTC.
    pub fn of_unix_ms(unix_ms: i64, utc_offset_s: i32) -> BusinessDate {
        let local_ms = unix_ms + i64::from(utc_offset_s) * 1000;
        let (year, month, day) = civil_from_days(local_ms.div_euclid(DAY_MS));
        BusinessDate(format!("{year:04}-{month:02}-{day:02}"))
    }

    /// The date as `YYYY-MM-DD`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The date as `YYYYMMDD`, as WeChat Pay names bill days.
    pub fn compact(&self) -> String {
        self.0.replace('-', "")
    }
}

impl fmt::Display for BusinessDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BusinessDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BusinessDate({})", self.0)
    }
}

/// `YYYY-MM-DDTHH:MM:SS+HH:MM` (RFC 3339) for `unix_ms` in a zone `utc_offset_s` east of UTC.
pub(crate) fn rfc3339(unix_ms: i64, utc_offset_s: i32) -> String {
    let (date, time) = local_parts(unix_ms, utc_offset_s);
    let sign = if utc_offset_s < 0 { '-' } else { '+' };
    let offset = utc_offset_s.unsigned_abs();
    format!(
        "{date}T{time}{sign}{:02}:{:02}",
        offset / 3600,
        offset % 3600 / 60
    )
}

/// `YYYY-MM-DD HH:MM:SS` local time, as WeChat Pay writes trade times.
pub(crate) fn local_date_time(unix_ms: i64, utc_offset_s: i32) -> String {
    let (date, time) = local_parts(unix_ms, utc_offset_s);
    format!("{date} {time}")
}

fn local_parts(unix_ms: i64, utc_offset_s: i32) -> (String, String) {
    let local_ms = unix_ms + i64::from(utc_offset_s) * 1000;
    let date = BusinessDate::of_unix_ms(unix_ms, utc_offset_s);
    let second_of_day = local_ms.rem_euclid(DAY_MS) / 1000;
    let time = format!(
        "{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    );
    (date.0, time)
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The year, month and day `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Unix milliseconds now, from the system clock (0 if the clock is before 1970).
pub(crate) fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The source of business time (unix milliseconds) for settlement dates, injectable so tests
/// can settle on a chosen day or move across midnight.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(Arc::new(system_now_ms))
    }

    /// The system clock moved by a fixed offset (negative: into the past).
    pub fn offset_ms(offset_ms: i64) -> Clock {
        Clock(Arc::new(move || system_now_ms() + offset_ms))
    }

    /// Any function of unix milliseconds, e.g. one reading an `AtomicI64` a test advances.
    pub fn from_fn(now_ms: impl Fn() -> i64 + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now_ms))
    }

    /// The current unix time in milliseconds.
    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times_follow_the_calendar() {
        assert_eq!(BusinessDate::of_unix_ms(0, 0).as_str(), "1970-01-01");
        // 2024-02-29T16:30:00Z is 2024-03-01 00:30 in Beijing.
        let ms = 1_709_224_200_000;
        assert_eq!(BusinessDate::of_unix_ms(ms, 0).as_str(), "2024-02-29");
        assert_eq!(
            BusinessDate::of_unix_ms(ms, CHINA_STANDARD_TIME_OFFSET_S).as_str(),
            "2024-03-01"
        );
        assert_eq!(rfc3339(ms, 8 * 3600), "2024-03-01T00:30:00+08:00");
        assert_eq!(local_date_time(ms, 0), "2024-02-29 16:30:00");
    }

    #[test]
    fn impossible_dates_are_refused() {
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-1-01",
            "1969-12-31",
            "2025-04-31",
            "２025-01-01",
        ] {
            assert_eq!(BusinessDate::parse(bad), Err(DateError), "{bad}");
        }
        assert!(BusinessDate::parse("2024-02-29").is_ok());
        assert_eq!(
            BusinessDate::parse("2025-03-01").map(|date| date.compact()),
            Ok("20250301".to_string())
        );
    }
}
