//! (c) Weak algorithms: names of refused algorithms and their crates in code, manifests and
//! configuration.

use crate::lexer::{identifiers, lex};
use crate::repository::{Finding, is_config, is_rust, is_test_path};
use crate::secrets::config_pair;

/// Crates that implement refused algorithms (MD5, SHA-1, DES/3DES, RC4).
fn weak_crates() -> Vec<String> {
    vec![
        ["md", "5"].concat(),
        ["md", "-5"].concat(),
        ["sha", "1"].concat(),
        ["sha", "-1"].concat(),
        ["sha", "1_smol"].concat(),
        ["de", "s"].concat(),
        ["rc", "4"].concat(),
    ]
}

/// Tokens that name a refused algorithm once a name is lower-cased and split into words.
/// "des" and "tdes" must be whole words; the others must start one ("sha1withrsa") or follow
/// "hmac" or "with" inside one ("hmacsha1"), so that "crc4" is not RC4.
fn weak_word(word: &str) -> Option<&'static str> {
    const INSIDE: [(&str, &str); 3] = [("md5", "MD5"), ("sha1", "SHA-1"), ("rc4", "RC4")];
    const WHOLE: [(&str, &str); 4] = [
        ("des", "DES"),
        ("tdes", "3DES"),
        ("3des", "3DES"),
        ("desede", "3DES"),
    ];
    INSIDE
        .iter()
        .find(|(token, _)| {
            word.starts_with(token)
                || word.contains(&format!("hmac{token}"))
                || word.contains(&format!("with{token}"))
        })
        .or_else(|| WHOLE.iter().find(|(token, _)| word == *token))
        .map(|(_, label)| *label)
}

/// Splits a name into lower-case words at `_`, `-`, `.`, `:` and lower-to-upper case changes:
/// `TdesEde3` is `tdes ede3`, `hmac_sha1` is `hmac sha1`.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Which refused algorithm a name denotes, checking its words and the name as a whole
/// (`sha_1`, `md_5`).
fn weak_name(name: &str) -> Option<&'static str> {
    let split = words(name);
    split
        .iter()
        .find_map(|word| weak_word(word))
        .or_else(|| weak_word(&split.concat()).filter(|_| split.len() > 1))
        .filter(|_| !name.is_empty())
}

/// Literals short and unbroken enough to be an algorithm name ("hmac-sha1",
/// "TLS_RSA_WITH_RC4_128_SHA") rather than prose.
const ALGORITHM_LITERAL_CHARS_MAX: usize = 64;

fn algorithm_like(literal: &str) -> bool {
    !literal.is_empty()
        && literal.chars().count() <= ALGORITHM_LITERAL_CHARS_MAX
        && !literal.chars().any(char::is_whitespace)
}

/// Character ranges of `#[cfg(test)]` items: unit-test modules may test refusals.
fn cfg_test_ranges(code: &[char]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if code[i] == '#'
            && cfg_test_attribute(&code[i..])
            && let Some(range) = item_range(code, i)
        {
            ranges.push(range);
            i = range.1;
        } else {
            i += 1;
        }
    }
    ranges
}

/// Whether `code` starts with `#[cfg(test)]`, spaces allowed inside.
fn cfg_test_attribute(code: &[char]) -> bool {
    let attribute: String = code
        .iter()
        .take_while(|&&c| c != ']')
        .filter(|c| !c.is_whitespace())
        .collect();
    attribute == "#[cfg(test)"
}

/// The extent of the item after an attribute at `start`: up to its `;`, or its `{ ... }`.
fn item_range(code: &[char], start: usize) -> Option<(usize, usize)> {
    let open = start + code[start..].iter().position(|&c| c == '{' || c == ';')?;
    if code[open] == ';' {
        return Some((start, open + 1));
    }
    let mut depth = 0usize;
    for (offset, &c) in code[open..].iter().enumerate() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((start, open + offset + 1));
                }
            }
            _ => {}
        }
    }
    Some((start, code.len()))
}

