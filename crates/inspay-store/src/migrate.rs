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

pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
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
    for migration in MIGRATIONS {
        let sql = match store.backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let checksum = format!(
            "sm3:{}",
            hex::encode(inspay_crypto::sm3::sm3(sql.as_bytes()))
        );
        let applied = sqlx::query("SELECT checksum FROM schema_migrations WHERE version = $1")
            .bind(migration.version)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = applied {
            let stored: String = row.try_get(0)?;
            if stored != checksum {
                return Err(StoreError::MigrationChanged {
                    version: migration.version,
                    name: migration.name.to_string(),
                });
            }
            continue;
        }
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at_ms)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(&checksum)
        .bind(crate::now_ms())
        .execute(&mut *tx)
        .await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
    }
    tx.commit().await?;
    Ok(())
}
