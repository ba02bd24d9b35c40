//! What a person signs in with: customers with their mobile number, staff with a user name.

use core::fmt;
use inspay_core::sensitive::{Exposed, MobileNumber, PersonalField};

/// Shortest staff user name.
pub const STAFF_NAME_CHARS_MIN: usize = 3;
/// Longest staff user name.
pub const STAFF_NAME_CHARS_MAX: usize = 32;

/// Why a login name is refused (the message never repeats it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginNameError {
    /// Not a mainland mobile number.
    #[error("a customer signs in with a mainland China mobile number")]
    Mobile,
    /// Not 3 to 32 of `a-z 0-9 . _ -`, starting with a letter.
    #[error("a staff user name is 3 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter")]
    Staff,
}

/// A login name.
#[derive(Clone, PartialEq, Eq)]
pub enum LoginName {
    /// A customer's mobile number.
    Customer(MobileNumber),
    /// A staff member's user name (lower case).
    Staff(String),
}

impl LoginName {
    /// A customer's login name from a typed mobile number.
    pub fn customer(raw: &str) -> Result<LoginName, LoginNameError> {
        MobileNumber::parse(raw)
            .map(LoginName::Customer)
            .map_err(|_| LoginNameError::Mobile)
    }

    /// A staff user name.
    pub fn staff(raw: &str) -> Result<LoginName, LoginNameError> {
        let name = raw.trim().to_ascii_lowercase();
        let ok = (STAFF_NAME_CHARS_MIN..=STAFF_NAME_CHARS_MAX).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if ok {
            Ok(LoginName::Staff(name))
        } else {
            Err(LoginNameError::Staff)
        }
    }

    /// The form fed to the blind index: population and value, so a staff name can never
    /// collide with a mobile number.
    pub fn index_form(&self) -> String {
        match self {
            LoginName::Customer(mobile) => format!("customer:{}", mobile.expose()),
            LoginName::Staff(name) => format!("staff:{name}"),
        }
    }

    /// The form that may be logged and audited: the mobile masked, the staff name as is.
    pub fn display(&self) -> String {
        match self {
            LoginName::Customer(mobile) => mobile.masked().as_str().to_string(),
            LoginName::Staff(name) => name.clone(),
        }
    }
}

impl fmt::Debug for LoginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoginName({})", self.display())
    }
}
