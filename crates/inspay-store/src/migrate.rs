//! Schema migrations, embedded in the binary, one file per backend, each recorded with its
//! SM3 checksum so a changed migration is noticed.

use crate::{Backend, Store, StoreError};
use sqlx::{AssertSqlSafe, Row};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// One migration: its number, its name, and the file of that name for each backend.
macro_rules! migration {
    ($version:literal, $file:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $file, ".sql")),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_foundation", "foundation"),
    migration!(2, "0002_accounts", "accounts"),
    migration!(3, "0003_sessions", "sessions"),
    migration!(4, "0004_one_time_codes", "one_time_codes"),
    migration!(5, "0005_secret_history", "secret_history"),
    migration!(6, "0006_consent", "consent"),
    migration!(7, "0007_captchas", "captchas"),
    migration!(8, "0008_credential_keys", "credential_keys"),
    migration!(9, "0009_roles", "roles"),
    migration!(10, "0010_person_keys", "person_keys"),
    migration!(11, "0011_sign_in_flows", "sign_in_flows"),
    migration!(12, "0012_request_nonces", "request_nonces"),
    migration!(13, "0013_client_apps", "client_apps"),
    migration!(
        14,
        "0014_field_nonces_idempotency",
        "field_nonces_idempotency"
    ),
    migration!(
        15,
        "0015_rate_limits_security_events",
        "rate_limits_security_events"
    ),
    migration!(
        16,
        "0016_policies_payments_ledger",
        "policies_payments_ledger"
    ),
    migration!(17, "0017_compact_nonces", "compact_nonces"),
    migration!(18, "0018_channel_evidence", "channel_evidence"),
    migration!(19, "0019_claims_payouts", "claims_payouts"),
    migration!(20, "0020_reconciliations", "reconciliations"),
    migration!(21, "0021_risk", "risk"),
    migration!(22, "0022_risk_exports", "risk_exports"),
    migration!(23, "0023_risk_holds", "risk_holds"),
    migration!(24, "0024_risk_sign_ins", "risk_sign_ins"),
    migration!(25, "0025_security_event_sources", "security_event_sources"),
    migration!(26, "0026_staff_console", "staff_console"),
    migration!(27, "0027_containment", "containment"),
];

/// Where the schema stands against this build's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The highest migration recorded in the database (0: none).
    pub applied_version_max: i64,
    /// The last migration this build knows.
    pub latest_version: i64,
    /// This build's migrations not recorded in the database, in order.
    pub pending: Vec<i64>,
}

impl SchemaStatus {
    /// Whether every migration of this build is applied.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
    }
}

/// The last migration this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |migration| migration.version)
}

fn sql_of(migration: &Migration, backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => migration.sqlite,
        Backend::Postgres => migration.postgres,
    }
}

fn checksum_of(sql: &str) -> String {
    format!(
        "sm3:{}",
        hex::encode(inspay_crypto::sm3::sm3(sql.as_bytes()))
    )
}

/// Whether `schema_migrations` exists, asked without `CREATE TABLE IF NOT EXISTS`: a runtime
/// role without DDL rights may ask, and on PostgreSQL that statement needs the CREATE right
/// even when the table is there.
async fn history_exists(
    connection: &mut sqlx::AnyConnection,
    backend: Backend,
) -> Result<bool, StoreError> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM pg_catalog.pg_tables
             WHERE schemaname = current_schema() AND tablename = 'schema_migrations'"
        }
    };
    let count: i64 = sqlx::query(sql)
        .fetch_one(&mut *connection)
        .await?
        .try_get(0)?;
    Ok(count > 0)
}

/// The applied migrations' checksums by version; refuses a changed migration.
async fn applied(
    connection: &mut sqlx::AnyConnection,
    backend: Backend,
) -> Result<std::collections::BTreeMap<i64, String>, StoreError> {
    if !history_exists(connection, backend).await? {
        return Ok(std::collections::BTreeMap::new());
    }
    let rows = sqlx::query("SELECT version, checksum FROM schema_migrations")
        .fetch_all(&mut *connection)
        .await?;
    let mut out = std::collections::BTreeMap::new();
    for row in rows {
        out.insert(row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?);
    }
    for migration in MIGRATIONS {
        if let Some(stored) = out.get(&migration.version)
            && *stored != checksum_of(sql_of(migration, backend))
        {
            return Err(StoreError::MigrationChanged {
                version: migration.version,
                name: migration.name.to_string(),
            });
        }
    }
    Ok(out)
}

pub(crate) async fn status(store: &Store) -> Result<SchemaStatus, StoreError> {
    let mut connection = store.pool.acquire().await?;
    let applied = applied(&mut connection, store.backend).await?;
    Ok(SchemaStatus {
        applied_version_max: applied.keys().next_back().copied().unwrap_or(0),
        latest_version: latest_version(),
        pending: MIGRATIONS
            .iter()
            .map(|migration| migration.version)
            .filter(|version| !applied.contains_key(version))
            .collect(),
    })
}

pub(crate) async fn run(store: &Store) -> Result<usize, StoreError> {
    // Nothing to do is the common case, and is found without a write transaction or any DDL,
    // so a role without DDL rights (PostgreSQL in production) passes here on a current schema.
    if status(store).await?.is_current() {
        return Ok(0);
    }
    // One transaction for all pending migrations. On PostgreSQL an advisory lock makes nodes
    // that start together take turns; SQLite's write lock does the same.
    let mut tx = store.begin_write().await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7274720001)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at_ms BIGINT NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await?;
    // Read again under the lock: another node may have migrated meanwhile.
    let done = applied(&mut tx, store.backend).await?;
    let mut count = 0;
    for migration in MIGRATIONS {
        if done.contains_key(&migration.version) {
            continue;
        }
        let sql = sql_of(migration, store.backend);
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at_ms)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(checksum_of(sql))
        .bind(crate::now_ms())
        .execute(&mut *tx)
        .await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}
