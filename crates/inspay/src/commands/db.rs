//! `inspay db`: the database steps an operator takes with the schema owner's role, which the
//! server never holds in production (clause 5.3.1.1). `migrate` applies this build's pending
//! migrations; `grant-runtime` gives the server's runtime role exactly the row rights it needs
//! (no DDL, no TRUNCATE or TRIGGER, no ownership); `status` shows the schema's migration, how
//! the connection travels and whether the connected role holds more than a runtime role should.
//!
//! The owner's URL comes from `--database-url` (or `INSPAY_OWNER_DATABASE_URL`), not from the
//! configuration, whose `database_url` names the runtime role. Put no password in it: libpq's
//! `PGPASSFILE` (or `~/.pgpass`) supplies it, and a command line is visible to other users.

use anyhow::Context;
use clap::Subcommand;
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};
use inspay_store::{ConnectionSecurity, PoolSettings, Store};
use std::path::Path;

/// Database commands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply this build's pending migrations, as the schema owner. Audited. Run it before
    /// starting a new version of the server (database.migrate_on_start = false).
    #[command(
        after_help = "Example:\n  PGPASSFILE=/root/inspay-owner.pgpass inspay db migrate \\\n    --database-url 'postgres://inspay_owner@db.example:5432/inspay?sslmode=verify-full&sslrootcert=/etc/inspay/tls/database-ca.pem'"
    )]
    Migrate {
        /// The schema owner's URL (default: the configuration's database_url).
        #[arg(long, env = "INSPAY_OWNER_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Grant the server's runtime role exactly its rights on the schema (PostgreSQL only), as
    /// the schema owner, after `migrate`. Revokes whatever else it held on the tables. Audited.
    #[command(
        after_help = "Example:\n  psql -c \"CREATE ROLE inspay_app LOGIN PASSWORD '...'\"   # once, as an administrator\n  inspay db grant-runtime inspay_app \\\n    --database-url 'postgres://inspay_owner@db.example:5432/inspay?sslmode=verify-full&sslrootcert=/etc/inspay/tls/database-ca.pem'"
    )]
    GrantRuntime {
        /// The runtime role (the role in the server's database_url).
        role: String,
        /// The schema owner's URL (default: the configuration's database_url).
        #[arg(long, env = "INSPAY_OWNER_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Show the schema's migration, whether the connection is encrypted and what the
    /// connected role holds beyond a runtime role's rights. Changes nothing.
    #[command(
        after_help = "Examples:\n  inspay --config /etc/inspay/inspay.toml db status\n  inspay db status --database-url 'postgres://inspay_owner@localhost/inspay'"
    )]
    Status {
        /// The URL to check (default: the configuration's database_url).
        #[arg(long)]
        database_url: Option<String>,
    },
}

/// Runs a database command.
pub async fn run(config: Option<&Path>, command: DbCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    let given = match &command {
        DbCommand::Migrate { database_url }
        | DbCommand::GrantRuntime { database_url, .. }
        | DbCommand::Status { database_url } => database_url.clone(),
    };
    if given.is_none() {
        // The configured SQLite file lives in the data directory, as for every command.
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                settings.data_dir.display()
            )
        })?;
    }
    let url = given.unwrap_or_else(|| settings.database_url());
    // The owner's connection follows the same TLS rule as the server's (clause 5.6.2-a).
    if settings.profile == inspay_server::config::Profile::Production
        && let Some((_, reason, clause)) =
            inspay_server::config::production_database_refusal(&url, false)
    {
        anyhow::bail!("--database-url refused: {reason} (clause {clause})");
    }
    let pool = PoolSettings {
        connections_max: 1,
        connect_attempts_max: settings.database.connect_attempts_max,
        ..PoolSettings::default()
    };
    let store = Store::open(&url, &pool)
        .await
        .context("cannot open the database; check the URL and that the database is running")?;
    match command {
        DbCommand::Migrate { .. } => migrate(&store).await,
        DbCommand::GrantRuntime { role, .. } => grant_runtime(&store, &role).await,
        DbCommand::Status { .. } => status(&store).await,
    }
}

async fn migrate(store: &Store) -> anyhow::Result<()> {
    let applied = store.migrate().await.context(
        "migration failed (nothing was applied: migrations run in one transaction); \
         is this the schema owner's role?",
    )?;
    let status = store.schema_status().await?;
    println!(
        "applied {applied} migration(s); the schema is at migration {}",
        status.applied_version_max
    );
    if applied > 0 {
        let count = i64::try_from(applied).unwrap_or(i64::MAX);
        audit(
            store,
            "database.migrate",
            vec![("applied", AuditValue::Number(count))],
        )
        .await?;
        if store.backend() == inspay_store::Backend::Postgres {
            println!(
                "if this upgrade added tables, run `inspay db grant-runtime <role>` again so the \
                 server's role may use them"
            );
        }
    }
    Ok(())
}

async fn grant_runtime(store: &Store, role: &str) -> anyhow::Result<()> {
    store
        .grant_runtime(role)
        .await
        .context("cannot grant the runtime rights")?;
    audit(
        store,
        "database.grant-runtime",
        vec![("role", AuditValue::Text(role.to_string()))],
    )
    .await?;
    println!(
        "granted {role} its runtime rights on {} tables: rows only, audit and ledger tables \
         append-only, no DDL",
        inspay_store::privileges::RUNTIME_GRANTS.len()
    );
    Ok(())
}

async fn status(store: &Store) -> anyhow::Result<()> {
    let schema = store.schema_status().await?;
    if schema.is_current() {
        println!("schema: current (migration {})", schema.latest_version);
    } else {
        println!(
            "schema: NOT current: at migration {}, this build needs {} ({} pending); run `inspay db migrate`",
            schema.applied_version_max,
            schema.latest_version,
            schema.pending.len()
        );
    }
    let connection = match store.connection_security().await? {
        ConnectionSecurity::LocalFile => "local file (SQLite)".to_string(),
        ConnectionSecurity::Encrypted { tls_version } => format!("encrypted ({tls_version})"),
        ConnectionSecurity::LocalUnencrypted { via } => format!("not encrypted, local ({via})"),
        ConnectionSecurity::RemoteUnencrypted { server } => {
            format!("NOT encrypted over the network to {server}")
        }
    };
    println!("connection: {connection}");
    let excess = store.excess_privileges().await?;
    if store.backend() == inspay_store::Backend::Sqlite {
        println!("role: none (SQLite: the operating system user that owns the file)");
    } else if excess.is_empty() {
        println!("role: runtime rights only");
    } else {
        for item in excess {
            println!(
                "role: {} (fine for the owner; refused for the server in production)",
                item.0
            );
        }
    }
    Ok(())
}

async fn audit(
    store: &Store,
    action: &str,
    details: Vec<(&'static str, AuditValue)>,
) -> anyhow::Result<()> {
    let operator = super::operator();
    let request = super::command_id();
    store
        .audit(
            &AuditEvent {
                actor: &operator,
                action,
                object: "database",
                outcome: Outcome::Success,
                request_id: &request,
                details: &details,
            },
            inspay_store::now_ms(),
        )
        .await
        .context("cannot write the audit entry")?;
    Ok(())
}
