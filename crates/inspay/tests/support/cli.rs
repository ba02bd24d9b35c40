//! Running `inspay` commands against a data directory, and reaching its SQLite database
//! directly, as the console tests do.

#![allow(dead_code)]

use sqlx::Connection;
use std::path::Path;
use std::process::{Command, Output};

/// `inspay <args>` on the data directory `dir`, as the operator `ops.tester`.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_inspay"));
    command
        .args(args)
        .env("INSPAY__DATA_DIR", dir)
        .env("USER", "ops.tester")
        .env_remove("INSPAY_CONFIG");
    command
}

/// Runs [`command`] to its end.
pub fn inspay(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("inspay runs")
}

/// Standard output and standard error together.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A runtime for the store calls of a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The data directory's SQLite database.
pub fn database_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("inspay.db").display())
}

/// Runs SQL on the data directory's database directly, as someone with access to the file
/// could, outside inspay; returns the rows it changed.
pub fn execute(dir: &Path, sql: &str) -> u64 {
    runtime().block_on(async {
        let mut connection = sqlx::SqliteConnection::connect(&database_url(dir))
            .await
            .expect("open");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut connection)
            .await
            .expect("execute")
            .rows_affected()
    })
}
