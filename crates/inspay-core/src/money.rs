//! Money in integer fen (分), the only unit the system computes in (clause 5.3.1.3).
//!
//! [`Money`] is a non-negative sum, for balances, totals and limits. [`Amount`] is what a fund
//! operation moves: strictly positive, so "pay zero" or "refund minus ten" cannot be expressed
//! past the edge. Both are bounded by [`Money::MAX`], far above any insurance sum and far below
//! what `i64` can hold, so adding two of them can never overflow. There are no floats anywhere:
//! yuan text such as `"1234.56"` is parsed digit by digit.

use core::fmt;

/// The largest sum the system holds: 1,000,000,000,000.00 CNY (10¹⁴ fen). Sums of two such
/// values stay far inside `i64`.
pub const MONEY_FEN_MAX: i64 = 100_000_000_000_000;
const _: () = assert!(MONEY_FEN_MAX.checked_mul(2).is_some());

/// Fen in one yuan.
pub const FEN_PER_YUAN: i64 = 100;

/// Why a value is not a sum of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Below zero.
    #[error("an amount may not be negative")]
    Negative,
    /// Zero, where a fund operation needs a positive amount.
    #[error("an amount must be greater than zero")]
    Zero,
    /// Above [`MONEY_FEN_MAX`].
    #[error("an amount may not exceed 1,000,000,000,000.00 CNY")]
    TooLarge,
    /// Not a decimal number of yuan such as `12`, `12.3` or `12.34`.
    #[error("an amount in yuan is digits with at most two decimals, such as 1234.56")]
    Malformed,
}

/// A non-negative sum of CNY, in fen.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);
    /// The largest sum.
    pub const MAX: Money = Money(MONEY_FEN_MAX);

    /// A sum of fen; refuses negatives and sums above [`Money::MAX`].
    pub fn from_fen(fen: i64) -> Result<Self, MoneyError> {
        if fen < 0 {
            Err(MoneyError::Negative)
        } else if fen > MONEY_FEN_MAX {
            Err(MoneyError::TooLarge)
        } else {
            Ok(Self(fen))
        }
    }

    /// Parses yuan as written by people and in bank statements: `"1234.56"`, `"0.5"`, `"12"`.
    /// No sign, no exponent, no separators, at most two decimals.
    pub fn parse_yuan(text: &str) -> Result<Self, MoneyError> {
        let text = text.trim();
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (text, ""),
        };
        let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 13
            || fraction.len() > 2
            || (text.contains('.') && fraction.is_empty())
            || !digits_only(whole)
            || !digits_only(fraction)
        {
            return Err(MoneyError::Malformed);
        }
        let mut fen: i64 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            fen = fen * 10 + i64::from(b - b'0');
        }
        for _ in fraction.len()..2 {
            fen *= 10;
        }
        Self::from_fen(fen)
    }

    /// The sum in fen.
    pub fn fen(self) -> i64 {
        self.0
    }

    /// `"1234.56"`: yuan with two decimals, the form bank statements and CSV exports use.
    pub fn to_yuan_string(self) -> String {
        format!("{}.{:02}", self.0 / FEN_PER_YUAN, self.0 % FEN_PER_YUAN)
    }

    /// The sum of both, or `None` above [`Money::MAX`].
    pub fn checked_add(self, other: Money) -> Option<Money> {
        Self::from_fen(self.0 + other.0).ok()
    }

    /// The difference, or `None` when `other` is larger (a sum cannot go below zero).
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        Self::from_fen(self.0 - other.0).ok()
    }

    /// The smaller of the two.
    pub fn min(self, other: Money) -> Money {
        Money(self.0.min(other.0))
    }

    /// `self × numerator ÷ denominator`, rounded down to the fen; `None` for a zero
    /// denominator or a ratio above one. Used for pro-rata shares, which never exceed the whole.
    pub fn share(self, numerator: u64, denominator: u64) -> Option<Money> {
        if denominator == 0 || numerator > denominator {
            return None;
        }
        let fen = i128::from(self.0) * i128::from(numerator) / i128::from(denominator);
        // A share of a valid sum is a valid sum: 0 ≤ fen ≤ self.
        i64::try_from(fen).ok().map(Money)
    }

    /// This sum as an amount a fund operation may move, if it is not zero.
    pub fn to_amount(self) -> Result<Amount, MoneyError> {
        Amount::new(self)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} fen)", self.0)
    }
}

impl fmt::Display for Money {
    /// `"1234.56 CNY"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} CNY", self.to_yuan_string())
    }
}

impl core::iter::Sum<Money> for Option<Money> {
    fn sum<I: Iterator<Item = Money>>(mut iter: I) -> Self {
        iter.try_fold(Money::ZERO, Money::checked_add)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fen = i64::deserialize(deserializer)?;
        Money::from_fen(fen).map_err(serde::de::Error::custom)
    }
}

