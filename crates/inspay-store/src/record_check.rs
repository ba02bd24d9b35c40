//! The paged walk behind every table's `*_verify` (clause 5.6.1-b): each row is read back
//! through the same parser that checks its record MAC when the application reads it, a page
//! at a time, and the keys of the rows that fail are collected. A table of millions of rows
//! is checked without holding more than one page in memory.

use crate::StoreError;
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Rows read per page.
pub const VERIFY_PAGE_ROWS: i64 = 500;
/// Failing row keys kept per table: enough to act on, bounded however much was changed.
pub const VERIFY_FAILING_MAX: usize = 1_000;
const _: () = assert!(VERIFY_PAGE_ROWS > 0 && VERIFY_FAILING_MAX > 0);

/// Whether an error from reading a row back means the row itself is wrong (changed, its MAC
/// or a value no longer parses, or its MAC key can no longer vouch for it), rather than the
/// database failing.
pub(crate) fn row_is_bad(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Integrity(_)
            | StoreError::Malformed(_)
            | StoreError::Kms(_)
            | StoreError::Database(sqlx::Error::ColumnDecode { .. })
    )
}

/// Walks `select` (a `SELECT ... FROM ...` whose first column is the row's text key `key`) in
/// key order, a page at a time, and returns the keys of the rows `check` refuses, at most
/// [`VERIFY_FAILING_MAX`]. A database failure stops the walk with the error.
pub(crate) async fn failing_rows(
    pool: &AnyPool,
    select: &str,
    key: &str,
    mut check: impl FnMut(&AnyRow) -> Result<(), StoreError>,
) -> Result<Vec<String>, StoreError> {
    let sql = format!("{select} WHERE {key} > $1 ORDER BY {key} LIMIT $2");
    let mut failing = vec![];
    let mut after = String::new();
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&after)
            .bind(VERIFY_PAGE_ROWS)
            .fetch_all(pool)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        for row in &rows {
            match check(row) {
                Ok(()) => {}
                Err(error) if row_is_bad(&error) => {
                    if failing.len() < VERIFY_FAILING_MAX {
                        failing.push(row.try_get(0)?);
                    }
                }
                Err(error) => return Err(error),
            }
        }
        if i64::try_from(rows.len()).unwrap_or(i64::MAX) < VERIFY_PAGE_ROWS {
            break;
        }
    }
    Ok(failing)
}
