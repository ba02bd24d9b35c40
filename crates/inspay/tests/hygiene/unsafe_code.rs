//! (a) `unsafe` used as code.

use crate::lexer::{code_after, identifiers, lex};
use crate::repository::Finding;

/// The keyword, built from pieces so this file does not hold it as one word.
pub fn unsafe_keyword() -> String {
    ["un", "safe"].concat()
}

/// Flags every `unsafe` token in Rust code: blocks, functions, impls, traits, extern blocks and
/// `#[unsafe(...)]` attributes alike. Comments and strings are prose and pass.
pub fn scan_unsafe(path: &str, source: &str) -> Vec<Finding> {
    let lexed = lex(source);
    let keyword = unsafe_keyword();
    identifiers(&lexed.code)
        .into_iter()
        .filter(|(_, name)| *name == keyword)
        .map(|(index, _)| Finding {
            path: path.to_string(),
            line: lexed.line_of(index),
            what: format!("{keyword} code: `{}`", code_after(&lexed.code, index)),
        })
        .collect()
}
