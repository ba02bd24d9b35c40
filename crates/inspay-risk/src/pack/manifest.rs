//! The manifest: a pack's identity, the inputs it declares, and its rules, in TOML.
//!
//! ```toml
//! [pack]
//! id = "night-and-bursts"
//! version = 3
//! description = "Large premiums at night; bursts of payouts"
//! inputs = ["op.kind", "op.amount_fen", "op.hour", "txn.count_1h"]
//! on_error = "review"
//!
//! [[rule]]
//! id = "large-premium-at-night"
//! operations = ["premium-payment"]
//! when = "op.amount_fen >= 500000 && (op.hour < 6 || op.hour >= 23)"
//! verdict = "step-up:sms-code"
//! note = "a large premium paid at night"
//! ```
//!
//! Unknown keys are refused, so a misspelt field is an error rather than a rule that silently
//! never fires.

use super::PackError;
use crate::decision::Verdict;
use serde::Deserialize;

/// Most rules in one pack.
pub const RULES_MAX: usize = 500;
/// Longest note, in characters.
pub const NOTE_CHARS_MAX: usize = 200;
/// Largest manifest, in bytes.
pub const MANIFEST_BYTES_MAX: usize = 512 * 1024;

/// The operations the engine decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperationKind {
    /// A sign-in.
    SignIn,
    /// A premium payment.
    PremiumPayment,
    /// A claim payout.
    ClaimPayout,
    /// A refund.
    Refund,
    /// A policy cancellation.
    Cancellation,
    /// Binding or removing a payout account.
    PayoutAccountChange,
}

impl OperationKind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::SignIn,
        Self::PremiumPayment,
        Self::ClaimPayout,
        Self::Refund,
        Self::Cancellation,
        Self::PayoutAccountChange,
    ];

    /// The stable name, as `op.kind` holds it.
    pub fn name(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::PremiumPayment => "premium-payment",
            Self::ClaimPayout => "claim-payout",
            Self::Refund => "refund",
            Self::Cancellation => "cancellation",
            Self::PayoutAccountChange => "payout-account-change",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    pack: RawPack,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    id: String,
    version: u32,
    #[serde(default)]
    description: String,
    inputs: Vec<String>,
    #[serde(default = "default_on_error")]
    on_error: String,
}

fn default_on_error() -> String {
    "review".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    operations: Option<Vec<OperationKind>>,
    when: String,
    verdict: String,
    note: String,
}

/// A parsed manifest: names checked, verdicts parsed; rules not yet compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The pack's id: 3 to 64 of `a-z 0-9 -`.
    pub id: String,
    /// Its version, from 1; a pack is replaced by a higher version of the same id.
    pub version: u32,
    /// What it is for.
    pub description: String,
    /// The catalogue fields its rules may read.
    pub inputs: Vec<String>,
    /// The verdict when a rule fails at run time (a division by zero, an overflow).
    pub on_error: Verdict,
    /// The rules, in order.
    pub rules: Vec<RuleSpec>,
}

/// One rule as written.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// Unique in the pack: 1 to 64 of `a-z 0-9 - .`.
    pub id: String,
    /// The operations it applies to (all when absent).
    pub operations: Vec<OperationKind>,
    /// The CEL condition; the rule fires when it is `true`.
    pub when: String,
    /// What a firing rule asks for.
    pub verdict: Verdict,
    /// Fixed text for staff.
    pub note: String,
}

fn valid_id(id: &str, extra: &[char], max: usize) -> bool {
    !id.is_empty()
        && id.len() <= max
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || extra.contains(&c))
}

