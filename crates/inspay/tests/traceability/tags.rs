//! Tags in the source: the test functions of each Rust file and the requirement IDs their doc
//! comments name.

use crate::parsing::is_requirement_id;
use crate::{ATTRIBUTE_LINES_MAX, TAG};
use std::collections::BTreeSet;

/// One tagged ID, where it was written and the test function it sits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub id: String,
    pub file: String,
    pub line: usize,
    pub test: String,
}

/// What the scan of the sources found.
#[derive(Debug, Default)]
pub struct Scan {
    pub tags: Vec<Tag>,
    /// Every test function, as `path::name`.
    pub tests: BTreeSet<String>,
    pub errors: Vec<String>,
}

/// The IDs after the tag word on one doc-comment line, or the token that is not an ID.
pub fn tag_ids(after_tag: &str) -> Result<Vec<String>, String> {
    let ids: Vec<String> = after_tag
        .split([',', '/', ' ', '\t'])
        .map(|token| token.trim().trim_matches('`').trim_end_matches(['.', ';']))
        .filter(|token| !token.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err("no ID follows it".into());
    }
    match ids.iter().find(|id| !is_requirement_id(id)) {
        Some(bad) => Err(format!("'{bad}' is not a requirement ID")),
        None => Ok(ids),
    }
}

/// Whether an attribute line (`#[...]`) marks a test: `#[test]`, `#[tokio::test]`,
/// `#[tokio::test(flavor = "multi_thread")]` and the like.
fn is_test_attribute(line: &str) -> bool {
    let Some(inner) = line.trim().strip_prefix("#[") else {
        return false;
    };
    let path = inner.split(['(', ']']).next().unwrap_or_default().trim();
    path == "test" || path.ends_with("::test")
}

/// The function a line declares (`fn name`, `pub async fn name<T>(...)`), if it declares one.
fn function_name(line: &str) -> Option<String> {
    const QUALIFIERS: [&str; 6] = [
        "pub",
        "pub(crate)",
        "pub(super)",
        "async",
        "const",
        "extern",
    ];
    let mut words = line.split_whitespace();
    loop {
        let word = words.next()?;
        if word == "fn" {
            let name: String = words
                .next()?
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            return (!name.is_empty()).then_some(name);
        }
        if !QUALIFIERS.contains(&word) {
            return None;
        }
    }
}

/// The state of the scanner between an item's doc comment and the item itself.
#[derive(Debug, Default)]
struct Pending {
    /// (line, IDs) of each tag line seen.
    tags: Vec<(usize, Vec<String>)>,
    /// Whether a test attribute (`#[test]`, `#[tokio::test]`) was seen.
    test_attribute: bool,
    /// The open brackets of a multi-line attribute being skipped (0 when none is) ...
    attribute_depth: i64,
    /// ... and how many of its lines were skipped so far.
    attribute_lines: usize,
}

/// Finds the test functions of one source file and the tags on them. `file` is the path used
/// in messages.
pub fn scan_source(file: &str, text: &str, scan: &mut Scan) {
    let mut pending = Pending::default();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if pending.attribute_depth > 0 && pending.attribute_lines < ATTRIBUTE_LINES_MAX {
            pending.attribute_depth += bracket_balance(line);
            pending.attribute_lines += 1;
            continue;
        }
        pending.attribute_depth = 0;
        if let Some(doc) = line
            .strip_prefix("///")
            .filter(|_| !line.starts_with("////"))
        {
            doc_line(file, number, doc, &mut pending, scan);
        } else if let Some(doc) = line.strip_prefix("//!") {
            if doc.contains(TAG) {
                scan.errors.push(format!(
                    "{file}:{number}: a tag in a module's doc comment; tags belong on test functions"
                ));
            }
        } else if line.starts_with("#[") {
            pending.test_attribute |= is_test_attribute(line);
            pending.attribute_depth = bracket_balance(line);
            pending.attribute_lines = 0;
        } else if !line.is_empty() && !line.starts_with("//") {
            item_line(file, number, line, std::mem::take(&mut pending), scan);
        }
    }
}

fn bracket_balance(line: &str) -> i64 {
    let count = |c: char| i64::try_from(line.matches(c).count()).unwrap_or(i64::MAX);
    count('[') - count(']')
}

fn doc_line(file: &str, number: usize, doc: &str, pending: &mut Pending, scan: &mut Scan) {
    let Some(position) = doc.find(TAG) else {
        return;
    };
    let before = &doc[..position];
    if !before.trim().is_empty() {
        scan.errors.push(format!(
            "{file}:{number}: malformed tag: a tag line starts with the tag (after the doc-comment \
             marker), with nothing before it"
        ));
        return;
    }
    match tag_ids(&doc[position + TAG.len()..]) {
        Ok(ids) => pending.tags.push((number, ids)),
        Err(why) => scan.errors.push(format!(
            "{file}:{number}: malformed tag: {why}; write IDs separated by commas, spaces or slashes"
        )),
    }
}

fn item_line(file: &str, number: usize, line: &str, pending: Pending, scan: &mut Scan) {
    let name = function_name(line);
    match (&name, pending.test_attribute) {
        (Some(name), true) => {
            scan.tests.insert(format!("{file}::{name}"));
            for (tag_line, ids) in pending.tags {
                scan.tags.extend(ids.into_iter().map(|id| Tag {
                    id,
                    file: file.to_string(),
                    line: tag_line,
                    test: name.clone(),
                }));
            }
        }
        _ => {
            for (tag_line, _) in pending.tags {
                let what = match &name {
                    Some(name) => format!("function {name} (line {number}), which is not a test"),
                    None => format!("the item at line {number}, which is not a function"),
                };
                scan.errors.push(format!(
                    "{file}:{tag_line}: tag on {what}; tags belong on #[test] functions"
                ));
            }
        }
    }
}
