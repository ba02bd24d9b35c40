//! The payment channel this node talks to: configured (`[payments.channel]`), or in the
//! development profile the built-in simulated bank, started on loopback beside the server.
//!
//! Our requests are signed by the KMS `channel-signing` key through [`KmsSigner`]: the key never
//! leaves the keyring, and after a rotation the next request is signed with the new version.

use crate::config::{Profile, Settings};
use crate::state::AppState;
use anyhow::Context;
use inspay_channel::{HttpChannel, HttpChannelConfig, RequestSigner, Simulator, SimulatorConfig};
use inspay_crypto::CryptoError;
use inspay_crypto::sm2::{Sm2PublicKey, Sm2Signature};
use inspay_kms::{KeyPurpose, Keyring};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Signs channel requests with the keyring in force.
pub struct KmsSigner {
    keyring: Arc<dyn Fn() -> Arc<Keyring> + Send + Sync>,
}

impl RequestSigner for KmsSigner {
    fn sign_message(&self, message: &[u8]) -> Result<Sm2Signature, CryptoError> {
        let sealed = (self.keyring)()
            .sign(KeyPurpose::ChannelSigning, message)
            .map_err(|_| CryptoError::InvalidKey("no usable channel-signing key"))?;
        Sm2Signature::from_der(&sealed.bytes)
    }
}

/// The channel in use, if any, and the simulator kept alive for it.
#[derive(Default)]
pub struct ChannelSlot {
    channel: Mutex<Option<HttpChannel>>,
    simulator: Mutex<Option<inspay_channel::SimulatorHandle>>,
}

impl ChannelSlot {
    /// The channel, if one is configured.
    pub fn get(&self) -> Option<HttpChannel> {
        match self.channel.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Uses `channel` from now on.
    pub fn set(&self, channel: HttpChannel) {
        match self.channel.lock() {
            Ok(mut guard) => *guard = Some(channel),
            Err(poisoned) => *poisoned.into_inner() = Some(channel),
        }
    }

    /// The built-in simulator's base URL, when one runs.
    pub fn simulator_url(&self) -> Option<String> {
        match self.simulator.lock() {
            Ok(guard) => guard
                .as_ref()
                .map(inspay_channel::SimulatorHandle::base_url),
            Err(poisoned) => poisoned
                .into_inner()
                .as_ref()
                .map(inspay_channel::SimulatorHandle::base_url),
        }
    }

    fn keep_simulator(&self, handle: inspay_channel::SimulatorHandle) {
        match self.simulator.lock() {
            Ok(mut guard) => *guard = Some(handle),
            Err(poisoned) => *poisoned.into_inner() = Some(handle),
        }
    }
}

/// The configured channel (`payments.channel.url`), if there is one: its URL, its public key
/// and the CA to trust for its TLS certificate.
fn configured(
    settings: &Settings,
) -> anyhow::Result<Option<(String, Sm2PublicKey, Option<String>)>> {
    let channel = &settings.payments.channel;
    let Some(url) = &channel.url else {
        return Ok(None);
    };
    let key_file = channel
        .public_key_file
        .as_deref()
        .context("payments.channel.public_key_file is needed with payments.channel.url")?;
    let pem = std::fs::read_to_string(key_file).with_context(|| {
        format!(
            "cannot read the channel's public key {}",
            key_file.display()
        )
    })?;
    let key = Sm2PublicKey::from_spki_pem(&pem).map_err(|_| {
        anyhow::anyhow!(
            "{} is not an SM2 public key (SPKI PEM); ask the channel for its key",
            key_file.display()
        )
    })?;
    let ca =
        match &channel.ca_file {
            Some(file) => Some(std::fs::read_to_string(file).with_context(|| {
                format!("cannot read payments.channel.ca_file {}", file.display())
            })?),
            None => None,
        };
    Ok(Some((url.clone(), key, ca)))
}

/// A client for the configured channel (`payments.channel.url`) whose requests `keyring`
/// signs, for commands that talk to the channel outside a running server (`inspay reconcile
/// --from-channel`). `None` when no channel is configured.
pub fn configured_channel(
    settings: &Settings,
    keyring: Arc<Keyring>,
) -> anyhow::Result<Option<HttpChannel>> {
    let Some((base_url, channel_key, trusted_ca_pem)) = configured(settings)? else {
        return Ok(None);
    };
    let signer = Arc::new(KmsSigner {
        keyring: Arc::new(move || Arc::clone(&keyring)),
    });
    Ok(Some(HttpChannel::with_config(HttpChannelConfig {
        base_url,
        merchant_id: settings.payments.channel.merchant_id.clone(),
        merchant_key: signer,
        channel_key,
        timeout: Duration::from_millis(settings.payments.channel.timeout_ms),
        trusted_ca_pem,
    })?))
}

/// Connects the node to its channel: the configured one, or (development profile, none
/// configured) a simulated bank started on 127.0.0.1. In production without a channel,
/// payments are refused with "channel unavailable" and an error is logged at start.
pub async fn connect(state: &AppState) -> anyhow::Result<()> {
    let settings: &Settings = &state.settings;
    let channel = &settings.payments.channel;
    let timeout = Duration::from_millis(channel.timeout_ms);
    let current = state.clone();
    let signer = Arc::new(KmsSigner {
        keyring: Arc::new(move || current.keyring()),
    });
    let (url, channel_key, trusted_ca_pem) = match (configured(settings)?, settings.profile) {
        (Some(configured), _) => configured,
        (None, Profile::Development) => {
            let keyring = state.keyring();
            let version = keyring
                .active_version(KeyPurpose::ChannelSigning)
                .context("no active channel-signing key")?;
            let merchant_key = keyring
                .public_key(KeyPurpose::ChannelSigning, version)?
                .clone();
            let config = SimulatorConfig::new(&channel.merchant_id, merchant_key);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("cannot start the development channel simulator")?;
            let simulator = Simulator::spawn(config, listener).await?;
            let url = simulator.base_url();
            let key = simulator.public_key().clone();
            tracing::warn!(
                url = %url,
                "development profile: payments go to the built-in simulated bank (configure [payments.channel] for a real one)"
            );
            state.channel_slot().keep_simulator(simulator);
            (url, key, None)
        }
        (None, Profile::Production) => {
            tracing::error!(
                "no payment channel configured ([payments.channel] url and public_key_file): premium payments, payouts and refunds are refused until one is"
            );
            return Ok(());
        }
    };
    let client = HttpChannel::with_config(HttpChannelConfig {
        base_url: url,
        merchant_id: channel.merchant_id.clone(),
        merchant_key: signer,
        channel_key,
        timeout,
        trusted_ca_pem,
    })?;
    state.channel_slot().set(client);
    Ok(())
}
