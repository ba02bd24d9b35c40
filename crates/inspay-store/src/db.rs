//! Connecting, with durability settings and reconnection backoff (clause 5.3.5.2).

use crate::StoreError;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor, Row};
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

/// How the store's connection to its database travels (clause 5.6.2-a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionSecurity {
    /// SQLite: a file opened by this process; nothing travels over a network.
    LocalFile,
    /// PostgreSQL under TLS.
    Encrypted {
        /// The protocol version the session uses ("TLSv1.3").
        tls_version: String,
    },
    /// PostgreSQL without TLS through a Unix socket or the loopback interface: the traffic
    /// never leaves the host.
    LocalUnencrypted {
        /// "Unix socket" or the loopback address.
        via: String,
    },
    /// PostgreSQL without TLS over a network: readable by anyone on the path.
    RemoteUnencrypted {
        /// The server address the session reached.
        server: String,
    },
}

/// Where a PostgreSQL URL leads and how it protects the link, as the driver reads it (the URL
/// and the `PG*` environment variables it honours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresTarget {
    /// The host name or address ("" for a Unix socket).
    pub host: String,
    /// A Unix socket, `localhost` or a loopback address: the traffic stays on this machine.
    pub local: bool,
    /// `sslmode=verify-full`: TLS with the certificate chain and the host name checked.
    pub verify_full: bool,
}

impl PostgresTarget {
    /// Reads a `postgres://` URL; None if it is not one or cannot be read.
    pub fn parse(url: &str) -> Option<PostgresTarget> {
        use sqlx::postgres::{PgConnectOptions, PgSslMode};
        if Backend::from_url(url).ok()? != Backend::Postgres {
            return None;
        }
        let options: PgConnectOptions = url.parse().ok()?;
        let socket = options.get_socket().is_some();
        let host = if socket {
            String::new()
        } else {
            options.get_host().to_string()
        };
        Some(PostgresTarget {
            local: socket || host_is_loopback(&host),
            verify_full: matches!(options.get_ssl_mode(), PgSslMode::VerifyFull),
            host,
        })
    }
}

/// `localhost` or a loopback address (IPv6 possibly in brackets).
fn host_is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
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
    /// Connects ([`Store::open`]), then applies pending migrations: what development, the
    /// tests and SQLite installations do. On PostgreSQL in production the server does not
    /// migrate: the operator applies migrations with the owner role (`inspay db migrate`) and
    /// the server, connected as a runtime role without DDL rights, only checks
    /// ([`Store::require_current_schema`]).
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Store, StoreError> {
        let store = Store::open(url, settings).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without touching the schema, retrying with exponential backoff while the
    /// database is unreachable. SQLite runs in WAL mode with `synchronous = FULL`, so an
    /// acknowledged commit survives a crash or power loss, with `secure_delete` so that
    /// overwritten or deleted content (a destroyed key's wrapped bytes) is zeroed in the file,
    /// and with `temp_store = MEMORY`: the statement journal a multi-row statement keeps (the
    /// pages it changed, to undo it alone) stays in memory instead of spilling to a temporary
    /// file past 64 KiB (a file created, written and deleted for many of the protocol's group
    /// commits).
    ///
    /// PostgreSQL TLS follows the URL's `sslmode` (`verify-full`, `verify-ca` with
    /// `sslrootcert=FILE`, `require`), through rustls. A certificate that does not verify is
    /// not retried: it will not verify on the next attempt either.
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<Store, StoreError> {
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
                Err(error) => return Err(connect_error(error)),
            }
        };
        Ok(Store { pool, backend })
    }

    /// Applies every pending migration (the owner role's job on PostgreSQL in production).
    /// Returns how many were applied; with none pending it writes nothing, so a role without
    /// DDL rights may call it on a current schema.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        crate::migrate::run(self).await
    }

    /// Where the schema stands against this build's migrations (read only; any role that
    /// may read `schema_migrations` may ask).
    pub async fn schema_status(&self) -> Result<crate::SchemaStatus, StoreError> {
        crate::migrate::status(self).await
    }

    /// Refuses a schema that lacks any of this build's migrations, or whose applied
    /// migrations changed: what a process that must not migrate checks before serving.
    pub async fn require_current_schema(&self) -> Result<(), StoreError> {
        let status = self.schema_status().await?;
        if status.is_current() {
            return Ok(());
        }
        Err(StoreError::SchemaNotCurrent {
            applied: status.applied_version_max,
            latest: status.latest_version,
            pending: status.pending.len(),
        })
    }

    /// How this store's own connection to the database travels, as the database server sees
    /// it (clause 5.6.2-a): PostgreSQL reports whether the session is under TLS
    /// (`pg_stat_ssl`) and the address it was reached on (none for a Unix socket).
    pub async fn connection_security(&self) -> Result<ConnectionSecurity, StoreError> {
        if self.backend == Backend::Sqlite {
            return Ok(ConnectionSecurity::LocalFile);
        }
        let row = sqlx::query(
            "SELECT s.ssl, COALESCE(s.version, ''), COALESCE(host(inet_server_addr()), '')
             FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()",
        )
        .fetch_one(&self.pool)
        .await?;
        let encrypted: bool = row.try_get(0)?;
        let version: String = row.try_get(1)?;
        let server: String = row.try_get(2)?;
        Ok(if encrypted {
            ConnectionSecurity::Encrypted {
                tls_version: version,
            }
        } else if server.is_empty() {
            ConnectionSecurity::LocalUnencrypted {
                via: "Unix socket".into(),
            }
        } else if server
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
        {
            ConnectionSecurity::LocalUnencrypted { via: server }
        } else {
            ConnectionSecurity::RemoteUnencrypted { server }
        })
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
                         PRAGMA wal_autocheckpoint = 10000; PRAGMA temp_store = MEMORY;",
                    )
                    .await?;
                Ok(())
            })
        }),
        Backend::Postgres => options,
    }
}

/// Whether connecting again may succeed. A TLS alert or a certificate that does not verify
/// arrives as an I/O error of kind `InvalidData` (rustls' handshake), and TLS configuration
/// errors (an unreadable `sslrootcert`) as `Tls`: neither changes between attempts.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(io) => io.kind() != std::io::ErrorKind::InvalidData,
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}

/// The error of a connection that failed for good, naming what to do when TLS refused it.
fn connect_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            StoreError::DatabaseTls(io.to_string())
        }
        sqlx::Error::Tls(tls) => StoreError::DatabaseTls(tls.to_string()),
        _ => error.into(),
    }
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
