//! A day's orders in the shape of a WeChat Pay trade bill (交易账单), and a parser for it that
//! reconciliation uses.
//!
//! The shape follows WeChat Pay's published description of the trade bill: a header row of
//! 27 columns ([`BILL_HEADER`]); one row per order, every field prefixed with a backtick
//! (`` ` ``) so spreadsheet programs keep long numbers as text; then a summary header
//! ([`SUMMARY_HEADER`]) and one summary row, also backtick-prefixed. Amounts are yuan with
//! two decimals. A pay order is a `SUCCESS` row; a refund is a `REFUND` row naming the
//! original order in 商户订单号 / 微信订单号 and itself in 商户退款单号 / 微信退款单号, with
//! `0.00` in the order-amount columns, so each column's sum is the day's total. Payouts are
//! not in a trade bill (WeChat lists transfers in its fund-flow bill): the channel's own
//! statement carries them.
//!
//! Amounts are parsed to fen with integer arithmetic only; the summary row must agree with
//! the rows or the bill is refused.

/// The header row of the bill's detail part.
pub const BILL_HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,\
用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,\
退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
/// The header row of the summary.
pub const SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";
/// Most rows read from one bill.
pub const BILL_ROWS_MAX: usize = 1_000_000;
/// Columns of a detail row.
const COLUMNS: usize = 27;
/// Longest text field kept, characters.
const FIELD_CHARS_MAX: usize = 256;

/// Why a bill could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillError {
    /// The detail header row is missing or different.
    #[error("the bill does not start with the trade-bill header row")]
    Header,
    /// A row is malformed; its line number (1 is the header) and what is wrong.
    #[error("bill line {0}: {1}")]
    Row(usize, &'static str),
    /// The summary is missing, malformed, or disagrees with the rows.
    #[error("the bill's summary {0}")]
    Summary(&'static str),
    /// More than [`BILL_ROWS_MAX`] rows.
    #[error("the bill has more than {BILL_ROWS_MAX} rows")]
    TooLong,
}

/// One row of a trade bill, amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BillRow {
    /// 交易时间, `YYYY-MM-DD HH:MM:SS`.
    pub trade_time: String,
    /// 公众账号ID.
    pub app_id: String,
    /// 商户号.
    pub mch_id: String,
    /// 特约商户号.
    pub sub_mch_id: String,
    /// 设备号.
    pub device_info: String,
    /// 微信订单号: the channel's reference of the pay order.
    pub transaction_id: String,
    /// 商户订单号: our pay order id.
    pub out_trade_no: String,
    /// 用户标识.
    pub openid: String,
    /// 交易类型.
    pub trade_type: String,
    /// 交易状态: `SUCCESS` (a payment) or `REFUND` (a refund).
    pub trade_state: String,
    /// 付款银行.
    pub bank_type: String,
    /// 货币种类.
    pub currency: String,
    /// 应结订单金额, fen.
    pub settlement_total_fen: i64,
    /// 代金券金额, fen.
    pub coupon_fen: i64,
    /// 微信退款单号: the channel's reference of the refund.
    pub refund_id: String,
    /// 商户退款单号: our refund order id.
    pub out_refund_no: String,
    /// 退款金额, fen.
    pub refund_fen: i64,
    /// 充值券退款金额, fen.
    pub recharge_coupon_refund_fen: i64,
    /// 退款类型.
    pub refund_type: String,
    /// 退款状态.
    pub refund_status: String,
    /// 商品名称.
    pub product: String,
    /// 商户数据包.
    pub attach: String,
    /// 手续费, fen (negative on a refund: the fee given back).
    pub fee_fen: i64,
    /// 费率, e.g. `0.60%`.
    pub fee_rate: String,
    /// 订单金额, fen.
    pub total_fen: i64,
    /// 申请退款金额, fen.
    pub requested_refund_fen: i64,
    /// 费率备注.
    pub fee_rate_note: String,
}

impl BillRow {
    /// Our order id the row is about: the refund's own id on a `REFUND` row, the pay order's
    /// on a `SUCCESS` row.
    pub fn merchant_order_id(&self) -> &str {
        if self.is_refund() {
            &self.out_refund_no
        } else {
            &self.out_trade_no
        }
    }

    /// The money the row moved, fen: the refund on a `REFUND` row, the order amount
    /// otherwise.
    pub fn amount_fen(&self) -> i64 {
        if self.is_refund() {
            self.refund_fen
        } else {
            self.total_fen
        }
    }

    /// Whether this is a `REFUND` row.
    pub fn is_refund(&self) -> bool {
        self.trade_state == "REFUND"
    }
}

