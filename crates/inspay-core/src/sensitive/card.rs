//! Bank card numbers.

use super::{
    Exposed, FieldKind, Masked, PersonalField, SensitiveParseError, mask_middle, sensitive_string,
};
use core::fmt;

/// Shortest card number accepted (ISO/IEC 7812 allows 8, but no Chinese bank issues fewer
/// than 12 digits for payment cards).
pub const CARD_DIGITS_MIN: usize = 12;
/// Longest card number (ISO/IEC 7812).
pub const CARD_DIGITS_MAX: usize = 19;

sensitive_string!(
    /// A bank card number with a valid Luhn check digit. Spaces and dashes are removed.
    CardNumber
);

impl CardNumber {
    /// Parses a card number as typed: digits with optional spaces or dashes.
    pub fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        const KIND: FieldKind = FieldKind::CardNumber;
        let mut digits = String::with_capacity(CARD_DIGITS_MAX);
        for c in raw.trim().chars() {
            match c {
                '0'..='9' if digits.len() < CARD_DIGITS_MAX => digits.push(c),
                '0'..='9' => return Err(SensitiveParseError::Length(KIND)),
                ' ' | '-' => {}
                _ => return Err(SensitiveParseError::Characters(KIND)),
            }
        }
        if digits.len() < CARD_DIGITS_MIN {
            return Err(SensitiveParseError::Length(KIND));
        }
        if !luhn_valid(&digits) {
            return Err(SensitiveParseError::CheckDigit(KIND));
        }
        Ok(Self(digits))
    }

    /// The last four digits, which may be shown and stored in clear next to a token.
    pub fn last_four(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

impl PersonalField for CardNumber {
    const KIND: FieldKind = FieldKind::CardNumber;

    fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        CardNumber::parse(raw)
    }

    /// First 6 and last 4 digits (clause 5.6.4.1).
    fn masked(&self) -> Masked {
        mask_middle(self.expose(), 6, 4)
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({})", self.masked())
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(index, byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
