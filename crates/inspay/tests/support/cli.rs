//! Running `inspay` commands against a data directory, and reaching its SQLite database
//! directly, as the console tests do.

#![allow(dead_code)]

use sqlx::{Connection, Row};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

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

/// Rows of a query on a database (SQLite or PostgreSQL, by URL), each column as text (NULL as
/// "").
pub fn query_url(url: &str, sql: &str) -> Vec<Vec<String>> {
    runtime().block_on(async {
        sqlx::any::install_default_drivers();
        let mut connection = sqlx::AnyConnection::connect(url).await.expect("open");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&mut connection)
            .await
            .expect("query");
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|index| {
                        row.try_get::<String, _>(index)
                            .or_else(|_| row.try_get::<i64, _>(index).map(|n| n.to_string()))
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect()
    })
}

/// Rows of a query on the data directory's SQLite database.
pub fn query(dir: &Path, sql: &str) -> Vec<Vec<String>> {
    query_url(&database_url(dir), sql)
}

/// A fresh PostgreSQL database, dropped when the scenario ends.
pub struct PostgresDatabase {
    /// The URL of the database the fresh one was created from (kept to drop it again).
    admin_url: String,
    /// The fresh database's name.
    name: String,
    /// The fresh database's URL, as `INSPAY__DATABASE_URL`.
    pub url: String,
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        // Best effort: a leftover scratch database harms nothing but disk space.
        let _ = Command::new("psql")
            .arg(&self.admin_url)
            .args([
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// Creates a fresh database on the server of `admin_url` (`INSPAY_TEST_POSTGRES_URL`), named
/// after `label`, this process and a counter.
pub fn fresh_postgres(admin_url: &str, label: &str) -> PostgresDatabase {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "inspay_test_{label}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let created = Command::new("psql")
        .arg(admin_url)
        .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql runs");
    assert!(
        created.status.success(),
        "create database: {}",
        text(&created)
    );
    let (server, _) = admin_url.rsplit_once('/').expect("URL ends in /DATABASE");
    PostgresDatabase {
        admin_url: admin_url.to_owned(),
        url: format!("{server}/{name}"),
        name,
    }
}