/// Flags identifiers and algorithm-like string literals in Rust code that name a refused
/// algorithm or its crate, outside `#[cfg(test)]` items.
fn scan_rust_weak(path: &str, source: &str) -> Vec<Finding> {
    let lexed = lex(source);
    let tests = cfg_test_ranges(&lexed.code);
    let in_tests = |index: usize| tests.iter().any(|&(from, to)| from <= index && index < to);
    let mut findings: Vec<Finding> = identifiers(&lexed.code)
        .into_iter()
        .filter(|(index, _)| !in_tests(*index))
        .filter_map(|(index, name)| {
            weak_name(&name).map(|algorithm| Finding {
                path: path.to_string(),
                line: lexed.line_of(index),
                what: format!("{algorithm} named in code: `{name}`"),
            })
        })
        .collect();
    findings.extend(
        lexed
            .literals
            .iter()
            .filter(|literal| !in_tests(literal.start) && algorithm_like(&literal.content))
            .filter_map(|literal| {
                weak_name(&literal.content).map(|algorithm| Finding {
                    path: path.to_string(),
                    line: lexed.line_of(literal.start),
                    what: format!("{algorithm} named in a literal: \"{}\"", literal.content),
                })
            }),
    );
    findings
}

/// Flags dependencies on weak-algorithm crates in `Cargo.toml` (`name = ...`,
/// `x = { package = "name" }` or `[dependencies.name]`).
fn scan_manifest_weak(path: &str, text: &str) -> Vec<Finding> {
    let banned = weak_crates();
    let mut in_dependencies = false;
    let mut findings = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        let mut named: Vec<String> = Vec::new();
        if let Some(header) = trimmed.strip_prefix('[') {
            let header = header.trim_end_matches(']');
            in_dependencies = header.contains("dependencies");
            if let Some((table, name)) = header.rsplit_once('.')
                && table.ends_with("dependencies")
            {
                named.push(name.trim_matches('"').to_string());
            }
        } else if in_dependencies && let Some((name, value)) = trimmed.split_once('=') {
            named.push(name.trim().trim_matches('"').to_string());
            if let Some((_, package)) = value.split_once("package")
                && let Some(quoted) = package.split('"').nth(1)
            {
                named.push(quoted.to_string());
            }
        }
        for name in named {
            if banned.contains(&name) {
                findings.push(Finding {
                    path: path.to_string(),
                    line: number + 1,
                    what: format!("a dependency on the weak-algorithm crate `{name}`"),
                });
            }
        }
    }
    findings
}

/// Flags algorithm-like values naming a refused algorithm in configuration files.
fn scan_config_weak(path: &str, text: &str) -> Vec<Finding> {
    text.lines()
        .enumerate()
        .filter_map(|(number, line)| {
            let (name, value) = config_pair(line)?;
            let values: Vec<&str> = value
                .trim_matches(['[', ']'])
                .split(',')
                .map(|item| item.trim().trim_matches(['"', '\'']))
                .collect();
            let weak = values
                .iter()
                .filter(|item| algorithm_like(item))
                .find_map(|item| weak_name(item).map(|algorithm| (algorithm, item.to_string())))?;
            Some(Finding {
                path: path.to_string(),
                line: number + 1,
                what: format!("{} configured for `{name}`: \"{}\"", weak.0, weak.1),
            })
        })
        .collect()
}

/// All weak-algorithm scanners that apply to one file.
pub fn scan_weak(path: &str, text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    if is_rust(path) && !is_test_path(path) {
        findings.extend(scan_rust_weak(path, text));
    }
    if path.ends_with("Cargo.toml") {
        findings.extend(scan_manifest_weak(path, text));
    }
    if is_config(path) && !is_test_path(path) {
        findings.extend(scan_config_weak(path, text));
    }
    findings
}
