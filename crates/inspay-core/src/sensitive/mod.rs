//! Personal and payment-sensitive data (clauses 5.6.1, 5.6.3.1 and 5.6.4).
//!
//! Every value here is parsed from raw input once, at the edge, and then lives in a wrapper
//! that:
//! - has a `Debug` that prints only the masked form, and no `Display`, `Serialize` or
//!   `ToString`, so it cannot reach a log line, an error message or a JSON body by accident;
//! - is zeroised when dropped;
//! - is read only through [`Exposed::expose`] (the full value, for the code that must have it)
//!   or [`Masked`] (the display form of clause 5.6.4.1).
//!
//! Personal fields ([`PersonalField`]: card number, mobile, ID number, legal name) may be
//! stored, encrypted. Payment-sensitive values (CVV, card expiry, card PIN, transaction
//! password) do not implement [`PersonalField`], so no storage API accepts them: clause
//! 5.6.3.1 is enforced by the compiler.
//!
//! ```compile_fail
//! // A CVV cannot be handed to anything that stores personal fields.
//! fn store<F: inspay_core::sensitive::PersonalField>(_field: &F) {}
//! let cvv = inspay_core::sensitive::Cvv::parse("123").unwrap();
//! store(&cvv);
//! ```
//!
//! ```compile_fail
//! // Nor can it be formatted for display or serialised.
//! let card = inspay_core::sensitive::CardNumber::parse("6222021234567890128").unwrap();
//! let _ = format!("{card}");
//! ```

mod card;
mod identity;
mod masked;
mod payment;

pub use card::CardNumber;
pub use identity::{IdNumber, LegalName, MobileNumber};
pub use masked::Masked;
pub use payment::{CardExpiry, CardPin, Cvv, TransactionPassword};

/// Why raw input is not a valid value. Messages name the kind of field, never its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SensitiveParseError {
    /// The input has the wrong length.
    #[error("{0} has the wrong length")]
    Length(FieldKind),
    /// The input has characters the field does not allow.
    #[error("{0} has characters it may not contain")]
    Characters(FieldKind),
    /// The check digit (Luhn for cards, ISO 7064 MOD 11-2 for ID numbers) does not match.
    #[error("{0} has a wrong check digit")]
    CheckDigit(FieldKind),
    /// The value is well formed but not acceptable (an impossible month, a trivial password).
    #[error("{0} is not an acceptable value")]
    Value(FieldKind),
}

/// The kinds of sensitive field, for error messages, storage column tags and masking rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Bank card number (PAN).
    CardNumber,
    /// Mainland China mobile number.
    MobileNumber,
    /// Resident identity card number.
    IdNumber,
    /// A person's legal name.
    LegalName,
    /// Card verification code.
    Cvv,
    /// Card expiry date.
    CardExpiry,
    /// Card PIN.
    CardPin,
    /// Six-digit transaction (payment) password.
    TransactionPassword,
}

impl FieldKind {
    /// A stable lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            FieldKind::CardNumber => "card number",
            FieldKind::MobileNumber => "mobile number",
            FieldKind::IdNumber => "ID number",
            FieldKind::LegalName => "legal name",
            FieldKind::Cvv => "CVV",
            FieldKind::CardExpiry => "card expiry",
            FieldKind::CardPin => "card PIN",
            FieldKind::TransactionPassword => "transaction password",
        }
    }
}

impl core::fmt::Display for FieldKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Access to the full value. Each call is a place where sensitive data is handled; keep them
/// few and greppable.
pub trait Exposed {
    /// The full value.
    fn expose(&self) -> &str;
}

/// A personal field that may be stored, encrypted at rest with a blind index for look-ups.
/// Payment-sensitive values deliberately do not implement this trait (clause 5.6.3.1).
pub trait PersonalField: Exposed + Sized {
    /// What kind of field this is.
    const KIND: FieldKind;

    /// Parses the value again after decryption.
    fn parse(raw: &str) -> Result<Self, SensitiveParseError>;

    /// The masked display form (clause 5.6.4.1).
    fn masked(&self) -> Masked;

    /// The value normalised for the blind index, so equal values index equally.
    fn index_form(&self) -> &str {
        self.expose()
    }
}

/// Keeps the first `head` and last `tail` characters and stars the rest; a value too short to
/// hide anything is starred entirely.
pub(crate) fn mask_middle(value: &str, head: usize, tail: usize) -> Masked {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return Masked::new("*".repeat(chars.len()));
    }
    let mut out = String::with_capacity(chars.len());
    out.extend(&chars[..head]);
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    Masked::new(out)
}

/// Defines a wrapper around a zeroising string whose `Debug` shows `$debug`.
macro_rules! sensitive_string {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
        pub struct $name(String);

        impl $crate::sensitive::Exposed for $name {
            fn expose(&self) -> &str {
                &self.0
            }
        }
    };
}
pub(crate) use sensitive_string;
