//! Traceability: the requirement catalogue, the matrix in `docs/compliance.md` and the tests
//! that prove requirements must agree (clause 6.2.2: development documentation that stays
//! true as the code changes).
//!
//! * The catalogue is `../shared/spec/requirements.md`, beside the repository. Every row of its
//!   tables whose first cell is not the header starts with a requirement ID (`4-a`, `5.2.1.1-d2`,
//!   `6.4.6`).
//! * The matrix is every table in `docs/compliance.md` whose header is
//!   `| ID | Requirement (short) | Status | Where met | Tests |`, plus one `| Status | IDs |`
//!   table that counts the rows per status.
//! * A test names the requirements it proves with a tag line in its doc comment: the word `req`,
//!   a colon, then IDs separated by commas, spaces or slashes. A test may have several tag lines.
//!
//! The check fails when the catalogue and the matrix disagree on the IDs, when a status is not one
//! of the four words, when a tag is malformed, sits on something other than a test function or
//! names an ID the matrix does not know, when an ID is marked `met` but no test names it, when
//! the Tests column names a test function that does not exist (or, for a `met` row, none that
//! carries the row's tag), and when the counts table is wrong. Every failure names the file and
//! line to fix, and all failures are listed at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The four statuses a matrix row may have.
const STATUSES: [&str; 4] = ["met", "partial", "planned", "not applicable"];
/// The header of a matrix table.
const MATRIX_HEADER: [&str; 5] = ["ID", "Requirement (short)", "Status", "Where met", "Tests"];
/// The header of the table that counts rows per status.
const COUNTS_HEADER: [&str; 2] = ["Status", "IDs"];
/// The row of the counts table that holds the number of all IDs.
const COUNTS_TOTAL: &str = "total";
/// What starts a tag in a doc comment.
const TAG: &str = "req:";
/// Lines an attribute may span before the scanner stops treating what follows as part of it.
const ATTRIBUTE_LINES_MAX: usize = 12;
/// The catalogue, relative to the repository root.
const CATALOGUE: &str = "../shared/spec/requirements.md";
/// The matrix, relative to the repository root.
const MATRIX: &str = "docs/compliance.md";
/// Where tagged tests live, relative to the repository root.
const SOURCES: &str = "crates";
/// The design document that must name every crate.
const ARCHITECTURE: &str = "docs/architecture.md";
/// The operator guide that must explain every error code.
const OPERATOR_GUIDE: &str = "docs/operator-guide.md";
/// The server's error catalogue.
const ERROR_CATALOGUE: &str = "crates/inspay-server/src/error.rs";
/// Largest source file read; nothing in `crates/` comes near it.
const FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Shared text helpers.
// ---------------------------------------------------------------------------------------------

/// Whether `text` is shaped like a requirement ID: dot-separated numbers, optionally followed by
/// `-`, one lower-case letter and digits (`4-a`, `5.1-b`, `5.2.1.1-d2`, `6.4.6`).
fn is_requirement_id(text: &str) -> bool {
    let (number, suffix) = match text.split_once('-') {
        Some((number, suffix)) => (number, Some(suffix)),
        None => (text, None),
    };
    let number_ok = !number.is_empty()
        && number
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let suffix_ok = suffix.is_none_or(|suffix| {
        let mut bytes = suffix.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_lowercase()) && bytes.all(|b| b.is_ascii_digit())
    });
    number_ok && suffix_ok
}

/// The cells of a Markdown table row, trimmed, or `None` if the line is not a row. `\|` inside a
/// cell is text, not a separator.
fn table_cells(line: &str) -> Option<Vec<String>> {
    let row = line.trim();
    let inner = row.strip_prefix('|')?;
    let mut cells = vec![];
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell).trim().to_string()),
            _ => cell.push(c),
        }
    }
    if !cell.trim().is_empty() {
        cells.push(cell.trim().to_string());
    }
    Some(cells)
}

/// Whether table cells are the `|---|:---:|` line under a header.
fn is_separator(cells: &[String]) -> bool {
    !cells.is_empty()
        && cells
            .iter()
            .all(|cell| !cell.is_empty() && cell.chars().all(|c| matches!(c, '-' | ':' | ' ')))
}

/// A cell without the backticks that may quote it.
fn unquoted(cell: &str) -> &str {
    cell.trim().trim_matches('`').trim()
}

