//! Subcommands that need the configuration, the store or the server.

pub mod apps;
pub mod audit;
#[cfg(feature = "tlcp")]
pub mod certs;
pub mod channel_sim;
pub mod claims;
pub mod compliance;
pub mod contain;
pub mod db;
pub mod keys;
pub mod ledger;
pub mod outbox;
pub mod products;
pub mod reconcile;
pub mod release;
pub mod risk;
pub mod risk_train;
pub mod serve;
pub mod users;

use anyhow::Context;
use inspay_server::Settings;
use inspay_store::{PoolSettings, Store};
use std::path::Path;

/// A multi-threaded runtime for commands that talk to the database or the network.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Loads and validates the settings.
pub fn settings(config: Option<&Path>) -> anyhow::Result<Settings> {
    let settings = Settings::load(config).map_err(|error| anyhow::anyhow!("{error}"))?;
    settings.validate()?;
    Ok(settings)
}

/// Opens the store named by the settings.
pub async fn store(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let pool = PoolSettings {
        connections_max: 2,
        connect_attempts_max: settings.database.connect_attempts_max,
        ..PoolSettings::default()
    };
    // With database.migrate_on_start = false (production on PostgreSQL: the configured role
    // has no DDL rights) commands do not migrate either; `inspay db migrate` does, as the owner.
    let store = if settings.database.migrate_on_start {
        Store::connect(&settings.database_url(), &pool).await
    } else {
        Store::open(&settings.database_url(), &pool).await
    }
    .with_context(|| "cannot open the database; check database_url in the configuration and that the database is running")?;
    if !settings.database.migrate_on_start {
        store.require_current_schema().await?;
    }
    Ok(store)
}

/// The operator name for the audit log: `operator:$USER`.
pub fn operator() -> String {
    format!(
        "operator:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// Loads the master key from where the settings say, makes sure the key store is initialised
/// (audited as this operator), and returns the keyring: what every command that reads or
/// writes protected rows needs.
pub async fn keyring(settings: &Settings, store: &Store) -> anyhow::Result<inspay_kms::Keyring> {
    let master = inspay_server::master_key::load(settings)?;
    let operator = operator();
    let id = command_id();
    let who = inspay_store::keys::Actor {
        actor: &operator,
        request_id: &id,
    };
    store
        .kms_initialise(
            &master,
            &settings.rotation_policy(),
            who,
            inspay_store::now_ms(),
        )
        .await?;
    Ok(store.keyring_load(&master).await?)
}

/// A fresh id for one CLI invocation, recorded as the request id of its audit entries.
pub fn command_id() -> String {
    format!("cli-{}", std::process::id())
}

/// `YYYY-MM-DD HH:MM` in UTC from unix milliseconds.
pub fn utc_date(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let (hour, minute) = (
        seconds.rem_euclid(86_400) / 3600,
        seconds.rem_euclid(3600) / 60,
    );
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}")
}
