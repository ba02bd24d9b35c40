//! Civil dates as the system writes them: `YYYY-MM-DD`, in China Standard Time (UTC+8), the
//! time zone every insurance date here (due dates, cover periods, statement days) is in.

use time::{Date, Month, OffsetDateTime, UtcOffset};

/// China Standard Time, in seconds east of UTC.
pub const CST_OFFSET_S: i32 = 8 * 3600;

/// `2026-03-01`.
pub fn date_text(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Parses `YYYY-MM-DD` (exactly that form, a real calendar day).
pub fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: core::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
    let day = u8::try_from(number(8..10)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// The civil date in China at a unix time in milliseconds.
pub fn date_at_ms(unix_ms: i64) -> Date {
    let offset = UtcOffset::from_whole_seconds(CST_OFFSET_S).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000))
        .map(|at| at.to_offset(offset).date())
        .unwrap_or(Date::MIN)
}

/// Unix milliseconds at the start of `date` in China (00:00 Beijing time).
pub fn day_start_ms(date: Date) -> i64 {
    let offset = UtcOffset::from_whole_seconds(CST_OFFSET_S).unwrap_or(UtcOffset::UTC);
    date.midnight().assume_offset(offset).unix_timestamp() * 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// Dates round-trip through their text form and impossible days are refused.
    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("2028-02-29"), Some(date!(2028 - 02 - 29)));
        assert_eq!(date_text(date!(2026 - 03 - 01)), "2026-03-01");
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "+026-01-01",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        // 2026-11-25 16:00 UTC is already 26 November in Beijing.
        assert_eq!(date_at_ms(1_795_622_400_000), date!(2026 - 11 - 26));
        assert_eq!(date_at_ms(1_795_622_399_000), date!(2026 - 11 - 25));
        assert_eq!(day_start_ms(date!(2026 - 11 - 26)), 1_795_622_400_000);
    }
}
