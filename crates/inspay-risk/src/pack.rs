//! Rule packs (clause 6.3.7; issue 6 item 5): risk rules written in the Common Expression
//! Language, packaged with a manifest, signed with SM2 by a registered rule-signing key, and
//! verified before they are loaded.
//!
//! The path from bytes to a running pack is one way, and each step is a type:
//!
//! 1. [`SignedPack`]: the manifest's exact bytes and the detached signature, as received;
//! 2. [`SignedPack::verify`] against the registered signers gives [`VerifiedPack`], the only
//!    thing [`LoadedPack::load`] accepts, so an unsigned or tampered pack never reaches the
//!    parser's later stages;
//! 3. [`LoadedPack::load`] parses the manifest ([`manifest`]), checks every rule's syntax tree
//!    ([`analysis`]: only inputs the manifest declares, only side-effect-free functions, no
//!    comprehensions, a bounded size and depth, so evaluation time and memory are bounded by
//!    construction), dry-runs every rule once, and compiles the pack;
//! 4. [`LoadedPack::evaluate`] runs the rules over [`Facts`] with a context holding only the
//!    fields the pack declared: a field it did not declare is not there to read.
//!
//! A rule's only effect is the fixed verdict its manifest names when its condition holds: a
//! pack cannot change a setting, write anything or reach the network, because the language
//! it is written in cannot, and the engine gives it nothing else.

pub mod analysis;
pub mod inputs;
pub mod loaded;
pub mod manifest;
pub mod signature;

pub use inputs::{Fact, FactType, Facts, INPUTS, Input};
pub use loaded::{LoadedPack, PackOutcome, RuleFailure};
pub use manifest::{Manifest, OperationKind};
pub use signature::{SignedPack, TrustedSigner, VerifiedPack};

/// Why a pack was refused. Each variant has a stable code ([`PackError::code`]) for the API,
/// the CLI and the security event the refusal raises.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PackError {
    /// The signature file is missing, malformed, or names no registered signer.
    #[error("the pack is not signed by a registered rule-signing key: {0}")]
    Unsigned(String),
    /// The signature does not verify over the pack's bytes: the pack or the signature changed.
    #[error(
        "the pack's signature does not verify: the pack was changed after signing, or signed by another key"
    )]
    Tampered,
    /// The manifest cannot be read.
    #[error("the pack's manifest is not valid: {0}")]
    Manifest(String),
    /// A rule is not valid CEL, or breaks a limit.
    #[error("rule '{rule}': {problem}")]
    Rule {
        /// The rule's id.
        rule: String,
        /// What is wrong, in words.
        problem: String,
    },
    /// The pack declares or reads a field it may not: one rule packs are not offered, or one
    /// it did not declare.
    #[error("the pack reaches beyond what it may read: {0}")]
    OverReach(String),
}

impl PackError {
    /// The stable code: `RISK-PACK-UNSIGNED`, `RISK-PACK-TAMPERED`, `RISK-PACK-MANIFEST`,
    /// `RISK-PACK-RULE`, `RISK-PACK-OVERREACH`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsigned(_) => "RISK-PACK-UNSIGNED",
            Self::Tampered => "RISK-PACK-TAMPERED",
            Self::Manifest(_) => "RISK-PACK-MANIFEST",
            Self::Rule { .. } => "RISK-PACK-RULE",
            Self::OverReach(_) => "RISK-PACK-OVERREACH",
        }
    }
}
