//! A simulated bank: an axum service on its own listener that speaks the channel protocol,
//! keeps its books in memory and misbehaves on request.
//!
//! It is a bank outside our system: its state lives in its own process memory, so restarting
//! *our* server does not touch it. It signs every answer with its own SM2 key (generated at
//! start unless one is given) and accepts only requests signed with the configured merchant
//! key, inside the time window, with a nonce it has not seen.
//!
//! Its test cards and accounts are listed in the crate docs: payments by the card's last
//! four digits (`...0128` pays, `...0002` declined, `...0051` insufficient funds), payouts
//! (`...0002` fails), and account verification (`...0044` `ACCOUNT_UNKNOWN`, `...0051`
//! `NAME_MISMATCH`, any other Luhn-valid account verified).
//!
//! The control plane (`POST /control/faults`, `GET /control/ledger`) has no authentication
//! and answers loopback peers only: it is for tests on one machine, never for a deployment.

mod bank;
mod faults;
mod routes;
mod state;

pub use bank::{LedgerEntry, ORDERS_MAX};
pub use faults::{FAULT_COUNT_MAX, FAULT_DELAY_MS_MAX, FaultError, FaultMode, FaultPlan};
pub use routes::REQUEST_BYTES_MAX;
pub use state::NONCES_MAX;

use crate::client::Roots;
use crate::date::{BusinessDate, CHINA_STANDARD_TIME_OFFSET_S, Clock};
use crate::statement::Statement;
use core::fmt;
use inspay_crypto::CryptoError;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use state::{Shared, SharedParts};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long `timeout` and `drop` faults hold a connection by default: far longer than any
/// client timeout, short enough that a forgotten test does not hang for ever.
pub const HOLD_DEFAULT: Duration = Duration::from_secs(60);
/// How long a notification delivery may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// How to run a simulator.
pub struct SimulatorConfig {
    /// The one merchant it serves.
    pub merchant_id: String,
    /// The merchant's public key: requests must verify under it.
    pub merchant_key: Sm2PublicKey,
    /// The simulator's own signing key; `None` generates one at start.
    pub channel_key: Option<Sm2PrivateKey>,
    /// Where `twice` faults deliver their duplicate notifications (plain `http://` on
    /// loopback, or `https://` trusted by the system store).
    pub notify_url: Option<String>,
    /// The business clock that decides settlement days.
    pub clock: Clock,
    /// The settlement time zone, seconds east of UTC (Beijing time by default).
    pub utc_offset_s: i32,
    /// How long `timeout` and `drop` faults hold a connection.
    pub hold: Duration,
    /// The 公众账号ID written in WeChat-shaped bills.
    pub wechat_app_id: String,
}

impl SimulatorConfig {
    /// A simulator for `merchant_id` with defaults: a fresh key, the system clock, Beijing
    /// time, no notify URL.
    pub fn new(merchant_id: &str, merchant_key: Sm2PublicKey) -> SimulatorConfig {
        SimulatorConfig {
            merchant_id: merchant_id.to_string(),
            merchant_key,
            channel_key: None,
            notify_url: None,
            clock: Clock::system(),
            utc_offset_s: CHINA_STANDARD_TIME_OFFSET_S,
            hold: HOLD_DEFAULT,
            wechat_app_id: "wx_simulated_app".to_string(),
        }
    }
}

impl fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("merchant_id", &self.merchant_id)
            .field("merchant_key", &self.merchant_key)
            .field("notify_url", &self.notify_url)
            .field("utc_offset_s", &self.utc_offset_s)
            .field("hold", &self.hold)
            .finish_non_exhaustive()
    }
}

