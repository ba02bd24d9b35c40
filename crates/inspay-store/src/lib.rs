//! Storage for inspay: one [`Store`] over SQLite (the embedded default) and PostgreSQL
//! (production, shared by every node), chosen by the database URL.
//!
//! Queries are written once, in the SQL both databases accept, and run through sqlx's `Any`
//! driver at run time. sqlx's compile-time checked macros bind a build to one database, so
//! serving both would mean two copies of every query; an ORM would hide the SQL that an
//! auditor wants to read. Where the two dialects differ (DDL, locking) the store knows its
//! [`Backend`] and the migrations come in one file per backend. Both backends run the same
//! test suite.

pub mod accounts;
pub mod audit;
pub mod authorization;
pub mod captchas;
pub mod client_apps;
pub mod closure;
pub mod consent;
pub mod containment;
pub mod credential_keys;
pub mod credentials;
mod db;
pub mod field_nonces;
pub mod funds;
pub mod idempotency;
pub mod keys;
pub mod ledger;
mod migrate;
pub mod one_time_codes;
pub mod persons;
pub mod privileges;
pub mod protocol_writes;
pub mod record_check;
pub mod request_evidence;
pub mod request_nonces;
pub mod risk;
pub mod security_events;
pub mod sessions;
pub mod sign_in_flows;
pub mod staff_console;

pub use db::{Backend, ConnectionSecurity, PoolSettings, PostgresTarget, Store};
pub use migrate::{SchemaStatus, latest_version as latest_migration};

/// Errors from the store. Messages name tables and operations, never stored values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or a query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database URL names an unsupported backend.
    #[error("unsupported database URL: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl,
    /// A migration file changed after it was applied.
    #[error(
        "migration {version} ({name}) was changed after it was applied: its SM3 checksum differs"
    )]
    MigrationChanged {
        /// The migration number.
        version: i64,
        /// Its name.
        name: String,
    },
    /// The database's TLS certificate did not verify, or the TLS settings in the URL are
    /// unusable. Not retried: it would fail the same way.
    #[error(
        "the database connection's TLS was refused ({0}): check that sslrootcert names the CA \
         certificate that issued the PostgreSQL server's certificate and, with \
         sslmode=verify-full, that the host in database_url is a name in that certificate"
    )]
    DatabaseTls(String),
    /// Migrations of this build are missing from the database, and this process must not
    /// apply them (a runtime role, `database.migrate_on_start = false`).
    #[error(
        "the database schema is not current: {pending} migration(s) of this build are not \
         applied (the database is at {applied}, this build needs {latest}); apply them with \
         the schema owner's role: inspay db migrate --database-url <owner URL>"
    )]
    SchemaNotCurrent {
        /// The highest migration recorded in the database.
        applied: i64,
        /// The last migration of this build.
        latest: i64,
        /// How many of this build's migrations are missing.
        pending: usize,
    },
    /// Stored data failed an integrity check.
    #[error("integrity: {0}")]
    Integrity(String),
    /// A key-management rule refused the operation.
    #[error(transparent)]
    Kms(#[from] inspay_kms::KmsError),
    /// A row was not found.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique value is already taken.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Stored data could not be parsed back into its domain type.
    #[error("stored {0} is malformed")]
    Malformed(&'static str),
    /// The caller's input was refused by a rule (an unusable certificate, a label too long).
    /// The message is fixed text from the code and never repeats the input.
    #[error("refused: {0}")]
    Refused(&'static str),
    /// The record was erased after its account closed and the retention period ended: its
    /// data key was destroyed, so it can never be read again (clause 5.6.5-a4).
    #[error("erased: the record's data key was destroyed after account closure and retention")]
    Erased,
}

impl StoreError {
    /// A database failure reported second-hand, by a batch that ran on another task: it keeps
    /// its kind, so the client still gets "temporarily unavailable".
    pub fn database_relayed(message: String) -> StoreError {
        StoreError::Database(sqlx::Error::Protocol(message))
    }
}

/// The current time in unix milliseconds, for bookkeeping columns. Business rules take the
/// time as a parameter so tests can move the clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
