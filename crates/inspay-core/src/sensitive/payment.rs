//! Payment-sensitive values (支付敏感信息): CVV, card expiry, card PIN and transaction
//! password. They are never displayed, never logged and never stored (clauses 5.2.2.2-b,
//! 5.6.1-a4 and 5.6.3.1): they have no masked form, a `Debug` that shows nothing, and no
//! [`PersonalField`](super::PersonalField) implementation, so no storage API accepts them.

use super::{FieldKind, SensitiveParseError, sensitive_string};
use core::fmt;

macro_rules! redacted_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([REDACTED])"))
            }
        }
    };
}

fn digits(raw: &str, lengths: &[usize], kind: FieldKind) -> Result<String, SensitiveParseError> {
    let value = raw.trim();
    if !lengths.contains(&value.len()) {
        return Err(SensitiveParseError::Length(kind));
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SensitiveParseError::Characters(kind));
    }
    Ok(value.to_string())
}

sensitive_string!(
    /// A card verification code: 3 or 4 digits.
    Cvv
);
redacted_debug!(Cvv);

impl Cvv {
    /// Parses a CVV.
    pub fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        digits(raw, &[3, 4], FieldKind::Cvv).map(Self)
    }
}

sensitive_string!(
    /// A card expiry as `MMYY`, parsed from `MM/YY`, `MMYY` or `MM-YY`.
    CardExpiry
);
redacted_debug!(CardExpiry);

impl CardExpiry {
    /// Parses an expiry date.
    pub fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        const KIND: FieldKind = FieldKind::CardExpiry;
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| *c != '/' && *c != '-')
            .collect();
        let value = digits(&compact, &[4], KIND)?;
        let month: u32 = value[..2]
            .parse()
            .map_err(|_| SensitiveParseError::Value(KIND))?;
        if !(1..=12).contains(&month) {
            return Err(SensitiveParseError::Value(KIND));
        }
        Ok(Self(value))
    }
}

sensitive_string!(
    /// A bank card PIN: 6 digits.
    CardPin
);
redacted_debug!(CardPin);

impl CardPin {
    /// Parses a PIN.
    pub fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        digits(raw, &[6], FieldKind::CardPin).map(Self)
    }
}

sensitive_string!(
    /// A six-digit transaction (payment) password as typed, held only for the verification
    /// step (clause 5.6.1-a2).
    TransactionPassword
);
redacted_debug!(TransactionPassword);

impl TransactionPassword {
    /// Parses a transaction password: exactly 6 digits.
    pub fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        digits(raw, &[6], FieldKind::TransactionPassword).map(Self)
    }

    /// Whether the password is a trivial sequence: one repeated digit, or a run up or down
    /// such as 123456 or 987654 (clause 5.2.4.1).
    pub fn is_trivial(&self) -> bool {
        let bytes = self.0.as_bytes();
        let steps: Vec<i16> = bytes
            .windows(2)
            .map(|pair| i16::from(pair[1]) - i16::from(pair[0]))
            .collect();
        steps.iter().all(|step| *step == 0)
            || steps.iter().all(|step| *step == 1)
            || steps.iter().all(|step| *step == -1)
    }
}
