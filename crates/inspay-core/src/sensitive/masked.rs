//! The masked form of a sensitive value: the only form that may be displayed, logged or
//! serialised.

use core::fmt;

/// A masked rendering such as `622202*********0128`. It holds no more than clause 5.6.4.1
/// allows to be shown.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Masked(String);

impl Masked {
    pub(crate) fn new(text: String) -> Self {
        Self(text)
    }

    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
