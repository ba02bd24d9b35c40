//! Subcommands that need the configuration, the store or the server.

pub mod audit;
pub mod keys;
pub mod serve;

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
    Store::connect(&settings.database_url(), &pool)
        .await
        .with_context(|| "cannot open the database; check database_url in the configuration and that the database is running")
}

/// The operator name for the audit log: `operator:$USER`.
pub fn operator() -> String {
    format!(
        "operator:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// A fresh id for one CLI invocation, recorded as the request id of its audit entries.
pub fn command_id() -> String {
    format!("cli-{}", std::process::id())
}
