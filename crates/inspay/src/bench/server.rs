//! The server the API and payments benchmarks run against: a real `inspay serve` in this
//! process (development profile, a temporary data directory, SQLite unless a PostgreSQL URL is
//! given), and an SDK client of a registered fund-transaction application that pins the
//! server's response-signing key.

use anyhow::{Context, Result};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_kms::KeyPurpose;
use inspay_server::state::AppState;
use inspay_server::{Application, Settings};
use inspay_store::client_apps::{AppClass, NewClientApp};
use inspay_store::keys::Actor;

/// A running benchmark server.
pub(super) struct BenchServer {
    /// Its state (store, keys, channel).
    pub(super) state: AppState,
    /// A client for it.
    pub(super) client: inspay_sdk::Client,
    /// The HTTPS listener's address.
    #[cfg_attr(not(feature = "tlcp"), allow(dead_code))]
    pub(super) https: std::net::SocketAddr,
    /// The development CA of the HTTPS listener (PEM file).
    #[cfg_attr(not(feature = "tlcp"), allow(dead_code))]
    pub(super) https_ca: std::path::PathBuf,
    /// The TLCP listener's address and its development SM2 CA (PEM), when configured.
    #[cfg_attr(not(feature = "tlcp"), allow(dead_code))]
    pub(super) tlcp: Option<(std::net::SocketAddr, String)>,
    shutdown: Box<dyn FnOnce() + Send>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    dir: std::path::PathBuf,
}

impl BenchServer {
    /// Starts a server named `name` (for its directory and its application), with the request
    /// limits raised so one client can load it (they stay on: their counters are part of every
    /// request's cost) and `adjust` applied to the settings last.
    pub(super) async fn start(
        name: &str,
        database_url: Option<&str>,
        adjust: impl FnOnce(&mut Settings),
    ) -> Result<BenchServer> {
        let dir = std::env::temp_dir().join(format!(
            "inspay-bench-{name}-{}-{}",
            std::process::id(),
            inspay_store::now_ms()
        ));
        std::fs::create_dir_all(&dir).context("cannot create a temporary directory")?;
        let mut settings = Settings {
            data_dir: dir.clone(),
            database_url: database_url.unwrap_or_default().to_string(),
            ..Settings::default()
        };
        settings.listen.address = "127.0.0.1:0".parse().context("address")?;
        settings.log.filter = "error".into();
        settings.protection.ip_per_minute = 1_000_000_000;
        settings.protection.app_per_minute = 1_000_000_000;
        adjust(&mut settings);
        let app = Application::build(settings)
            .await
            .context("cannot start a benchmark server")?;
        let state = app.state().clone();
        let port = app.address().port();
        let ca_path = app
            .development_ca
            .clone()
            .context("the benchmark server has no development CA")?;
        let tlcp = match (app.tlcp_address(), &app.development_tlcp_ca) {
            (Some(address), Some(ca)) => Some((
                address,
                std::fs::read_to_string(ca).context("cannot read the TLCP development CA")?,
            )),
            _ => None,
        };
        let https = app.address();
        let token = app.shutdown_token();
        let shutdown: Box<dyn FnOnce() + Send> = Box::new(move || token.cancel());
        let task = tokio::spawn(app.run());
        let client = client(&state, name, port, &ca_path).await?;
        Ok(BenchServer {
            state,
            client,
            https,
            https_ca: ca_path,
            tlcp,
            shutdown,
            task,
            dir,
        })
    }

    /// A second application's SDK client that reaches the server over its TLCP listener,
    /// trusting `ca_pem`.
    #[cfg(feature = "tlcp")]
    pub(super) async fn tlcp_client(&self, ca_pem: &str) -> Result<inspay_sdk::Client> {
        let (address, _) = self.tlcp.as_ref().context("no TLCP listener")?;
        let (app_id, key, serial, server_key) = register(&self.state, "channel-tlcp").await?;
        Ok(
            inspay_sdk::Client::builder(format!("https://localhost:{}", address.port()))
                .app_id(app_id)
                .key(1, key)
                .tlcp(inspay_sdk::tlcp::TlcpOptions::new(ca_pem))
                .server_key(serial, server_key)
                .retry(inspay_sdk::RetryPolicy::none())
                .build()?,
        )
    }

    /// Stops the server and removes its directory.
    pub(super) async fn stop(self) {
        (self.shutdown)();
        let _ = self.task.await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Registers application `bench-<name>` and builds its client, pinning the server's key.
async fn client(
    state: &AppState,
    name: &str,
    port: u16,
    ca_path: &std::path::Path,
) -> Result<inspay_sdk::Client> {
    let (app_id, key, serial, server_key) = register(state, name).await?;
    let ca = std::fs::read_to_string(ca_path).context("cannot read the development CA")?;
    Ok(
        inspay_sdk::Client::builder(format!("https://localhost:{port}"))
            .app_id(app_id)
            .key(1, key)
            .trust_ca_pem(&ca)?
            .server_key(serial, server_key)
            .retry(inspay_sdk::RetryPolicy::none())
            .build()?,
    )
}

/// Registers application `bench-<name>` (fund-transaction class, key serial 1); returns its
/// id and key, and the server's active response-signing key to pin.
async fn register(
    state: &AppState,
    name: &str,
) -> Result<(String, Sm2PrivateKey, u32, inspay_crypto::sm2::Sm2PublicKey)> {
    let key = Sm2PrivateKey::generate()?;
    let app_id = format!("bench-{name}");
    state
        .store
        .client_app_register(
            &NewClientApp {
                id: &app_id,
                name: &format!("inspay bench {name}"),
                class: AppClass::FundTransaction,
                public_key: key.public_key(),
                tls_fingerprint: None,
                sdk_version_min: None,
            },
            Actor {
                actor: "operator:bench",
                request_id: "bench",
            },
            state.now_ms(),
        )
        .await?;
    let keyring = state.keyring();
    let serial = keyring
        .active_version(KeyPurpose::ResponseSigning)
        .context("no active response-signing key")?;
    let server_key = keyring
        .public_key(KeyPurpose::ResponseSigning, serial)?
        .clone();
    Ok((app_id, key, serial, server_key))
}
