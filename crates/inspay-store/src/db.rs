//! Connecting, with durability settings and reconnection backoff (clause 5.3.5.2).

use crate::StoreError;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, the embedded default.
    Sqlite,
    /// PostgreSQL, for production and several nodes.
    Postgres,
}

impl Backend {
    /// Recognises the backend from a database URL.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The statement that opens a transaction that will write. SQLite takes the write lock at
    /// once, so two writers queue instead of failing half-way.
    pub(crate) const fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// What a `SELECT` appends to lock the rows it reads until the transaction ends. SQLite
    /// needs nothing: a write transaction there holds the whole database.
    pub(crate) const fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// Pool sizes and timeouts, set explicitly (every limit is named).
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub connections_max: u32,
    /// How long a request waits for a free connection before failing.
    pub acquire_timeout_ms: u64,
    /// How many times start-up retries an unreachable database.
    pub connect_attempts_max: u32,
    /// First retry delay; doubled each attempt up to `connect_backoff_ms_max`.
    pub connect_backoff_ms_initial: u64,
    /// Longest retry delay.
    pub connect_backoff_ms_max: u64,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            connections_max: 10,
            acquire_timeout_ms: 5_000,
            connect_attempts_max: 8,
            connect_backoff_ms_initial: 250,
            connect_backoff_ms_max: 8_000,
        }
    }
}

/// The store: a connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
}

impl Store {
    /// Connects, retrying with exponential backoff while the database is unreachable, then
    /// applies pending migrations. SQLite runs in WAL mode with `synchronous = FULL`, so an
    /// acknowledged commit survives a crash or power loss, and with `secure_delete` so that
    /// overwritten or deleted content (a destroyed key's wrapped bytes) is zeroed in the file.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        let mut delay_ms = settings.connect_backoff_ms_initial;
        let mut attempt = 1;
        let pool = loop {
            match pool_options(backend, settings).connect(url).await {
                Ok(pool) => break pool,
                Err(error) if attempt < settings.connect_attempts_max && is_transient(&error) => {
                    tracing::warn!(
                        attempt,
                        retry_in_ms = delay_ms,
                        error = %error,
                        "database unreachable; retrying"
                    );
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    delay_ms = (delay_ms * 2).min(settings.connect_backoff_ms_max);
                    attempt += 1;
                }
                Err(error) => return Err(error.into()),
            }
        };
        let store = Store { pool, backend };
        crate::migrate::run(&store).await?;
        Ok(store)
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the server's own queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Checks the database answers (the readiness probe). The pool reconnects on its own once
    /// the database is back; this only reports.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Begins a transaction that will write.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(self.pool.begin_with(self.backend.begin_write()).await?)
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn pool_options(backend: Backend, settings: &PoolSettings) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .max_connections(settings.connections_max)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .test_before_acquire(true);
    match backend {
        Backend::Sqlite => options.after_connect(|connection, _| {
            Box::pin(async move {
                connection
                    .execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                         PRAGMA secure_delete = ON; PRAGMA cache_size = -16384; \
                         PRAGMA wal_autocheckpoint = 10000;",
                    )
                    .await?;
                Ok(())
            })
        }),
        Backend::Postgres => options,
    }
}

fn is_transient(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_)
    )
}

/// The `VALUES` list of a multi-row statement: `rows` tuples of `columns` placeholders, so a
/// batch writes many rows in one statement (one round trip to the database instead of one per
/// row). PostgreSQL numbers them, `($1, $2), ($3, $4)`; on SQLite they are anonymous,
/// `(?, ?), (?, ?)`, bound in order: SQLite looks a numbered name up in a list on every bind,
/// which for a statement of a thousand parameters costs more than the insert.
pub(crate) fn values_rows(connection: &sqlx::AnyConnection, rows: usize, columns: usize) -> String {
    placeholders(connection.backend_name() == "SQLite", rows, columns)
}

fn placeholders(anonymous: bool, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            if anonymous {
                sql.push('?');
            } else {
                sql.push('$');
                sql.push_str(&(row * columns + column + 1).to_string());
            }
        }
        sql.push(')');
    }
    sql
}

/// Largest number of rows one multi-row statement writes.
pub(crate) const ROWS_PER_STATEMENT_MAX: usize = 256;

/// Splits a batch's rows into runs whose lengths are powers of two (at most
/// [`ROWS_PER_STATEMENT_MAX`]), largest first: 37 rows are written as 32, 4 and 1. A connection
/// keeps the statements it prepared, and a statement of a thousand parameters costs more to
/// prepare than to run; with a few fixed lengths every multi-row statement is prepared once,
/// where one length per batch size would prepare a new one for most batches.
pub(crate) fn row_runs<T>(rows: &[T]) -> Vec<&[T]> {
    let mut runs = vec![];
    let mut rest = rows;
    while !rest.is_empty() {
        let length = if rest.len() >= ROWS_PER_STATEMENT_MAX {
            ROWS_PER_STATEMENT_MAX
        } else {
            1 << rest.len().ilog2()
        };
        let (run, after) = rest.split_at(length);
        runs.push(run);
        rest = after;
    }
    runs
}

#[cfg(test)]
mod values_rows_tests {
    #[test]
    fn numbers_placeholders_row_by_row() {
        assert_eq!(super::placeholders(false, 1, 1), "($1)");
        assert_eq!(
            super::placeholders(false, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(super::placeholders(true, 2, 2), "(?, ?), (?, ?)");
    }

    #[test]
    fn runs_are_powers_of_two_largest_first() {
        let rows: Vec<usize> = (0..37).collect();
        let lengths: Vec<usize> = super::row_runs(&rows).iter().map(|run| run.len()).collect();
        assert_eq!(lengths, [32, 4, 1]);
        let many: Vec<usize> = (0..600).collect();
        let runs = super::row_runs(&many);
        assert_eq!(runs.iter().map(|run| run.len()).sum::<usize>(), 600);
        assert_eq!(runs[0].len(), super::ROWS_PER_STATEMENT_MAX);
        assert_eq!(runs.concat(), many);
        assert!(super::row_runs::<u8>(&[]).is_empty());
    }
}
