//! A loaded pack: its rules compiled and checked, ready to evaluate.

use super::analysis::{self, RuleReads};
use super::inputs::{self, Fact, Facts};
use super::manifest::{Manifest, OperationKind, RuleSpec};
use super::{PackError, VerifiedPack};
use crate::decision::{Reason, ReasonSource, Verdict};
use cel::{Context, Env, Program, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

struct CompiledRule {
    spec: RuleSpec,
    program: Program,
}

/// The fields of one namespace a pack declared, with their catalogue positions.
struct Namespace {
    name: String,
    fields: Vec<(String, usize)>,
}

/// A pack that passed every check: signed by a registered key, a valid manifest, every rule
/// within the limits and reading only declared inputs, every rule answering a boolean on
/// neutral facts.
pub struct LoadedPack {
    manifest: Manifest,
    signer: String,
    key_fingerprint: String,
    digest: String,
    rules: Vec<CompiledRule>,
    namespaces: Vec<Namespace>,
    env: Arc<Env>,
}

impl std::fmt::Debug for LoadedPack {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LoadedPack")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version)
            .field("rules", &self.rules.len())
            .field("digest", &self.digest)
            .finish()
    }
}

/// A rule that failed at run time; its pack's `on_error` verdict applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure {
    /// The rule's id.
    pub rule: String,
    /// The interpreter's message (names and types, never values).
    pub error: String,
}

/// What a pack said about one operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackOutcome {
    /// One reason per rule that fired or failed.
    pub reasons: Vec<Reason>,
    /// The rules that failed.
    pub failures: Vec<RuleFailure>,
}

fn to_value(fact: &Fact) -> Value {
    match fact {
        Fact::Int(value) => Value::Int(*value),
        Fact::Double(value) => Value::Float(*value),
        Fact::Bool(value) => Value::Bool(*value),
        Fact::Text(value) => Value::String(Arc::new(value.clone())),
    }
}

impl LoadedPack {
    /// Loads a verified pack: parses the manifest, checks the declared inputs against the
    /// catalogue, compiles and checks every rule, and dry-runs each on neutral facts.
    pub fn load(pack: &VerifiedPack) -> Result<Self, PackError> {
        let manifest = Manifest::parse(pack.manifest())?;
        let mut declared = BTreeSet::new();
        for name in &manifest.inputs {
            if inputs::input(name).is_none() {
                return Err(PackError::OverReach(format!(
                    "'{name}' is not offered to rule packs (see the input catalogue)"
                )));
            }
            declared.insert(name.clone());
        }
        let env = Arc::new(Env::stdlib());
        let mut rules = Vec::with_capacity(manifest.rules.len());
        for spec in &manifest.rules {
            analysis::check_source(&spec.id, &spec.when)?;
            let program = env.compile(&spec.when).map_err(|error| PackError::Rule {
                rule: spec.id.clone(),
                problem: format!("not valid CEL: {error}"),
            })?;
            let _reads: RuleReads =
                analysis::check_rule(&spec.id, program.expression(), &declared)?;
            rules.push(CompiledRule {
                spec: spec.clone(),
                program,
            });
        }
        let mut namespaces: Vec<Namespace> = Vec::new();
        for name in &declared {
            let (index, input) = inputs::input(name).ok_or_else(|| {
                PackError::OverReach(format!("'{name}' is not offered to rule packs"))
            })?;
            let (namespace, field) = input.name.split_once('.').unwrap_or((input.name, ""));
            match namespaces.iter_mut().find(|seen| seen.name == namespace) {
                Some(seen) => seen.fields.push((field.to_owned(), index)),
                None => namespaces.push(Namespace {
                    name: namespace.to_owned(),
                    fields: vec![(field.to_owned(), index)],
                }),
            }
        }
        let loaded = Self {
            digest: hex::encode(inspay_crypto::sm3::sm3(pack.manifest())),
            signer: pack.signer().to_owned(),
            key_fingerprint: pack.key_fingerprint().to_owned(),
            manifest,
            rules,
            namespaces,
            env,
        };
        let neutral = Facts::default();
        let context = loaded.context(&neutral);
        for rule in &loaded.rules {
            match rule.program.execute(&context) {
                Ok(Value::Bool(_)) => {}
                Ok(other) => {
                    return Err(PackError::Rule {
                        rule: rule.spec.id.clone(),
                        problem: format!(
                            "answers {:?} on neutral facts; a condition must answer true or false",
                            other.type_of()
                        ),
                    });
                }
                Err(error) => {
                    return Err(PackError::Rule {
                        rule: rule.spec.id.clone(),
                        problem: format!(
                            "fails on neutral facts (zero, false, empty): {error}; guard divisions and conversions"
                        ),
                    });
                }
            }
        }
        Ok(loaded)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Who signed it.
    pub fn signer(&self) -> &str {
        &self.signer
    }

    /// The signing key's fingerprint.
    pub fn key_fingerprint(&self) -> &str {
        &self.key_fingerprint
    }

    /// SM3 of the manifest's bytes, hex: what was signed, for listings and the audit log.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// How many rules it holds.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The evaluation context: one map per declared namespace, holding the declared fields
    /// and nothing else.
    fn context(&self, facts: &Facts) -> Context<'static, 'static> {
        let mut context = Context::with_env(Arc::clone(&self.env));
        for namespace in &self.namespaces {
            let map: HashMap<String, Value> = namespace
                .fields
                .iter()
                .map(|(field, index)| (field.clone(), to_value(facts.at(*index))))
                .collect();
            context.add_variable_from_value(namespace.name.clone(), map);
        }
        context
    }

    /// Runs the rules that apply to `operation` over `facts`.
    pub fn evaluate(&self, operation: OperationKind, facts: &Facts) -> PackOutcome {
        let mut outcome = PackOutcome::default();
        let context = self.context(facts);
        let source = || ReasonSource::Pack {
            pack: self.manifest.id.clone(),
            version: self.manifest.version,
        };
        for rule in &self.rules {
            if !rule.spec.operations.contains(&operation) {
                continue;
            }
            let failed = match rule.program.execute(&context) {
                Ok(Value::Bool(true)) => {
                    outcome.reasons.push(Reason {
                        rule: rule.spec.id.clone(),
                        source: source(),
                        verdict: rule.spec.verdict,
                        score: None,
                        note: rule.spec.note.clone(),
                    });
                    None
                }
                Ok(Value::Bool(false)) => None,
                Ok(other) => Some(format!("answered {:?}, not a boolean", other.type_of())),
                Err(error) => Some(error.to_string()),
            };
            if let Some(error) = failed {
                outcome.reasons.push(Reason {
                    rule: rule.spec.id.clone(),
                    source: source(),
                    verdict: self.manifest.on_error,
                    score: None,
                    note: "the rule failed to evaluate; the pack's on_error verdict applies"
                        .to_owned(),
                });
                outcome.failures.push(RuleFailure {
                    rule: rule.spec.id.clone(),
                    error,
                });
            }
        }
        outcome
    }

    /// The strictest verdict any rule of this pack can give, for listings.
    pub fn strictest_verdict(&self) -> Verdict {
        self.rules
            .iter()
            .map(|rule| rule.spec.verdict)
            .fold(self.manifest.on_error, Verdict::strictest)
    }
}
