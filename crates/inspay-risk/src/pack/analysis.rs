//! The checks every rule passes before it is loaded, on its text and its syntax tree:
//!
//! - the text is at most [`SOURCE_BYTES_MAX`] bytes with brackets nested at most
//!   [`NESTING_MAX`] deep (checked before parsing, so a hostile rule cannot exhaust the
//!   parser's stack);
//! - the tree has at most [`NODES_MAX`] nodes;
//! - no comprehension (`all`, `exists`, `exists_one`, `map`, `filter`): the inputs hold no lists,
//!   and without loops a rule's evaluation does one step per node, so its time and memory are
//!   bounded by its size;
//! - only the side-effect-free functions of [`FUNCTIONS`] are called;
//! - every input is read as `namespace.field`, and that field is one the manifest declared
//!   (reading a whole namespace, or indexing it with a computed key, is refused).

use super::PackError;
use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use std::collections::BTreeSet;

/// Longest rule text, in bytes.
pub const SOURCE_BYTES_MAX: usize = 2048;
/// Deepest bracket nesting in a rule's text.
pub const NESTING_MAX: usize = 32;
/// Most syntax-tree nodes in one rule.
pub const NODES_MAX: usize = 256;

/// The functions and operators a rule may call: comparisons, logic, arithmetic, membership,
/// and a few pure conversions and string tests.
pub const FUNCTIONS: &[&str] = &[
    "_?_:_",
    "_&&_",
    "_||_",
    "!_",
    "_-_",
    "_+_",
    "_*_",
    "_/_",
    "_%_",
    "_==_",
    "_!=_",
    "_>=_",
    "_<=_",
    "_>_",
    "_<_",
    "-_",
    "@in",
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "int",
    "double",
    "string",
    "max",
    "min",
];

/// What a rule reads, found by [`check_rule`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleReads {
    /// The `namespace.field` names the rule reads.
    pub fields: BTreeSet<String>,
    /// Nodes in its tree.
    pub nodes: usize,
}

/// Checks a rule's text before parsing: size and bracket depth.
pub fn check_source(rule: &str, source: &str) -> Result<(), PackError> {
    let problem = |problem: String| PackError::Rule {
        rule: rule.to_owned(),
        problem,
    };
    if source.len() > SOURCE_BYTES_MAX {
        return Err(problem(format!(
            "the condition is {} bytes, more than {SOURCE_BYTES_MAX}",
            source.len()
        )));
    }
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for c in source.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > NESTING_MAX {
        return Err(problem(format!(
            "brackets nest {deepest} deep, more than {NESTING_MAX}"
        )));
    }
    Ok(())
}

/// Checks a parsed rule against the limits and the declared inputs.
pub fn check_rule(
    rule: &str,
    root: &IdedExpr,
    declared: &BTreeSet<String>,
) -> Result<RuleReads, PackError> {
    let mut walk = Walk {
        rule,
        declared,
        reads: RuleReads::default(),
    };
    walk.visit(root)?;
    Ok(walk.reads)
}

struct Walk<'a> {
    rule: &'a str,
    declared: &'a BTreeSet<String>,
    reads: RuleReads,
}

