//! The checks: what the catalogue, the matrix and the tags disagree on, and the report that
//! lists it.

use crate::parsing::Matrix;
use crate::tags::Scan;
use crate::{CATALOGUE, COUNTS_HEADER, COUNTS_TOTAL, MATRIX, STATUSES};
use std::collections::{BTreeMap, BTreeSet};

/// Everything wrong, grouped by kind, each problem with its file and line.
pub fn findings(
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
pub fn report(groups: &[(String, Vec<String>)]) -> String {
    let mut text = String::new();
    for (what, items) in groups {
        text.push_str(&format!("\n{what} ({}):\n", items.len()));
        for item in items {
            text.push_str(&format!("  {item}\n"));
        }
    }
    text
}
