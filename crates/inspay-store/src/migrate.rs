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

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "accounts",
        sqlite: include_str!("../migrations/sqlite/0002_accounts.sql"),
        postgres: include_str!("../migrations/postgres/0002_accounts.sql"),
    },
    Migration {
        version: 3,
        name: "sessions",
        sqlite: include_str!("../migrations/sqlite/0003_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0003_sessions.sql"),
    },
    Migration {
        version: 4,
        name: "one_time_codes",
        sqlite: include_str!("../migrations/sqlite/0004_one_time_codes.sql"),
        postgres: include_str!("../migrations/postgres/0004_one_time_codes.sql"),
    },
    Migration {
        version: 5,
        name: "secret_history",
        sqlite: include_str!("../migrations/sqlite/0005_secret_history.sql"),
        postgres: include_str!("../migrations/postgres/0005_secret_history.sql"),
    },
    Migration {
        version: 6,
        name: "consent",
        sqlite: include_str!("../migrations/sqlite/0006_consent.sql"),
        postgres: include_str!("../migrations/postgres/0006_consent.sql"),
    },
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
