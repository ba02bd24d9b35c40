//! A channel's statement of one day, in the simulator's own CSV shape:
//!
//! ```text
//! channel_ref,order_id,kind,amount_fen,status,settled_at
//! sim_0f3a...,P-1001,pay,10000,SUCCEEDED,2025-03-01T10:00:00+08:00
//! ```
//!
//! One line per succeeded order settled that day, oldest first; `kind` is `pay`, `payout` or
//! `refund`; `settled_at` is RFC 3339 with the channel's offset. No field needs quoting: every
//! value is drawn from `A-Z a-z 0-9 _ - : +` and digits.

use crate::date::BusinessDate;
use crate::order::{OrderId, OrderKind, is_token};

/// The header row of the CSV.
pub const STATEMENT_HEADER: &str = "channel_ref,order_id,kind,amount_fen,status,settled_at";
/// Most lines read from one statement.
pub const STATEMENT_LINES_MAX: usize = 1_000_000;
/// The only status a statement line has: statements list settled orders.
const SUCCEEDED: &str = "SUCCEEDED";

/// Why a statement could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// The header row is missing or different.
    #[error("the statement's header row is not `{STATEMENT_HEADER}`")]
    Header,
    /// A line is malformed; the line number (1 is the header) and what is wrong.
    #[error("statement line {0}: {1}")]
    Line(usize, &'static str),
    /// More than [`STATEMENT_LINES_MAX`] lines.
    #[error("the statement has more than {STATEMENT_LINES_MAX} lines")]
    TooLong,
}

/// One settled order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// The channel's transaction id.
    pub channel_ref: String,
    /// The merchant's order id.
    pub order_id: OrderId,
    /// Pay, payout or refund.
    pub kind: OrderKind,
    /// The amount, fen (always positive: the kind gives the direction).
    pub amount_fen: i64,
    /// When it settled, RFC 3339 with the channel's UTC offset.
    pub settled_at: String,
}

/// The succeeded orders of one settlement day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The day.
    pub date: BusinessDate,
    /// Its orders, oldest first.
    pub lines: Vec<StatementLine>,
}

impl Statement {
    /// The statement as CSV, header row first, each line ended by `\n`.
    pub fn to_csv(&self) -> String {
        let mut out = String::with_capacity(64 * (self.lines.len() + 1));
        out.push_str(STATEMENT_HEADER);
        out.push('\n');
        for line in &self.lines {
            out.push_str(&format!(
                "{},{},{},{},{SUCCEEDED},{}\n",
                line.channel_ref,
                line.order_id,
                line.kind.name(),
                line.amount_fen,
                line.settled_at
            ));
        }
        out
    }

    /// Reads the CSV of `date`. Every line must be well formed and settled on `date`.
    pub fn parse_csv(date: BusinessDate, csv: &str) -> Result<Statement, StatementError> {
        let mut rows = csv.lines();
        if rows.next().map(|row| row.trim_end_matches('\r')) != Some(STATEMENT_HEADER) {
            return Err(StatementError::Header);
        }
        let mut lines = Vec::new();
        for (index, row) in rows.enumerate() {
            let row = row.trim_end_matches('\r');
            if row.is_empty() {
                continue;
            }
            if lines.len() == STATEMENT_LINES_MAX {
                return Err(StatementError::TooLong);
            }
            let line =
                parse_line(row, &date).map_err(|what| StatementError::Line(index + 2, what))?;
            lines.push(line);
        }
        Ok(Statement { date, lines })
    }
}

fn parse_line(row: &str, date: &BusinessDate) -> Result<StatementLine, &'static str> {
    let fields: Vec<&str> = row.split(',').collect();
    let [channel_ref, order_id, kind, amount, status, settled_at] = fields[..] else {
        return Err("expected 6 fields");
    };
    if !is_token(channel_ref, 64) {
        return Err("bad channel_ref");
    }
    let order_id = OrderId::parse(order_id).map_err(|_| "bad order_id")?;
    let kind = OrderKind::from_name(kind).ok_or("kind is not pay, payout or refund")?;
    let amount_fen = parse_fen_integer(amount).ok_or("bad amount_fen")?;
    if status != SUCCEEDED {
        return Err("status is not SUCCEEDED");
    }
    let settled_at_ok = settled_at.len() <= 32
        && settled_at.starts_with(date.as_str())
        && settled_at.as_bytes().get(10) == Some(&b'T')
        && settled_at
            .bytes()
            .all(|byte| byte.is_ascii_digit() || b"-:+TZ".contains(&byte));
    if !settled_at_ok {
        return Err("settled_at is not a time on the statement's day");
    }
    Ok(StatementLine {
        channel_ref: channel_ref.to_string(),
        order_id,
        kind,
        amount_fen,
        settled_at: settled_at.to_string(),
    })
}

/// A positive decimal integer without sign or leading zeros, within an `i64`.
fn parse_fen_integer(text: &str) -> Option<i64> {
    let canonical = !text.is_empty()
        && text.len() <= 18
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && !text.starts_with('0');
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> BusinessDate {
        BusinessDate::parse("2025-03-01").expect("date")
    }

    #[test]
    fn round_trips() {
        let statement = Statement {
            date: date(),
            lines: vec![StatementLine {
                channel_ref: "sim_01".to_string(),
                order_id: OrderId::parse("P-1").expect("id"),
                kind: OrderKind::Refund,
                amount_fen: 150,
                settled_at: "2025-03-01T10:00:00+08:00".to_string(),
            }],
        };
        let csv = statement.to_csv();
        assert_eq!(Statement::parse_csv(date(), &csv), Ok(statement));
    }

    #[test]
    fn hostile_lines_are_refused() {
        let head = format!("{STATEMENT_HEADER}\n");
        for (row, line) in [
            ("a,P-1,pay,0,SUCCEEDED,2025-03-01T10:00:00+08:00", 2),
            ("a,P-1,pay,-5,SUCCEEDED,2025-03-01T10:00:00+08:00", 2),
            ("a,P-1,pay,5,FAILED,2025-03-01T10:00:00+08:00", 2),
            ("a,P-1,move,5,SUCCEEDED,2025-03-01T10:00:00+08:00", 2),
            ("a,P-1,pay,5,SUCCEEDED,2025-03-02T10:00:00+08:00", 2),
            ("a,P 1,pay,5,SUCCEEDED,2025-03-01T10:00:00+08:00", 2),
            ("a,P-1,pay,5,SUCCEEDED", 2),
        ] {
            let result = Statement::parse_csv(date(), &format!("{head}{row}\n"));
            assert!(
                matches!(result, Err(StatementError::Line(n, _)) if n == line),
                "{row}"
            );
        }
        assert_eq!(
            Statement::parse_csv(date(), "order_id\n"),
            Err(StatementError::Header)
        );
    }
}
