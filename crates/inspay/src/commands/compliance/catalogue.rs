//! The clause list the report goes through: the rows of the compliance matrix
//! (`docs/compliance.md`), built into the binary so the report works on an operator's machine
//! without the repository.

/// The matrix, as it was when this binary was built.
const MATRIX: &str = include_str!("../../../../../docs/compliance.md");

/// One clause of the catalogue as the matrix lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The catalogue ID (`5.2.3.1`, `5.6.2-a1`, `4-a`).
    pub id: String,
    /// The short requirement text of the matrix.
    pub title: String,
    /// The matrix's status for the code (`met`, `partial`, `planned`, `not applicable`).
    pub matrix_status: String,
}

/// Every clause of the built-in matrix, in its order.
pub fn clauses() -> Vec<Clause> {
    parse(MATRIX)
}

/// The clause rows of a matrix: table rows whose first cell is a catalogue ID (it starts with
/// a digit), with their first three cells.
pub fn parse(matrix: &str) -> Vec<Clause> {
    matrix
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.strip_prefix('|')?.split('|').map(str::trim).collect();
            let id = *cells.first()?;
            if !id.starts_with(|c: char| c.is_ascii_digit()) || cells.len() < 3 {
                return None;
            }
            Some(Clause {
                id: id.to_string(),
                title: cells[1].to_string(),
                matrix_status: cells[2].to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clause_rows_are_read_and_other_rows_skipped() {
        let matrix = "| ID | Requirement | Status | Where | Tests |\n|---|---|---|---|---|\n\
                      | met | 73 |\n| 5.2.3.1 | Lock after 3 failures | met | x | y |\n";
        assert_eq!(
            parse(matrix),
            vec![Clause {
                id: "5.2.3.1".into(),
                title: "Lock after 3 failures".into(),
                matrix_status: "met".into(),
            }]
        );
    }

    #[test]
    fn the_built_in_matrix_has_every_clause() {
        let clauses = clauses();
        assert!(clauses.len() > 100, "{}", clauses.len());
        for id in ["4-a", "5.5.2.1", "5.6.2-a1", "6.2.4", "6.3.1", "6.4.6"] {
            assert!(clauses.iter().any(|clause| clause.id == id), "{id}");
        }
    }
}