/// Yuan with two decimals from fen, e.g. `-0.05`, `123.40`.
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let magnitude = fen.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

/// Fen from yuan with at most two decimals (`12`, `12.3`, `12.34`, `-0.05`), without floats.
pub fn yuan_to_fen(text: &str) -> Option<i64> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let shape_ok = (1..=15).contains(&whole.len())
        && whole.bytes().all(|byte| byte.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.bytes().all(|byte| byte.is_ascii_digit())
        && !(unsigned.contains('.') && fraction.is_empty());
    if !shape_ok {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    let fen = whole.checked_mul(100)?.checked_add(fraction)?;
    Some(if negative { -fen } else { fen })
}

/// A text field as it may appear in the bill: commas, backticks and line breaks, which the
/// format cannot carry, become spaces.
fn clean(text: &str) -> String {
    text.chars()
        .take(FIELD_CHARS_MAX)
        .map(|c| {
            if matches!(c, ',' | '`' | '\r' | '\n') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn push_row(out: &mut String, fields: &[String]) {
    let row: Vec<String> = fields.iter().map(|field| format!("`{field}")).collect();
    out.push_str(&row.join(","));
    out.push_str("\r\n");
}

/// Renders a bill with its summary. Text fields are cleaned of `,` `` ` `` and line breaks.
pub fn render_wechat_bill(rows: &[BillRow]) -> String {
    let mut out = String::with_capacity(256 * (rows.len() + 3));
    out.push_str(BILL_HEADER);
    out.push_str("\r\n");
    for row in rows {
        let texts = [
            &row.trade_time,
            &row.app_id,
            &row.mch_id,
            &row.sub_mch_id,
            &row.device_info,
            &row.transaction_id,
            &row.out_trade_no,
            &row.openid,
            &row.trade_type,
            &row.trade_state,
            &row.bank_type,
            &row.currency,
        ];
        let mut fields: Vec<String> = texts.iter().map(|text| clean(text)).collect();
        fields.push(fen_to_yuan(row.settlement_total_fen));
        fields.push(fen_to_yuan(row.coupon_fen));
        fields.push(clean(&row.refund_id));
        fields.push(clean(&row.out_refund_no));
        fields.push(fen_to_yuan(row.refund_fen));
        fields.push(fen_to_yuan(row.recharge_coupon_refund_fen));
        fields.push(clean(&row.refund_type));
        fields.push(clean(&row.refund_status));
        fields.push(clean(&row.product));
        fields.push(clean(&row.attach));
        fields.push(fen_to_yuan(row.fee_fen));
        fields.push(clean(&row.fee_rate));
        fields.push(fen_to_yuan(row.total_fen));
        fields.push(fen_to_yuan(row.requested_refund_fen));
        fields.push(clean(&row.fee_rate_note));
        push_row(&mut out, &fields);
    }
    out.push_str(SUMMARY_HEADER);
    out.push_str("\r\n");
    let totals = Totals::of(rows);
    push_row(&mut out, &totals.fields());
    out
}

/// The summary values.
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    count: usize,
    settlement_fen: i64,
    refund_fen: i64,
    recharge_coupon_refund_fen: i64,
    fee_fen: i64,
    total_fen: i64,
    requested_refund_fen: i64,
}

impl Totals {
    fn of(rows: &[BillRow]) -> Totals {
        let sum =
            |field: fn(&BillRow) -> i64| rows.iter().map(field).fold(0i64, i64::saturating_add);
        Totals {
            count: rows.len(),
            settlement_fen: sum(|row| row.settlement_total_fen),
            refund_fen: sum(|row| row.refund_fen),
            recharge_coupon_refund_fen: sum(|row| row.recharge_coupon_refund_fen),
            fee_fen: sum(|row| row.fee_fen),
            total_fen: sum(|row| row.total_fen),
            requested_refund_fen: sum(|row| row.requested_refund_fen),
        }
    }

    fn fields(&self) -> Vec<String> {
        let mut fields = vec![self.count.to_string()];
        fields.extend(
            [
                self.settlement_fen,
                self.refund_fen,
                self.recharge_coupon_refund_fen,
                self.fee_fen,
                self.total_fen,
                self.requested_refund_fen,
            ]
            .map(fen_to_yuan),
        );
        fields
    }

    fn parse(row: &str) -> Option<Totals> {
        let fields = unquote(row, 7)?;
        let amount = |index: usize| yuan_to_fen(fields[index]);
        let count_ok = !fields[0].is_empty() && fields[0].bytes().all(|b| b.is_ascii_digit());
        Some(Totals {
            count: if count_ok {
                fields[0].parse().ok()?
            } else {
                return None;
            },
            settlement_fen: amount(1)?,
            refund_fen: amount(2)?,
            recharge_coupon_refund_fen: amount(3)?,
            fee_fen: amount(4)?,
            total_fen: amount(5)?,
            requested_refund_fen: amount(6)?,
        })
    }
}

/// The fields of a backtick-prefixed row, if it has exactly `columns` of them.
fn unquote(row: &str, columns: usize) -> Option<Vec<&str>> {
    let fields: Option<Vec<&str>> = row
        .split(',')
        .map(|field| field.strip_prefix('`'))
        .collect();
    fields.filter(|fields| fields.len() == columns)
}

fn parse_row(row: &str) -> Result<BillRow, &'static str> {
    let fields = unquote(row, COLUMNS).ok_or("expected 27 backtick-prefixed fields")?;
    if fields
        .iter()
        .any(|field| field.chars().count() > FIELD_CHARS_MAX)
    {
        return Err("a field is too long");
    }
    let text = |index: usize| fields[index].to_string();
    let amount = |index: usize| yuan_to_fen(fields[index]).ok_or("an amount is not yuan");
    let row = BillRow {
        trade_time: text(0),
        app_id: text(1),
        mch_id: text(2),
        sub_mch_id: text(3),
        device_info: text(4),
        transaction_id: text(5),
        out_trade_no: text(6),
        openid: text(7),
        trade_type: text(8),
        trade_state: text(9),
        bank_type: text(10),
        currency: text(11),
        settlement_total_fen: amount(12)?,
        coupon_fen: amount(13)?,
        refund_id: text(14),
        out_refund_no: text(15),
        refund_fen: amount(16)?,
        recharge_coupon_refund_fen: amount(17)?,
        refund_type: text(18),
        refund_status: text(19),
        product: text(20),
        attach: text(21),
        fee_fen: amount(22)?,
        fee_rate: text(23),
        total_fen: amount(24)?,
        requested_refund_fen: amount(25)?,
        fee_rate_note: text(26),
    };
    Ok(row)
}

/// Reads a trade bill: its rows, after checking that the summary agrees with them.
pub fn parse_wechat_bill(bill: &str) -> Result<Vec<BillRow>, BillError> {
    let bill = bill.strip_prefix('\u{feff}').unwrap_or(bill);
    let mut lines = bill.lines().map(|line| line.trim_end_matches('\r'));
    if lines.next() != Some(BILL_HEADER) {
        return Err(BillError::Header);
    }
    let mut rows = Vec::new();
    let mut summary = None;
    for (index, line) in lines.by_ref().enumerate() {
        if line == SUMMARY_HEADER {
            summary = Some(());
            break;
        }
        if rows.len() == BILL_ROWS_MAX {
            return Err(BillError::TooLong);
        }
        rows.push(parse_row(line).map_err(|what| BillError::Row(index + 2, what))?);
    }
    summary.ok_or(BillError::Summary("header is missing"))?;
    let totals = lines
        .next()
        .and_then(Totals::parse)
        .ok_or(BillError::Summary("row is missing or malformed"))?;
    if lines.any(|line| !line.is_empty()) {
        return Err(BillError::Summary("is followed by more lines"));
    }
    if totals != Totals::of(&rows) {
        return Err(BillError::Summary("does not agree with the rows"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_and_fen_convert_without_floats() {
        for (text, fen) in [
            ("0.00", 0),
            ("1.5", 150),
            ("12", 1200),
            ("-0.05", -5),
            ("99.99", 9999),
        ] {
            assert_eq!(yuan_to_fen(text), Some(fen), "{text}");
        }
        for bad in ["", "1.", ".5", "1.234", "1e3", "+1", "--1", "1,00", "0x10"] {
            assert_eq!(yuan_to_fen(bad), None, "{bad}");
        }
        assert_eq!(fen_to_yuan(-5), "-0.05");
        assert_eq!(fen_to_yuan(10_000), "100.00");
    }

    #[test]
    fn a_summary_that_disagrees_is_refused() {
        let row = BillRow {
            trade_state: "SUCCESS".to_string(),
            total_fen: 100,
            settlement_total_fen: 100,
            ..BillRow::default()
        };
        let bill = render_wechat_bill(std::slice::from_ref(&row));
        assert_eq!(parse_wechat_bill(&bill), Ok(vec![row]));
        let forged = bill.replace("`1,`1.00", "`1,`2.00");
        assert_ne!(forged, bill);
        assert_eq!(
            parse_wechat_bill(&forged),
            Err(BillError::Summary("does not agree with the rows"))
        );
        let cut = bill.replace(SUMMARY_HEADER, "");
        assert!(parse_wechat_bill(&cut).is_err());
    }
}
