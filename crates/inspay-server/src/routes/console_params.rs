//! Parameters of the staff console's lists, parsed at the edge into typed values.
//!
//! The signed protocol refuses query strings on every route (unknown input is refused, not
//! ignored, clause 5.4.2.2), so a list's filter and page size travel as path segments, as the
//! claim queue's state does: `GET /v1/finance/payouts/{status}/{limit}`. Each list also has a
//! bare path with its defaults. A bad value is `422 INSPAY-REQ-003` naming the parameter.

use crate::error::{ApiError, ErrorCode};
use inspay_store::staff_console::CONSOLE_ROWS_MAX;

/// Rows a list returns when the caller names no limit.
pub const LIMIT_DEFAULT: i64 = 100;

const _: () = assert!(LIMIT_DEFAULT >= 1 && LIMIT_DEFAULT <= CONSOLE_ROWS_MAX);

/// How many rows a list returns: 1 to [`CONSOLE_ROWS_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(i64);

impl Limit {
    /// The default page.
    pub const DEFAULT: Limit = Limit(LIMIT_DEFAULT);

    /// Parses a limit: 1 to 3 decimal digits, from 1 to [`CONSOLE_ROWS_MAX`].
    pub fn parse(raw: &str) -> Result<Limit, ApiError> {
        let refused = || {
            ApiError::new(ErrorCode::InvalidField).detail(format!(
                "limit: a whole number from 1 to {CONSOLE_ROWS_MAX}"
            ))
        };
        if raw.is_empty() || raw.len() > 3 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refused());
        }
        let value: i64 = raw.parse().map_err(|_| refused())?;
        if (1..=CONSOLE_ROWS_MAX).contains(&value) {
            Ok(Limit(value))
        } else {
            Err(refused())
        }
    }

    /// The number of rows.
    pub fn rows(self) -> i64 {
        self.0
    }
}

/// A filter segment: `all`, or one of `names` (the caller's typed values' names).
pub fn one_of<T: Copy>(
    parameter: &str,
    raw: &str,
    values: &[(&'static str, T)],
) -> Result<Option<T>, ApiError> {
    if raw == "all" {
        return Ok(None);
    }
    values
        .iter()
        .find(|(name, _)| *name == raw)
        .map(|(_, value)| Some(*value))
        .ok_or_else(|| {
            let names: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
            ApiError::new(ErrorCode::InvalidField)
                .detail(format!("{parameter}: all, or one of {}", names.join(", ")))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_strictly() {
        assert_eq!(Limit::parse("1").map(Limit::rows).ok(), Some(1));
        assert_eq!(Limit::parse("500").map(Limit::rows).ok(), Some(500));
        for bad in [
            "0", "501", "999", "1000", "", "-1", "+5", "5 ", "1e2", "٣", "abc",
        ] {
            let error = Limit::parse(bad).expect_err(bad);
            assert_eq!(error.code(), ErrorCode::InvalidField, "{bad:?}");
        }
    }

    #[test]
    fn filters_take_all_or_a_known_name() {
        let values = [("pending", 1), ("failed", 2)];
        assert_eq!(one_of("status", "all", &values).ok(), Some(None));
        assert_eq!(one_of("status", "failed", &values).ok(), Some(Some(2)));
        for bad in ["", "ALL", "Failed", "failed ", "x'--"] {
            assert!(one_of("status", bad, &values).is_err(), "{bad:?}");
        }
    }
}
