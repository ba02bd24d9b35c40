//! Password strength and independence (clauses 5.2.4.1, 5.2.4.3 and 5.2.1.1-b), checked on the
//! server whatever the client checked.
//!
//! Login passwords: 8 to 64 characters, at least 3 of 4 character classes, not on the list of
//! common passwords (zxcvbn's frequency lists plus `data/common-passwords.txt`, which adds the
//! passwords common in Chinese-language leaks), not built from the person's own name, mobile
//! number, ID number or birthday, and an estimated strength (zxcvbn score, 0 to 4) of at least
//! 3. Transaction passwords: 6 digits, no repeat or run, not the birthday or a piece of the
//! mobile or ID number, and never equal to the login password.

use inspay_core::sensitive::{Exposed, IdNumber, LegalName, MobileNumber, TransactionPassword};
use std::sync::LazyLock;

/// Shortest login password.
pub const LOGIN_CHARS_MIN: usize = 8;
/// Longest login password.
pub const LOGIN_CHARS_MAX: usize = 64;

static COMMON: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// What a person's own data is, for similarity checks. Every field is optional.
#[derive(Debug, Default, Clone, Copy)]
pub struct PersonalData<'a> {
    /// Legal name.
    pub name: Option<&'a LegalName>,
    /// Mobile number.
    pub mobile: Option<&'a MobileNumber>,
    /// ID number (which also gives the birthday).
    pub id_number: Option<&'a IdNumber>,
    /// The account's login name, if it has one.
    pub username: Option<&'a str>,
}

impl PersonalData<'_> {
    /// Fragments a password must not contain (lower case), each at least 4 characters long.
    fn fragments(&self) -> Vec<String> {
        let mut out = vec![];
        if let Some(mobile) = self.mobile {
            let digits = mobile.expose();
            out.push(digits.to_string());
            out.push(digits[digits.len() - 8..].to_string());
            out.push(digits[digits.len() - 6..].to_string());
        }
        if let Some(id) = self.id_number {
            let value = id.expose().to_lowercase();
            let birthday = id.birth_date();
            out.push(value.clone());
            out.push(value[value.len() - 6..].to_string());
            out.push(birthday.to_string());
            out.push(birthday[2..].to_string());
            out.push(birthday[4..].to_string());
        }
        if let Some(name) = self.name {
            let name = name.expose().to_lowercase();
            out.push(name.replace([' ', '·'], ""));
            out.extend(name.split([' ', '·']).map(str::to_string));
        }
        if let Some(username) = self.username {
            out.push(username.to_lowercase());
        }
        out.retain(|fragment| fragment.chars().count() >= 4 || !fragment.is_ascii());
        out.retain(|fragment| !fragment.is_empty());
        out
    }
}

/// Why a password is refused. Messages name the rule, never the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    /// Too short.
    #[error("the password must have at least {LOGIN_CHARS_MIN} characters")]
    TooShort,
    /// Too long.
    #[error("the password may have at most {LOGIN_CHARS_MAX} characters")]
    TooLong,
    /// Too few character classes.
    #[error(
        "the password must mix at least 3 of: lower-case letters, upper-case letters, digits, symbols"
    )]
    TooFewClasses,
    /// On a list of common or breached passwords.
    #[error("the password is too common: it appears in lists of leaked or widely used passwords")]
    Common,
    /// Built from the person's own data.
    #[error("the password must not contain your name, mobile number, ID number or birthday")]
    PersonalData,
    /// Guessable by a cracking tool.
    #[error("the password is too easy to guess; use a longer one or unrelated words")]
    TooWeak,
    /// A transaction password that is not exactly 6 digits.
    #[error("the transaction password is 6 digits")]
    TransactionFormat,
    /// A repeat or a run (111111, 123456, 654321).
    #[error("the transaction password must not be a repeated digit or a run of digits")]
    TransactionTrivial,
    /// Equal to the login password (clause 5.2.1.1-b).
    #[error("the transaction password must differ from the login password")]
    SameAsLoginPassword,
    /// Equal to the current or a recent password (clause 5.2.4.2-d).
    #[error("the new password must differ from the current one and the last 5")]
    Reused,
}