/// A strictly positive sum that a fund operation moves: a premium, a payout, a refund, one
/// side of a ledger posting.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Money);

impl Amount {
    /// Refuses zero.
    pub fn new(money: Money) -> Result<Self, MoneyError> {
        if money == Money::ZERO {
            Err(MoneyError::Zero)
        } else {
            Ok(Self(money))
        }
    }

    /// An amount of fen: positive and at most [`Money::MAX`].
    pub fn from_fen(fen: i64) -> Result<Self, MoneyError> {
        Self::new(Money::from_fen(fen)?)
    }

    /// Parses yuan text (see [`Money::parse_yuan`]) and refuses zero.
    pub fn parse_yuan(text: &str) -> Result<Self, MoneyError> {
        Self::new(Money::parse_yuan(text)?)
    }

    /// The sum.
    pub fn money(self) -> Money {
        self.0
    }

    /// The sum in fen.
    pub fn fen(self) -> i64 {
        self.0.fen()
    }
}

impl From<Amount> for Money {
    fn from(amount: Amount) -> Money {
        amount.0
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({} fen)", self.0.fen())
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fen = i64::deserialize(deserializer)?;
        Amount::from_fen(fen).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Amounts are integer fen; zero and negative amounts cannot be built.
    /// req: 5.3.1.3
    #[test]
    fn amounts_are_positive_integer_fen() {
        assert_eq!(Amount::from_fen(0), Err(MoneyError::Zero));
        assert_eq!(Amount::from_fen(-1), Err(MoneyError::Negative));
        assert_eq!(Money::from_fen(-1), Err(MoneyError::Negative));
        assert_eq!(
            Amount::from_fen(MONEY_FEN_MAX + 1),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(Amount::from_fen(1).map(Amount::fen), Ok(1));
        assert!(serde_json::from_str::<Amount>("0").is_err());
        assert!(serde_json::from_str::<Amount>("-5").is_err());
        assert!(serde_json::from_str::<Amount>("1.5").is_err());
        assert_eq!(
            serde_json::from_str::<Amount>("150").map(Amount::fen).ok(),
            Some(150)
        );
    }

    /// Yuan text parses exactly, without floats, and refuses anything ambiguous.
    /// req: 5.3.1.3
    #[test]
    fn yuan_text_parses_exactly() {
        let fen = |text: &str| Money::parse_yuan(text).map(Money::fen);
        assert_eq!(fen("1234.56"), Ok(123_456));
        assert_eq!(fen("0.5"), Ok(50));
        assert_eq!(fen("12"), Ok(1200));
        assert_eq!(fen(" 0.01 "), Ok(1));
        assert_eq!(fen("0.00"), Ok(0));
        for bad in [
            "", ".5", "5.", "1.234", "-1", "+1", "1e3", "1,000.00", "¥5", "0x10", "1.2.3",
        ] {
            assert_eq!(fen(bad), Err(MoneyError::Malformed), "{bad:?}");
        }
        assert_eq!(fen("1000000000000.01"), Err(MoneyError::TooLarge));
        assert_eq!(fen("1000000000000.00"), Ok(MONEY_FEN_MAX));
        assert_eq!(Amount::parse_yuan("0.00"), Err(MoneyError::Zero));
        for fen in [0, 1, 9, 10, 99, 100, 123_456, MONEY_FEN_MAX] {
            let money = Money::from_fen(fen).expect("valid");
            assert_eq!(Money::parse_yuan(&money.to_yuan_string()), Ok(money));
        }
        assert_eq!(
            Money::from_fen(5).map(|m| m.to_string()),
            Ok("0.05 CNY".into())
        );
    }

    /// Arithmetic never goes below zero or above the bound, and shares round down.
    /// req: 5.3.1.3
    #[test]
    fn arithmetic_is_checked() {
        let m = |fen| Money::from_fen(fen).expect("valid");
        assert_eq!(m(5).checked_sub(m(6)), None);
        assert_eq!(m(6).checked_sub(m(6)), Some(Money::ZERO));
        assert_eq!(Money::MAX.checked_add(m(1)), None);
        assert_eq!(m(1000).share(1, 3), Some(m(333)));
        assert_eq!(m(1000).share(3, 3), Some(m(1000)));
        assert_eq!(m(1000).share(4, 3), None);
        assert_eq!(m(1000).share(0, 0), None);
        assert_eq!(
            Money::MAX
                .share(u64::MAX - 1, u64::MAX)
                .map(|s| s <= Money::MAX),
            Some(true)
        );
        let total: Option<Money> = [m(1), m(2), m(3)].into_iter().sum();
        assert_eq!(total, Some(m(6)));
        let overflow: Option<Money> = [Money::MAX, m(1)].into_iter().sum();
        assert_eq!(overflow, None);
    }
}