// ---------------------------------------------------------------------------------------------
// The catalogue.
// ---------------------------------------------------------------------------------------------

/// The requirement IDs of the catalogue with their line numbers (from 1), in order. Errors name
/// rows whose first cell is not an ID and IDs listed twice.
fn catalogue_ids(text: &str) -> Result<Vec<(String, usize)>, Vec<String>> {
    let mut ids = vec![];
    let mut seen = BTreeSet::new();
    let mut errors = vec![];
    for (index, line) in text.lines().enumerate() {
        let Some(cells) = table_cells(line) else {
            continue;
        };
        let Some(first) = cells.first() else {
            continue;
        };
        if first == "ID" || is_separator(&cells) {
            continue;
        }
        let id = unquoted(first);
        if !is_requirement_id(id) {
            errors.push(format!(
                "{CATALOGUE}:{}: '{id}' is not a requirement ID",
                index + 1
            ));
        } else if !seen.insert(id.to_string()) {
            errors.push(format!("{CATALOGUE}:{}: {id} is listed twice", index + 1));
        } else {
            ids.push((id.to_string(), index + 1));
        }
    }
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------------------------------------
// The matrix.
// ---------------------------------------------------------------------------------------------

/// One matrix row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    id: String,
    status: String,
    /// `path::function` references from the Tests column.
    tests: Vec<String>,
    line: usize,
}

/// The matrix: its rows, the counts table (status, count, line) and what was wrong with them.
#[derive(Debug, Default)]
struct Matrix {
    rows: Vec<Row>,
    counts: Vec<(String, usize, usize)>,
    errors: Vec<String>,
}

/// Which kind of table the parser is inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    None,
    Matrix,
    Counts,
    Other,
}

/// The `path/to/file.rs::function` references in a Tests cell (separated by commas,
/// semicolons or `<br>`); prose such as "none yet" is not a reference.
fn test_references(cell: &str) -> Vec<String> {
    cell.replace("<br>", ",")
        .split([',', ';'])
        .map(unquoted)
        .filter(|item| item.contains(".rs::"))
        .map(str::to_string)
        .collect()
}

/// Parses `docs/compliance.md`.
fn parse_matrix(text: &str) -> Matrix {
    let mut matrix = Matrix::default();
    let mut table = Table::None;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let Some(cells) = table_cells(line) else {
            table = Table::None;
            continue;
        };
        if table == Table::None {
            table = if cells == MATRIX_HEADER {
                Table::Matrix
            } else if cells == COUNTS_HEADER {
                Table::Counts
            } else {
                Table::Other
            };
            continue;
        }
        if is_separator(&cells) {
            continue;
        }
        match table {
            Table::Matrix => matrix_row(&mut matrix, &mut seen, &cells, number),
            Table::Counts => counts_row(&mut matrix, &cells, number),
            Table::None | Table::Other => {}
        }
    }
    matrix
}

fn matrix_row(
    matrix: &mut Matrix,
    seen: &mut BTreeMap<String, usize>,
    cells: &[String],
    line: usize,
) {
    let at = format!("{MATRIX}:{line}");
    if cells.len() != MATRIX_HEADER.len() {
        matrix.errors.push(format!(
            "{at}: a matrix row has {} cells, not {} (a '|' inside a cell must be written '\\|')",
            cells.len(),
            MATRIX_HEADER.len()
        ));
        return;
    }
    let id = unquoted(&cells[0]).to_string();
    let status = cells[2].clone();
    if !is_requirement_id(&id) {
        matrix
            .errors
            .push(format!("{at}: '{id}' is not a requirement ID"));
        return;
    }
    if !STATUSES.contains(&status.as_str()) {
        matrix.errors.push(format!(
            "{at}: {id} has status '{status}'; use exactly one of: {}",
            STATUSES.join(", ")
        ));
    }
    if let Some(first) = seen.insert(id.clone(), line) {
        matrix
            .errors
            .push(format!("{at}: {id} is listed twice (also at line {first})"));
        return;
    }
    matrix.rows.push(Row {
        id,
        status,
        tests: test_references(&cells[4]),
        line,
    });
}