/// Why a simulator could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The configuration is not usable.
    #[error("channel simulator configuration: {0}")]
    Config(&'static str),
    /// The signing key could not be generated.
    #[error("channel simulator key: {0}")]
    Key(#[from] CryptoError),
    /// The listener failed.
    #[error("channel simulator listener: {0}")]
    Io(#[from] std::io::Error),
    /// The server task panicked or was cancelled.
    #[error("the channel simulator task ended abnormally")]
    Task,
}

/// The simulated bank. Start one with [`Simulator::spawn`], or serve one until Ctrl-C with
/// [`run`].
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Serves the simulator on `listener` in a background task.
    pub async fn spawn(
        config: SimulatorConfig,
        listener: TcpListener,
    ) -> Result<SimulatorHandle, SimulatorError> {
        if !crate::order::is_token(&config.merchant_id, crate::client::MERCHANT_ID_CHARS_MAX) {
            return Err(SimulatorError::Config(
                "merchant_id must be 1 to 32 of A-Z a-z 0-9 _ -",
            ));
        }
        if let Some(url) = &config.notify_url {
            let scheme_ok =
                reqwest::Url::parse(url).is_ok_and(|url| matches!(url.scheme(), "http" | "https"));
            if !scheme_ok {
                return Err(SimulatorError::Config("notify_url must be an http(s) URL"));
            }
        }
        let channel_key = match config.channel_key {
            Some(key) => key,
            None => Sm2PrivateKey::generate()?,
        };
        let https = config
            .notify_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https:"));
        let trust = if https { Roots::System } else { Roots::None };
        let notifier = crate::client::http_client(trust, NOTIFY_TIMEOUT)
            .map_err(|_| SimulatorError::Config("the notification client could not be built"))?;
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared::new(SharedParts {
            merchant_id: config.merchant_id,
            merchant_key: config.merchant_key,
            channel_key,
            clock: config.clock,
            utc_offset_s: config.utc_offset_s,
            app_id: config.wechat_app_id,
            notify_url: config.notify_url,
            notifier,
            hold: config.hold,
            shutdown: shutdown.clone(),
        }));
        let local_addr = listener.local_addr()?;
        let app =
            routes::router(Arc::clone(&shared)).into_make_service_with_connect_info::<SocketAddr>();
        let mut stopping = shutdown;
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopping.wait_for(|stop| *stop).await;
                })
                .await
        });
        tracing::info!(
            %local_addr,
            key = %&shared.public_key().fingerprint()[..16],
            "channel simulator listening"
        );
        Ok(SimulatorHandle {
            local_addr,
            shared,
            stop,
            task,
        })
    }
}

/// A running simulator.
pub struct SimulatorHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl fmt::Debug for SimulatorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl SimulatorHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://ADDRESS`, the base URL to give a client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The key its answers are signed with.
    pub fn public_key(&self) -> &Sm2PublicKey {
        self.shared.public_key()
    }

    /// Today by its business clock.
    pub fn today(&self) -> BusinessDate {
        BusinessDate::of_unix_ms(self.shared.clock.now_ms(), self.shared.utc_offset_s)
    }

    /// Sets the pending fault, as `POST /control/faults` does.
    pub fn set_faults(&self, plan: &FaultPlan) -> Result<(), FaultError> {
        self.shared.faults.set(plan)
    }

    /// Its record of every order, as `GET /control/ledger` returns it.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.bank().ledger()
    }

    /// The statement of `date` in its own shape.
    pub fn statement(&self, date: &BusinessDate) -> Statement {
        self.shared.bank().statement(date)
    }

    /// The pay and refund orders of `date` as a WeChat Pay-shaped trade bill.
    pub fn wechat_bill(&self, date: &BusinessDate) -> String {
        let rows =
            self.shared
                .bank()
                .bill_rows(date, &self.shared.app_id, &self.shared.merchant_id);
        crate::wechat::render_wechat_bill(&rows)
    }

    /// Stops accepting, releases held connections and waits for the server to end.
    pub async fn shutdown(self) -> Result<(), SimulatorError> {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(served) => served.map_err(SimulatorError::Io),
            Err(_) => Err(SimulatorError::Task),
        }
    }
}

/// Serves a simulator on `listener` until Ctrl-C, for a command such as
/// `inspay channel-sim`. Logs its address and key fingerprint; fetch the key itself from
/// `GET /v1/keys`.
pub async fn run(config: SimulatorConfig, listener: TcpListener) -> Result<(), SimulatorError> {
    let handle = Simulator::spawn(config, listener).await?;
    tokio::signal::ctrl_c().await?;
    tracing::info!("channel simulator stopping");
    handle.shutdown().await
}
