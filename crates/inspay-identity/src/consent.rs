//! Consent to the collection and use of personal data (clauses 6.1.3 to 6.1.5): a versioned
//! privacy notice lists its purposes, each required for the service or optional; a person's
//! answer must state a choice for every purpose (nothing is assumed, nothing pre-ticked);
//! optional purposes can be refused and the service still goes on; required ones cannot be
//! refused without declining the service.

use std::collections::BTreeMap;

/// A purpose in a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticePurpose {
    /// Stable identifier, e.g. `policy-administration`, `marketing-sms`.
    pub id: String,
    /// Whether the service cannot be given without it (data minimisation, clause 6.1.3:
    /// required purposes are only those the service needs).
    pub required: bool,
}

/// A published privacy notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Version, e.g. `2026-11`.
    pub version: String,
    /// Its purposes.
    pub purposes: Vec<NoticePurpose>,
}

/// Why an answer is not a valid consent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// A purpose of the notice has no explicit choice.
    #[error("every purpose needs an explicit yes or no; missing: {0}")]
    Missing(String),
    /// A choice names a purpose the notice does not have.
    #[error("the notice has no purpose '{0}'")]
    Unknown(String),
    /// A required purpose was refused: the service cannot be given.
    #[error("'{0}' is needed to provide the service; without it the service cannot be given")]
    RequiredRefused(String),
}

impl Notice {
    /// Checks a person's answer: an explicit choice for every purpose, none unknown, every
    /// required one accepted. Returns the choices in a fixed order.
    pub fn accept(
        &self,
        choices: &BTreeMap<String, bool>,
    ) -> Result<Vec<(String, bool)>, ConsentError> {
        if let Some(unknown) = choices
            .keys()
            .find(|id| !self.purposes.iter().any(|p| &p.id == *id))
        {
            return Err(ConsentError::Unknown(unknown.clone()));
        }
        let mut out = Vec::with_capacity(self.purposes.len());
        for purpose in &self.purposes {
            let granted = *choices
                .get(&purpose.id)
                .ok_or_else(|| ConsentError::Missing(purpose.id.clone()))?;
            if purpose.required && !granted {
                return Err(ConsentError::RequiredRefused(purpose.id.clone()));
            }
            out.push((purpose.id.clone(), granted));
        }
        Ok(out)
    }
}