fn counts_row(matrix: &mut Matrix, cells: &[String], line: usize) {
    let count = cells
        .get(1)
        .and_then(|cell| unquoted(cell).parse::<usize>().ok());
    match (cells.first(), count, cells.len()) {
        (Some(status), Some(count), 2) => matrix.counts.push((status.clone(), count, line)),
        _ => matrix.errors.push(format!(
            "{MATRIX}:{line}: a counts row is `| <status> | <number> |`"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Tags in the source.
// ---------------------------------------------------------------------------------------------

/// One tagged ID, where it was written and the test function it sits on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tag {
    id: String,
    file: String,
    line: usize,
    test: String,
}

/// What the scan of the sources found.
#[derive(Debug, Default)]
struct Scan {
    tags: Vec<Tag>,
    /// Every test function, as `path::name`.
    tests: BTreeSet<String>,
    errors: Vec<String>,
}

/// The IDs after the tag word on one doc-comment line, or the token that is not an ID.
fn tag_ids(after_tag: &str) -> Result<Vec<String>, String> {
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
fn scan_source(file: &str, text: &str, scan: &mut Scan) {
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

// ---------------------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------------------

/// Everything wrong, grouped by kind, each problem with its file and line.
fn findings(
    catalogue: &[(String, usize)],
    matrix: &Matrix,
    scan: &Scan,
) -> Vec<(String, Vec<String>)> {
    let known: BTreeSet<&str> = catalogue.iter().map(|(id, _)| id.as_str()).collect();
    let in_matrix: BTreeSet<&str> = matrix.rows.iter().map(|row| row.id.as_str()).collect();
    let tagged: BTreeSet<&str> = scan.tags.iter().map(|tag| tag.id.as_str()).collect();
    let groups = vec![
        (
            "catalogue IDs missing from the matrix".to_string(),
            catalogue
                .iter()
                .filter(|(id, _)| !in_matrix.contains(id.as_str()))
                .map(|(id, line)| format!("{id} ({CATALOGUE}:{line})"))
                .collect(),
        ),
        (
            "matrix IDs that are not in the catalogue".to_string(),
            matrix
                .rows
                .iter()
                .filter(|row| !known.contains(row.id.as_str()))
                .map(|row| format!("{} ({MATRIX}:{})", row.id, row.line))
                .collect(),
        ),
        ("malformed matrix rows".to_string(), matrix.errors.clone()),
        (
            "malformed or misplaced tags".to_string(),
            scan.errors.clone(),
        ),
        (
            "tags naming IDs the matrix does not know".to_string(),
            scan.tags
                .iter()
                .filter(|tag| !in_matrix.contains(tag.id.as_str()))
                .map(|tag| format!("{} ({}:{}, test {})", tag.id, tag.file, tag.line, tag.test))
                .collect(),
        ),
        (
            "IDs marked met that no test names".to_string(),
            matrix
                .rows
                .iter()
                .filter(|row| row.status == "met" && !tagged.contains(row.id.as_str()))
                .map(|row| format!("{} ({MATRIX}:{})", row.id, row.line))
                .collect(),
        ),
        (
            "Tests column problems".to_string(),
            test_column_findings(matrix, scan),
        ),
        (
            "counts table problems".to_string(),
            count_findings(catalogue, matrix),
        ),
    ];
    groups
        .into_iter()
        .filter(|(_, items)| !items.is_empty())
        .collect()
}

/// Tests the matrix names must exist, and a `met` row must name one that carries its tag.
fn test_column_findings(matrix: &Matrix, scan: &Scan) -> Vec<String> {
    let mut problems = vec![];
    for row in &matrix.rows {
        for test in row.tests.iter().filter(|test| !scan.tests.contains(*test)) {
            problems.push(format!(
                "{} ({MATRIX}:{}): no test function {test}",
                row.id, row.line
            ));
        }
        let proves = row.tests.iter().any(|test| {
            scan.tags
                .iter()
                .any(|tag| tag.id == row.id && format!("{}::{}", tag.file, tag.test) == *test)
        });
        if row.status == "met" && !proves {
            problems.push(format!(
                "{} ({MATRIX}:{}): marked met, but none of the tests it names carries its tag",
                row.id, row.line
            ));
        }
    }
    problems
}

/// The counts table must give the number of rows for each status and the total.
fn count_findings(catalogue: &[(String, usize)], matrix: &Matrix) -> Vec<String> {
    if matrix.counts.is_empty() {
        return vec![format!(
            "{MATRIX}: no `| {} | {} |` table counting the IDs per status",
            COUNTS_HEADER[0], COUNTS_HEADER[1]
        )];
    }
    let mut expected: BTreeMap<&str, usize> = STATUSES.iter().map(|status| (*status, 0)).collect();
    for row in &matrix.rows {
        if let Some(count) = expected.get_mut(row.status.as_str()) {
            *count += 1;
        }
    }
    expected.insert(COUNTS_TOTAL, catalogue.len());
    let mut problems = vec![];
    for (status, count) in &expected {
        match matrix.counts.iter().find(|(name, _, _)| name == status) {
            Some((_, written, line)) if written != count => problems.push(format!(
                "{MATRIX}:{line}: {status} is counted as {written}; the matrix has {count}"
            )),
            Some(_) => {}
            None => problems.push(format!("{MATRIX}: the counts table has no '{status}' row")),
        }
    }
    for (status, _, line) in &matrix.counts {
        if !expected.contains_key(status.as_str()) {
            problems.push(format!("{MATRIX}:{line}: '{status}' is not a status"));
        }
    }
    problems
}

/// One message listing every group of problems.
fn report(groups: &[(String, Vec<String>)]) -> String {
    let mut text = String::new();
    for (what, items) in groups {
        text.push_str(&format!("\n{what} ({}):\n", items.len()));
        for item in items {
            text.push_str(&format!("  {item}\n"));
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// The repository.
// ---------------------------------------------------------------------------------------------

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Every `.rs` file under `directory`, relative to `root` with `/` separators, skipping build
/// output and hidden directories.
fn rust_files(root: &Path, directory: &Path, found: &mut Vec<String>) {
    let entries = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", directory.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(root, &path, found);
            }
        } else if name.ends_with(".rs")
            && entry
                .metadata()
                .is_ok_and(|meta| meta.len() <= FILE_BYTES_MAX)
            && let Ok(relative) = path.strip_prefix(root)
        {
            found.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Scans every Rust file under `crates/`.
fn scan_repository(root: &Path) -> Scan {
    let mut files = vec![];
    rust_files(root, &root.join(SOURCES), &mut files);
    files.sort();
    let mut scan = Scan::default();
    for file in &files {
        scan_source(file, &read(&root.join(file)), &mut scan);
    }
    scan
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

/// The matrix in docs/compliance.md lists exactly the catalogue's requirement IDs, each with one
/// of the four statuses; every test tag is well formed, sits on a test and names an ID the
/// matrix knows; every ID marked met is named by a test that the matrix's Tests column lists;
/// every test the matrix lists exists; and the counts table is right. The development
/// documentation therefore cannot drift from the code without this test failing.
/// req: 6.2.2
#[test]
fn matrix_covers_the_catalogue_and_every_tag() {
    let root = repository_root();
    let catalogue_path = root.join(CATALOGUE);
    assert!(
        catalogue_path.is_file(),
        "the requirement catalogue is missing: expected {} (the shared directory sits beside the \
         repository, at <repo>/../shared; CI always has it). Without it the traceability check \
         cannot run.",
        catalogue_path.display()
    );
    let catalogue = catalogue_ids(&read(&catalogue_path)).unwrap_or_else(|errors| {
        panic!(
            "the catalogue could not be read:\n  {}",
            errors.join("\n  ")
        )
    });
    assert!(
        catalogue.len() > 100,
        "only {} IDs found in {CATALOGUE}: the catalogue parser is broken",
        catalogue.len()
    );
    let matrix = parse_matrix(&read(&root.join(MATRIX)));
    let scan = scan_repository(&root);
    assert!(
        scan.tags.len() > 50 && scan.tests.len() > 50,
        "only {} tags on {} tests found under {SOURCES}/: the source scanner is broken",
        scan.tags.len(),
        scan.tests.len()
    );
    let groups = findings(&catalogue, &matrix, &scan);
    assert!(
        groups.is_empty(),
        "the traceability matrix is out of date:{}",
        report(&groups)
    );
}

/// Requirement IDs are recognised in every shape the catalogue uses, and nothing else is.
#[test]
fn requirement_ids_have_the_catalogue_shapes() {
    for id in [
        "4-a",
        "5.1-b",
        "5.2.1.1",
        "5.2.1.1-d2",
        "5.6.5-a1",
        "6.4.6",
        "5.3.4",
    ] {
        assert!(is_requirement_id(id), "{id}");
    }
    for text in [
        "", "ID", "5.", ".5", "5..1", "5.1-", "5.1-A", "5.1-ab", "5.1-a-b", "v5.1", "5.l",
    ] {
        assert!(!is_requirement_id(text), "{text}");
    }
}

/// The catalogue parser takes the first cell of every table row, skips headers and separators,
/// and refuses rows that do not start with an ID and IDs given twice.
#[test]
fn catalogue_parser_reads_ids_and_refuses_odd_rows() {
    let text = "# Catalogue\n\n| ID | requirement | note |\n|---|---|---|\n\
                | 4-a | Classes. | |\n| 5.2.1.1-d2 | SMS `codes` \\| OTP. | 6 digits |\n\ntext\n";
    let ids = catalogue_ids(text).expect("parses");
    assert_eq!(
        ids,
        vec![("4-a".to_string(), 5), ("5.2.1.1-d2".to_string(), 6)]
    );
    let odd = "| ID | r |\n|---|---|\n| 4-a | x |\n| 4-a | again |\n| note | y |\n";
    let errors = catalogue_ids(odd).expect_err("refused");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains(":4:") && errors[0].contains("twice"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains(":5:") && errors[1].contains("'note'"),
        "{errors:?}"
    );
}

/// The matrix parser reads only tables with the matrix header, keeps the Tests column's
/// `file::function` references, reads the counts table, and reports wrong statuses, wrong cell
/// counts, non-IDs and duplicates with their line numbers.
#[test]
fn matrix_parser_reads_rows_and_reports_mistakes() {
    let text = "Intro.\n\n| Status | IDs |\n|---|---|\n| met | 1 |\n| total | 3 |\n\n\
                | ID | Requirement (short) | Status | Where met | Tests |\n|---|---|---|---|---|\n\
                | `5.3.4` | Rollback. | met | `a.rs` | `crates/x/tests/y.rs::first`, crates/x/src/z.rs::second<br>none yet |\n\
                | 5.1-a | Basic. | Planned | issue 3 | |\n\
                | 5.1-b | Enhanced. | planned | issue 3 |\n\
                | oops | x | met | y | z |\n\
                | 5.3.4 | Again. | partial | x | |\n\n\
                | Other | table |\n|---|---|\n| met | 9 |\n";
    let matrix = parse_matrix(text);
    assert_eq!(
        matrix.counts,
        vec![("met".to_string(), 1, 5), ("total".to_string(), 3, 6)]
    );
    assert_eq!(matrix.rows.len(), 2, "{:?}", matrix.rows);
    assert_eq!(
        matrix.rows[0],
        Row {
            id: "5.3.4".into(),
            status: "met".into(),
            tests: vec![
                "crates/x/tests/y.rs::first".into(),
                "crates/x/src/z.rs::second".into()
            ],
            line: 10,
        }
    );
    assert_eq!(matrix.rows[1].status, "Planned");
    let errors = matrix.errors.join("\n");
    assert_eq!(matrix.errors.len(), 4, "{errors}");
    for expected in [
        ":11: 5.1-a has status 'Planned'",
        ":12: a matrix row has 4 cells",
        ":13: 'oops'",
        ":14: 5.3.4 is listed twice (also at line 10)",
    ] {
        assert!(errors.contains(expected), "{expected} not in:\n{errors}");
    }
}

/// Tag IDs may be separated by commas, spaces or slashes and quoted in backticks; a token that
/// is not an ID, or no ID at all, is an error naming the token.
#[test]
fn tag_ids_are_split_and_checked() {
    let ids = |text| tag_ids(text).expect(text);
    assert_eq!(ids(" 5.6.3.2, 5.6.5-a2"), ["5.6.3.2", "5.6.5-a2"]);
    assert_eq!(ids(" 5.6.3.2 / 5.6.5-a2"), ["5.6.3.2", "5.6.5-a2"]);
    assert_eq!(ids(" `5.5.1.2` 5.5.1.3."), ["5.5.1.2", "5.5.1.3"]);
    assert!(
        tag_ids(" 5.5.1.2 (weak algorithms)")
            .expect_err("prose")
            .contains("'(weak'")
    );
    assert!(tag_ids(" 5.5.l.2").is_err());
    assert!(tag_ids("   ").expect_err("empty").contains("no ID"));
}

/// The source scanner attaches tag lines (several per doc comment, on any line of it) to the
/// test function that follows, across multi-line test attributes and other attributes, records
/// untagged tests too, and reports tags on non-test functions, on other items and in module
/// docs, and malformed tags, each with its line.
#[test]
fn source_scanner_attaches_tags_to_tests() {
    let tag = TAG;
    let source = [
        "//! Module doc.".to_string(),
        "/// Proves two things.".into(),
        format!("/// {tag} 5.6.3.2"),
        "/// More prose.".into(),
        format!("/// {tag} 5.6.5-a2 / 5.6.5-a1"),
        "#[tokio::test(".into(),
        "    flavor = \"multi_thread\"".into(),
        ")]".into(),
        "#[ignore]".into(),
        "async fn first_test() {}".into(),
        String::new(),
        "#[test]".into(),
        "fn untagged_test() {}".into(),
        format!("/// {tag} 5.3.4"),
        "pub fn helper() {}".into(),
        format!("/// {tag} 5.3.4"),
        "struct Thing;".into(),
        format!("//! {tag} 5.3.4"),
        format!("/// Prose then {tag} 5.3.4"),
        format!("/// {tag} five"),
        "#[test]".into(),
        "fn last() {}".into(),
    ]
    .join("\n");
    let mut scan = Scan::default();
    scan_source("crates/x/tests/t.rs", &source, &mut scan);
    let tags: Vec<(&str, usize, &str)> = scan
        .tags
        .iter()
        .map(|tag| (tag.id.as_str(), tag.line, tag.test.as_str()))
        .collect();
    assert_eq!(
        tags,
        [
            ("5.6.3.2", 3, "first_test"),
            ("5.6.5-a2", 5, "first_test"),
            ("5.6.5-a1", 5, "first_test")
        ]
    );
    let tests: Vec<&str> = scan.tests.iter().map(String::as_str).collect();
    assert_eq!(
        tests,
        [
            "crates/x/tests/t.rs::first_test",
            "crates/x/tests/t.rs::last",
            "crates/x/tests/t.rs::untagged_test"
        ]
    );
    let errors = scan.errors.join("\n");
    assert_eq!(scan.errors.len(), 5, "{errors}");
    for expected in [
        "t.rs:14: tag on function helper",
        "t.rs:16: tag on the item at line 17",
        "t.rs:18: a tag in a module's doc comment",
        "t.rs:19: malformed tag",
        "t.rs:20: malformed tag: 'five'",
    ] {
        assert!(errors.contains(expected), "{expected} not in:\n{errors}");
    }
}

/// The checks report, with file and line, each kind of disagreement: a catalogue ID missing
/// from the matrix, a matrix ID not in the catalogue, a tag naming an unknown ID, an ID marked
/// met that no test names, a listed test that does not exist, a met row whose listed tests do
/// not carry its tag, and wrong counts. A consistent set passes.
#[test]
fn checks_report_every_kind_of_disagreement() {
    let catalogue = vec![
        ("4-a".to_string(), 10),
        ("5.3.4".to_string(), 11),
        ("6.2.2".to_string(), 12),
    ];
    let row = |id: &str, status: &str, tests: &[&str], line| Row {
        id: id.into(),
        status: status.into(),
        tests: tests.iter().map(|test| test.to_string()).collect(),
        line,
    };
    let tag = |id: &str, test: &str| Tag {
        id: id.into(),
        file: "crates/t.rs".into(),
        line: 7,
        test: test.into(),
    };
    let counts = |met, planned, total| {
        vec![
            ("met".to_string(), met, 1),
            ("partial".to_string(), 0, 2),
            ("planned".to_string(), planned, 3),
            ("not applicable".to_string(), 0, 4),
            ("total".to_string(), total, 5),
        ]
    };
    let good = Matrix {
        rows: vec![
            row("4-a", "planned", &[], 20),
            row("5.3.4", "met", &["crates/t.rs::kill"], 21),
            row("6.2.2", "met", &["crates/t.rs::docs"], 22),
        ],
        counts: counts(2, 1, 3),
        errors: vec![],
    };
    let scan = Scan {
        tags: vec![tag("5.3.4", "kill"), tag("6.2.2", "docs")],
        tests: ["crates/t.rs::kill", "crates/t.rs::docs"]
            .map(String::from)
            .into(),
        errors: vec![],
    };
    assert!(
        findings(&catalogue, &good, &scan).is_empty(),
        "{}",
        report(&findings(&catalogue, &good, &scan))
    );

    let bad = Matrix {
        rows: vec![
            row("5.3.4", "met", &["crates/t.rs::gone"], 21),
            row("6.2.2", "met", &["crates/t.rs::kill"], 22),
            row("9.9", "partial", &[], 23),
        ],
        counts: counts(2, 1, 3),
        errors: vec![],
    };
    let scan = Scan {
        tags: vec![tag("5.3.4", "kill"), tag("7.1", "kill")],
        ..scan
    };
    let text = report(&findings(&catalogue, &bad, &scan));
    for expected in [
        "4-a (../shared/spec/requirements.md:10)",
        "9.9 (docs/compliance.md:23)",
        "7.1 (crates/t.rs:7, test kill)",
        "IDs marked met that no test names (1):\n  6.2.2 (docs/compliance.md:22)",
        "5.3.4 (docs/compliance.md:21): no test function crates/t.rs::gone",
        "5.3.4 (docs/compliance.md:21): marked met, but none",
        "6.2.2 (docs/compliance.md:22): marked met, but none",
        "docs/compliance.md:3: planned is counted as 1; the matrix has 0",
        "docs/compliance.md:2: partial is counted as 0; the matrix has 1",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
}

/// Whether `text` has the shape of a stable error code: `INSPAY-`, an upper-case family, `-`
/// and three digits (`INSPAY-REQ-003`).
fn is_error_code(text: &str) -> bool {
    let Some((family, number)) = text
        .strip_prefix("INSPAY-")
        .and_then(|rest| rest.split_once('-'))
    else {
        return false;
    };
    !family.is_empty()
        && family.bytes().all(|b| b.is_ascii_uppercase())
        && number.len() == 3
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The stable error codes defined in the server's catalogue source: every string literal that
/// is an error code, in order, each once.
fn error_codes(source: &str) -> Vec<String> {
    let mut codes: Vec<String> = vec![];
    for (at, _) in source.match_indices("\"INSPAY-") {
        let code = source[at + 1..].split('"').next().unwrap_or_default();
        if is_error_code(code) && !codes.iter().any(|known| known == code) {
            codes.push(code.to_string());
        }
    }
    codes
}

/// docs/architecture.md describes every crate of the workspace: each directory under crates/
/// is named in it, so a crate cannot be added without its place in the overall design.
/// req: 6.1.1
#[test]
fn architecture_names_every_crate() {
    let root = repository_root();
    let design = read(&root.join(ARCHITECTURE));
    let mut crates: Vec<String> = std::fs::read_dir(root.join(SOURCES))
        .expect("crates/ lists")
        .flatten()
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    assert!(crates.len() >= 6, "only {crates:?} found under {SOURCES}/");
    let missing: Vec<&String> = crates
        .iter()
        .filter(|name| !design.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "{ARCHITECTURE} does not describe these crates (write each name in backticks): {missing:?}"
    );
}

/// Every stable error code of the server's catalogue is explained in the operator guide's
/// error catalogue, so an integrator never meets a code the manual does not describe.
/// req: 6.2.3
#[test]
fn operator_guide_explains_every_error_code() {
    let root = repository_root();
    let codes = error_codes(&read(&root.join(ERROR_CATALOGUE)));
    assert!(
        codes.len() >= 10,
        "only {codes:?} found in {ERROR_CATALOGUE}: the code reader is broken"
    );
    let guide = read(&root.join(OPERATOR_GUIDE));
    let missing: Vec<&String> = codes
        .iter()
        .filter(|code| !guide.contains(&format!("`{code}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "{OPERATOR_GUIDE} does not explain these error codes (write each in backticks): {missing:?}"
    );
}

/// The error-code reader finds each code literal once, and not prefixes, placeholders or
/// codes written outside string literals.
#[test]
fn error_codes_are_read_from_string_literals() {
    let source = r#"A => ("INSPAY-REQ-001", BAD_REQUEST, "Bad."), B => ("INSPAY-SYS-001", X, "INSPAY down"), C => ("INSPAY-REQ-001", Y, "again"), strip_prefix("INSPAY-"), expect("INSPAY-FAMILY-NNN"), // INSPAY-XYZ-9"#;
    assert_eq!(error_codes(source), ["INSPAY-REQ-001", "INSPAY-SYS-001"]);
    assert!(!is_error_code("INSPAY-REQ-01") && !is_error_code("INSPAY-req-001"));
}
