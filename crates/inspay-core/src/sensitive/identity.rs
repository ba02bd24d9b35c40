//! Mobile numbers, resident ID numbers and legal names.

use super::{
    Exposed, FieldKind, Masked, PersonalField, SensitiveParseError, mask_middle, sensitive_string,
};
use core::fmt;

/// Longest legal name accepted, in characters.
pub const LEGAL_NAME_CHARS_MAX: usize = 64;

sensitive_string!(
    /// A mainland China mobile number: 11 digits, `1[3-9]xxxxxxxxx`. A `+86` or `86` prefix,
    /// spaces and dashes are removed.
    MobileNumber
);

impl MobileNumber {
    /// Parses a mobile number as typed.
    pub fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        const KIND: FieldKind = FieldKind::MobileNumber;
        let trimmed = raw.trim();
        let without_country = trimmed
            .strip_prefix("+86")
            .or_else(|| trimmed.strip_prefix("0086"))
            .unwrap_or(trimmed);
        let mut digits = String::with_capacity(11);
        for c in without_country.chars() {
            match c {
                '0'..='9' if digits.len() < 13 => digits.push(c),
                '0'..='9' => return Err(SensitiveParseError::Length(KIND)),
                ' ' | '-' => {}
                _ => return Err(SensitiveParseError::Characters(KIND)),
            }
        }
        if digits.len() == 13 && digits.starts_with("86") {
            digits.drain(..2);
        }
        if digits.len() != 11 {
            return Err(SensitiveParseError::Length(KIND));
        }
        let bytes = digits.as_bytes();
        if bytes[0] != b'1' || !(b'3'..=b'9').contains(&bytes[1]) {
            return Err(SensitiveParseError::Value(KIND));
        }
        Ok(Self(digits))
    }
}

impl PersonalField for MobileNumber {
    const KIND: FieldKind = FieldKind::MobileNumber;

    fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        MobileNumber::parse(raw)
    }

    /// First 3 and last 4 digits (clause 5.6.4.1).
    fn masked(&self) -> Masked {
        mask_middle(self.expose(), 3, 4)
    }
}

impl fmt::Debug for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MobileNumber({})", self.masked())
    }
}

sensitive_string!(
    /// An 18-character resident identity card number (GB 11643) with a valid ISO 7064
    /// MOD 11-2 check character and a plausible birth date. A lower-case `x` is upper-cased.
    IdNumber
);

impl IdNumber {
    /// Parses an ID number as typed.
    pub fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        const KIND: FieldKind = FieldKind::IdNumber;
        let value: String = raw.trim().to_ascii_uppercase();
        if value.chars().count() != 18 {
            return Err(SensitiveParseError::Length(KIND));
        }
        let bytes = value.as_bytes();
        if !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(SensitiveParseError::Characters(KIND));
        }
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const CHECK: &[u8; 11] = b"10X98765432";
        let sum: u32 = bytes[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(byte, weight)| u32::from(byte - b'0') * weight)
            .sum();
        if CHECK[(sum % 11) as usize] != bytes[17] {
            return Err(SensitiveParseError::CheckDigit(KIND));
        }
        let month = two_digits(&bytes[10..12]);
        let day = two_digits(&bytes[12..14]);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(SensitiveParseError::Value(KIND));
        }
        Ok(Self(value))
    }

    /// The birth date as `YYYYMMDD`, for password-similarity checks.
    pub fn birth_date(&self) -> &str {
        &self.0[6..14]
    }
}

fn two_digits(bytes: &[u8]) -> u32 {
    u32::from(bytes[0] - b'0') * 10 + u32::from(bytes[1] - b'0')
}

impl PersonalField for IdNumber {
    const KIND: FieldKind = FieldKind::IdNumber;

    fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        IdNumber::parse(raw)
    }

    /// First 1 and last 1 characters (clause 5.6.4.1).
    fn masked(&self) -> Masked {
        mask_middle(self.expose(), 1, 1)
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

sensitive_string!(
    /// A person's legal name: 1 to 64 letters (any script), with single spaces, the middle
    /// dot `·` used in transliterated names, `.`, `-` and `'`.
    LegalName
);

impl LegalName {
    /// Parses a name as typed; surrounding and repeated inner whitespace is collapsed.
    pub fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        const KIND: FieldKind = FieldKind::LegalName;
        let value = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let count = value.chars().count();
        if count == 0 || count > LEGAL_NAME_CHARS_MAX {
            return Err(SensitiveParseError::Length(KIND));
        }
        let allowed = |c: char| c.is_alphabetic() || matches!(c, ' ' | '·' | '.' | '-' | '\'');
        if !value.chars().all(allowed) || !value.chars().any(char::is_alphabetic) {
            return Err(SensitiveParseError::Characters(KIND));
        }
        Ok(Self(value))
    }
}

impl PersonalField for LegalName {
    const KIND: FieldKind = FieldKind::LegalName;

    fn parse(raw: &str) -> Result<Self, SensitiveParseError> {
        LegalName::parse(raw)
    }

    /// Surname only (clause 5.6.4.1). Names are taken surname first, as Chinese names and
    /// their pinyin are written: for a name with separators (space or `·`) the first part is
    /// kept; for an unseparated name the first character is. Everything else is starred.
    fn masked(&self) -> Masked {
        let value = self.expose();
        let keep = match value.find([' ', '·']) {
            Some(end) => value[..end].chars().count(),
            None => 1,
        };
        let masked: String = value
            .chars()
            .enumerate()
            .map(|(index, c)| {
                if index < keep || c == ' ' || c == '·' {
                    c
                } else {
                    '*'
                }
            })
            .collect();
        Masked::new(masked)
    }
}

impl fmt::Debug for LegalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LegalName({})", self.masked())
    }
}