/// The login-password rules. Defaults follow the catalogue; tighter settings are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPasswordPolicy {
    /// Fewest characters (at least 8).
    pub chars_min: usize,
    /// Fewest character classes (at least 3).
    pub classes_min: usize,
    /// Lowest zxcvbn score (0 to 4; at least 3).
    pub score_min: u8,
}

impl Default for LoginPasswordPolicy {
    fn default() -> Self {
        LoginPasswordPolicy {
            chars_min: LOGIN_CHARS_MIN,
            classes_min: 3,
            score_min: 3,
        }
    }
}

impl LoginPasswordPolicy {
    /// Whether the settings are at least as strict as the catalogue's (clause 5.2.4.1).
    pub fn is_within_catalogue(&self) -> bool {
        self.chars_min >= LOGIN_CHARS_MIN
            && self.chars_min <= LOGIN_CHARS_MAX
            && (3..=4).contains(&self.classes_min)
            && (3..=4).contains(&self.score_min)
    }

    /// Checks a login password against the rules and the person's own data.
    pub fn check(
        &self,
        password: &str,
        personal: &PersonalData<'_>,
    ) -> Result<(), PasswordRejection> {
        let length = password.chars().count();
        if length < self.chars_min {
            return Err(PasswordRejection::TooShort);
        }
        if length > LOGIN_CHARS_MAX {
            return Err(PasswordRejection::TooLong);
        }
        if classes(password) < self.classes_min {
            return Err(PasswordRejection::TooFewClasses);
        }
        let lower = password.to_lowercase();
        if COMMON.iter().any(|common| *common == lower) {
            return Err(PasswordRejection::Common);
        }
        let fragments = personal.fragments();
        if fragments
            .iter()
            .any(|fragment| lower.contains(fragment.as_str()))
        {
            return Err(PasswordRejection::PersonalData);
        }
        let inputs: Vec<&str> = fragments.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(password, &inputs);
        let common = estimate
            .feedback()
            .and_then(|feedback| feedback.warning())
            .is_some_and(|warning| {
                matches!(
                    warning,
                    zxcvbn::feedback::Warning::ThisIsATop10Password
                        | zxcvbn::feedback::Warning::ThisIsATop100Password
                        | zxcvbn::feedback::Warning::ThisIsACommonPassword
                        | zxcvbn::feedback::Warning::ThisIsSimilarToACommonlyUsedPassword
                )
            });
        if common {
            return Err(PasswordRejection::Common);
        }
        if u8::from(estimate.score()) < self.score_min {
            return Err(PasswordRejection::TooWeak);
        }
        Ok(())
    }
}

fn classes(password: &str) -> usize {
    let lower = password.chars().any(|c| c.is_lowercase());
    let upper = password.chars().any(|c| c.is_uppercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let other = password.chars().any(|c| !c.is_alphanumeric());
    [lower, upper, digit, other]
        .into_iter()
        .filter(|present| *present)
        .count()
}

/// Checks a transaction password: not trivial, not the person's birthday or a piece of their
/// mobile or ID number, and not the login password (clauses 5.2.4.1 and 5.2.1.1-b).
pub fn check_transaction_password(
    password: &TransactionPassword,
    login_password: Option<&str>,
    personal: &PersonalData<'_>,
) -> Result<(), PasswordRejection> {
    let digits = password.expose();
    if password.is_trivial() {
        return Err(PasswordRejection::TransactionTrivial);
    }
    if login_password.is_some_and(|login| login == digits) {
        return Err(PasswordRejection::SameAsLoginPassword);
    }
    let mut pieces = vec![];
    if let Some(id) = personal.id_number {
        let birthday = id.birth_date();
        pieces.push(birthday[2..].to_string());
        pieces.push(id.expose()[id.expose().len() - 6..].to_lowercase());
    }
    if let Some(mobile) = personal.mobile {
        pieces.push(mobile.expose()[5..].to_string());
    }
    if pieces.iter().any(|piece| piece == digits) {
        return Err(PasswordRejection::PersonalData);
    }
    Ok(())
}