impl Walk<'_> {
    fn problem(&self, problem: String) -> PackError {
        PackError::Rule {
            rule: self.rule.to_owned(),
            problem,
        }
    }

    fn visit(&mut self, node: &IdedExpr) -> Result<(), PackError> {
        self.reads.nodes += 1;
        if self.reads.nodes > NODES_MAX {
            return Err(self.problem(format!(
                "the condition has more than {NODES_MAX} nodes; split it into several rules"
            )));
        }
        match &node.expr {
            Expr::Literal(_) => Ok(()),
            Expr::Ident(name) => Err(self.problem(format!(
                "'{name}' is read whole; read a declared field such as '{name}.<field>'"
            ))),
            Expr::Select(select) => match &select.operand.expr {
                Expr::Ident(namespace) => {
                    let name = format!("{namespace}.{}", select.field);
                    if !self.declared.contains(&name) {
                        return Err(PackError::OverReach(format!(
                            "rule '{}' reads '{name}', which the manifest does not declare",
                            self.rule
                        )));
                    }
                    self.reads.nodes += 1;
                    self.reads.fields.insert(name);
                    Ok(())
                }
                _ => self.visit(&select.operand),
            },
            Expr::Call(call) => {
                if !FUNCTIONS.contains(&call.func_name.as_str()) {
                    return Err(self.problem(format!(
                        "calls '{}', which rules may not use",
                        call.func_name
                    )));
                }
                if let Some(target) = &call.target {
                    self.visit(target)?;
                }
                for argument in &call.args {
                    self.visit(argument)?;
                }
                Ok(())
            }
            Expr::List(list) => {
                for element in &list.elements {
                    self.visit(element)?;
                }
                Ok(())
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    match &entry.expr {
                        EntryExpr::MapEntry(entry) => {
                            self.visit(&entry.key)?;
                            self.visit(&entry.value)?;
                        }
                        EntryExpr::StructField(_) => {
                            return Err(self.problem("builds a message".to_owned()));
                        }
                    }
                }
                Ok(())
            }
            Expr::Comprehension(_) => Err(self.problem(
                "uses a comprehension (all, exists, exists_one, map, filter); rule inputs hold no lists, so compare fields directly"
                    .to_owned(),
            )),
            Expr::Struct(_) => Err(self.problem("builds a message".to_owned())),
            Expr::Unspecified => Err(self.problem("holds an empty expression".to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    fn check(source: &str, names: &[&str]) -> Result<RuleReads, PackError> {
        check_source("r", source)?;
        let program = cel::Program::compile(source).map_err(|error| PackError::Rule {
            rule: "r".into(),
            problem: error.to_string(),
        })?;
        check_rule("r", program.expression(), &declared(names))
    }

    /// A rule within the limits reads exactly the fields it names.
    #[test]
    fn a_plain_rule_reads_its_fields() {
        let reads = check(
            "op.amount_fen > 100 && op.kind in ['refund', 'claim-payout'] && size(op.product) > 0",
            &["op.amount_fen", "op.kind", "op.product"],
        )
        .expect("valid");
        assert_eq!(
            reads.fields,
            declared(&["op.amount_fen", "op.kind", "op.product"])
        );
    }

    /// req: 6.3.7
    /// A rule reading an undeclared field, a whole namespace or a computed key is refused.
    #[test]
    fn reading_beyond_the_declaration_is_refused() {
        assert!(matches!(
            check(
                "op.amount_fen > 1 && account.age_days < 3",
                &["op.amount_fen"]
            ),
            Err(PackError::OverReach(_))
        ));
        assert!(matches!(
            check("has(account.secret)", &["op.amount_fen"]),
            Err(PackError::OverReach(_))
        ));
        assert!(matches!(
            check("size(op) > 3", &["op.amount_fen"]),
            Err(PackError::Rule { .. })
        ));
        assert!(matches!(
            check("op['amount' + '_fen'] > 1", &["op.amount_fen"]),
            Err(PackError::Rule { .. })
        ));
    }

    /// req: 6.3.7
    /// Comprehensions, unlisted functions, oversized and over-nested rules are refused before
    /// they could run.
    #[test]
    fn unbounded_shapes_are_refused() {
        for source in [
            "[1, 2, 3].exists(x, x > op.amount_fen)",
            "[1, 2].map(x, [1, 2].map(y, x * y)).size() > 0",
            "matches(op.product, 'a+')",
            "type(op.amount_fen) == int",
            "dyn(op.amount_fen) > 0",
        ] {
            assert!(
                check(source, &["op.amount_fen", "op.product"]).is_err(),
                "{source}"
            );
        }
        let deep = format!("{}true{}", "(".repeat(40), ")".repeat(40));
        assert!(check(&deep, &[]).is_err());
        let long = vec!["op.amount_fen > 1"; 200].join(" && ");
        assert!(check(&long, &["op.amount_fen"]).is_err());
        let many = vec!["1"; 300].join(" + ") + " > 0";
        assert!(check(&many, &[]).is_err());
    }
}
