//! Reading the catalogue and the matrix: their Markdown tables, the requirement IDs in them and
//! the test references in the matrix's Tests column.

use crate::{CATALOGUE, COUNTS_HEADER, MATRIX, MATRIX_HEADER, STATUSES};
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------------------------------------
// Shared text helpers.
// ---------------------------------------------------------------------------------------------

/// Whether `text` is shaped like a requirement ID: dot-separated numbers, optionally followed by
/// `-`, one lower-case letter and digits (`4-a`, `5.1-b`, `5.2.1.1-d2`, `6.4.6`).
pub fn is_requirement_id(text: &str) -> bool {
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
pub fn catalogue_ids(text: &str) -> Result<Vec<(String, usize)>, Vec<String>> {
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
pub struct Row {
    pub id: String,
    pub status: String,
    /// `path::function` references from the Tests column.
    pub tests: Vec<String>,
    pub line: usize,
}

/// The matrix: its rows, the counts table (status, count, line) and what was wrong with them.
#[derive(Debug, Default)]
pub struct Matrix {
    pub rows: Vec<Row>,
    pub counts: Vec<(String, usize, usize)>,
    pub errors: Vec<String>,
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
pub fn parse_matrix(text: &str) -> Matrix {
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