impl Manifest {
    /// Parses a manifest's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, PackError> {
        if bytes.len() > MANIFEST_BYTES_MAX {
            return Err(PackError::Manifest(format!(
                "{} bytes, more than the {MANIFEST_BYTES_MAX} allowed",
                bytes.len()
            )));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| PackError::Manifest("not UTF-8 text".to_owned()))?;
        let raw: RawManifest = toml::from_str(text)
            .map_err(|error| PackError::Manifest(error.message().to_owned()))?;
        let pack = raw.pack;
        if pack.id.len() < 3 || !valid_id(&pack.id, &[], 64) {
            return Err(PackError::Manifest(
                "pack.id must be 3 to 64 characters of a-z, 0-9 and '-'".to_owned(),
            ));
        }
        if pack.version == 0 {
            return Err(PackError::Manifest("pack.version starts at 1".to_owned()));
        }
        let on_error = Verdict::parse(&pack.on_error).ok_or_else(|| {
            PackError::Manifest(format!(
                "pack.on_error '{}' is not a verdict (allow, step-up:sms-code, step-up:gesture, step-up:device-key, review, deny)",
                pack.on_error
            ))
        })?;
        if raw.rule.is_empty() || raw.rule.len() > RULES_MAX {
            return Err(PackError::Manifest(format!(
                "a pack holds 1 to {RULES_MAX} rules, this one {}",
                raw.rule.len()
            )));
        }
        let mut rules = Vec::with_capacity(raw.rule.len());
        for rule in raw.rule {
            let problem = |problem: String| PackError::Rule {
                rule: rule.id.clone(),
                problem,
            };
            if !valid_id(&rule.id, &['.'], 64) {
                return Err(PackError::Manifest(
                    "rule ids are 1 to 64 characters of a-z, 0-9, '-' and '.'".to_owned(),
                ));
            }
            if rules.iter().any(|seen: &RuleSpec| seen.id == rule.id) {
                return Err(problem("the id is used twice".to_owned()));
            }
            let verdict = Verdict::parse(&rule.verdict).ok_or_else(|| {
                problem(format!(
                    "verdict '{}' is not one of allow, step-up:sms-code, step-up:gesture, step-up:device-key, review, deny",
                    rule.verdict
                ))
            })?;
            if rule.note.chars().count() > NOTE_CHARS_MAX {
                return Err(problem(format!(
                    "the note is longer than {NOTE_CHARS_MAX} characters"
                )));
            }
            rules.push(RuleSpec {
                operations: rule
                    .operations
                    .unwrap_or_else(|| OperationKind::ALL.to_vec()),
                id: rule.id,
                when: rule.when,
                verdict,
                note: rule.note,
            });
        }
        Ok(Self {
            id: pack.id,
            version: pack.version,
            description: pack.description,
            inputs: pack.inputs,
            on_error,
            rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[pack]
id = "night"
version = 2
inputs = ["op.amount_fen", "op.hour"]

[[rule]]
id = "large-at-night"
operations = ["premium-payment"]
when = "op.amount_fen >= 500000 && op.hour < 6"
verdict = "step-up:sms-code"
note = "large premium at night"
"#;

    /// A manifest parses into ids, inputs and verdicts; review is the default on error.
    #[test]
    fn a_manifest_parses() {
        let manifest = Manifest::parse(GOOD.as_bytes()).expect("valid");
        assert_eq!(manifest.id, "night");
        assert_eq!(manifest.version, 2);
        assert_eq!(manifest.on_error, Verdict::Review);
        assert_eq!(
            manifest.rules[0].operations,
            [OperationKind::PremiumPayment]
        );
    }

    /// req: 6.3.7
    /// Unknown keys (an `action` that would change settings, a misspelt field) are refused,
    /// as are verdicts outside the fixed set.
    #[test]
    fn unknown_keys_and_verdicts_are_refused() {
        let with_action = GOOD.replace("note =", "action = \"disable-mfa\"\nnote =");
        assert!(matches!(
            Manifest::parse(with_action.as_bytes()),
            Err(PackError::Manifest(_))
        ));
        let bad_verdict = GOOD.replace("step-up:sms-code", "reset-password");
        assert!(matches!(
            Manifest::parse(bad_verdict.as_bytes()),
            Err(PackError::Rule { .. })
        ));
        let version_zero = GOOD.replace("version = 2", "version = 0");
        assert!(Manifest::parse(version_zero.as_bytes()).is_err());
        let twice = format!(
            "{GOOD}\n[[rule]]\nid = \"large-at-night\"\nwhen = \"true\"\nverdict = \"deny\"\nnote = \"x\"\n"
        );
        assert!(matches!(
            Manifest::parse(twice.as_bytes()),
            Err(PackError::Rule { .. })
        ));
    }
}
