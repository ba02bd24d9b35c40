//! `inspay channel-sim`: the simulated bank of `inspay-channel`, served until Ctrl-C, for
//! development and for the fault tests.
//!
//! It accepts only requests signed with one merchant key: by default the active
//! `channel-signing` key of our own key manager (so a server on the same database talks to it
//! as is), or the public key in `--merchant-public-key`. Its own SM2 key signs every answer; with
//! `--key-file` it is kept (PKCS#8 PEM, mode 600) so a restarted simulator keeps its identity,
//! and `--public-key-out` writes the public half where `payments.channel.public_key_file` can
//! point at it.
//!
//! The simulator is a test hook: its control plane (`/control/faults`, `/control/ledger`) is
//! unauthenticated, and a server pointed at it believes payments that moved no money, so the
//! production profile refuses to run it.

use anyhow::{Context, anyhow, bail};
use clap::Args;
use inspay_channel::{MERCHANT_ID_CHARS_MAX, Simulator, SimulatorConfig, SimulatorHandle};
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use inspay_kms::KeyPurpose;
use inspay_server::files::{Existing, write_private};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Options of `inspay channel-sim`.
#[derive(Debug, Args)]
pub struct ChannelSimArgs {
    /// The address to listen on (port 0 picks a free port; the URL printed names it).
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// The simulator's own SM2 private key (PKCS#8 PEM); created with mode 600 if missing, so
    /// a restarted simulator keeps its identity. Without it a new key is made at every start.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Write the simulator's public key (SPKI PEM) here, for `payments.channel.public_key_file`.
    #[arg(long, value_name = "FILE")]
    public_key_out: Option<PathBuf>,
    /// The merchant id it serves (default: `payments.channel.merchant_id` of the
    /// configuration, `inspay` unless set).
    #[arg(long, value_name = "ID", value_parser = parse_merchant_id)]
    merchant_id: Option<String>,
    /// Serve the merchant whose SM2 public key (SPKI PEM) is in this file, instead of the
    /// active channel-signing key of our key manager.
    #[arg(long, value_name = "FILE")]
    merchant_public_key: Option<PathBuf>,
}

fn parse_merchant_id(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if text.is_empty() || text.len() > MERCHANT_ID_CHARS_MAX || !text.chars().all(allowed) {
        return Err(format!(
            "a merchant id is 1 to {MERCHANT_ID_CHARS_MAX} of A-Z a-z 0-9 _ -"
        ));
    }
    Ok(text.to_string())
}

/// Where the merchant key came from, for the operator.
struct MerchantKey {
    key: Sm2PublicKey,
    origin: String,
}

/// Runs the simulated bank until Ctrl-C (or SIGTERM).
pub async fn run(config: Option<&Path>, args: ChannelSimArgs) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    if settings.profile == inspay_server::Profile::Production {
        bail!(
            "channel-sim is a simulated bank for development and tests, and the production profile refuses it: \
             a server pointed at it would record payments that moved no money. Run it with the development profile."
        );
    }
    let merchant_id = args
        .merchant_id
        .clone()
        .unwrap_or_else(|| settings.payments.channel.merchant_id.clone());
    let merchant = match &args.merchant_public_key {
        Some(path) => MerchantKey {
            key: read_public_key(path)?,
            origin: format!("from {}", path.display()),
        },
        None => kms_merchant_key(&settings).await?,
    };
    let (channel_key, key_origin) = channel_key(args.key_file.as_deref())?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; choose another address with --listen (port 0 picks a free one)",
                args.listen
            )
        })?;
    let mut simulator = SimulatorConfig::new(&merchant_id, merchant.key.clone());
    simulator.channel_key = Some(channel_key);
    let handle = Simulator::spawn(simulator, listener)
        .await
        .context("cannot start the channel simulator")?;
    if let Some(path) = &args.public_key_out {
        std::fs::write(path, handle.public_key().to_spki_pem())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    print_banner(&handle, &merchant_id, &merchant, &key_origin, &args)?;
    wait_for_stop().await?;
    println!("channel simulator stopping");
    handle
        .shutdown()
        .await
        .context("the channel simulator stopped with an error")
}

/// The public half of our active channel-signing key.
async fn kms_merchant_key(settings: &inspay_server::Settings) -> anyhow::Result<MerchantKey> {
    let store = super::store(settings).await?;
    // Checks the master key against the stored check value (or initialises a new install, which
    // creates the channel-signing key).
    let keyring = super::keyring(settings, &store).await?;
    let version = keyring
        .active_version(KeyPurpose::ChannelSigning)
        .context(
            "no active channel-signing key; see `inspay keys list`, then `inspay keys rotate channel-signing`",
        )?;
    let key = keyring
        .public_key(KeyPurpose::ChannelSigning, version)
        .context("cannot read the channel-signing public key")?
        .clone();
    Ok(MerchantKey {
        key,
        origin: format!(
            "key:channel-signing:v{version} of this installation (restart the simulator after rotating it)"
        ),
    })
}

fn read_public_key(path: &Path) -> anyhow::Result<Sm2PublicKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    // `inspay keys export-public` heads each key with a `# key:...` comment line.
    let pem: String = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect();
    Sm2PublicKey::from_spki_pem(&pem).map_err(|_| {
        anyhow!(
            "{} is not one SM2 public key in PEM (SubjectPublicKeyInfo); export ours with \
             `inspay keys export-public channel-signing --out FILE`",
            path.display()
        )
    })
}

/// The simulator's own key: read from `path`, or made and saved there (mode 600) when the file
/// does not exist, or made for this run only.
fn channel_key(path: Option<&Path>) -> anyhow::Result<(Sm2PrivateKey, String)> {
    let Some(path) = path else {
        return Ok((
            Sm2PrivateKey::generate()?,
            "made for this run only (pass --key-file to keep it across restarts)".into(),
        ));
    };
    if path.exists() {
        let pem = zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        );
        let key = Sm2PrivateKey::from_pkcs8_pem(&pem).map_err(|_| {
            anyhow!(
                "{} is not an SM2 private key in PKCS#8 PEM; remove it to have a new key made, or give another --key-file",
                path.display()
            )
        })?;
        warn_if_shared(path);
        return Ok((key, format!("from {}", path.display())));
    }
    let key = Sm2PrivateKey::generate()?;
    let pem = key.to_pkcs8_pem()?;
    write_private(path, pem.as_bytes(), Existing::Refuse)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok((
        key,
        format!("made and saved to {} (mode 600)", path.display()),
    ))
}

/// Warns when a key file can be read by others than its owner.
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path) {
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: {} can be read by others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
}

fn print_banner(
    handle: &SimulatorHandle,
    merchant_id: &str,
    merchant: &MerchantKey,
    key_origin: &str,
    args: &ChannelSimArgs,
) -> anyhow::Result<()> {
    let url = handle.base_url();
    println!("channel simulator listening on {url}");
    println!("merchant id: {merchant_id}");
    println!(
        "merchant key: sm3:{} {}",
        &merchant.key.fingerprint()[..16],
        merchant.origin
    );
    println!(
        "channel key: sm3:{} {key_origin}",
        &handle.public_key().fingerprint()[..16]
    );
    let public_key_file = match &args.public_key_out {
        Some(path) => toml_string(&std::path::absolute(path)?)?,
        None => {
            println!(
                "its public key: GET {url}/v1/keys, or run again with --public-key-out FILE to have it written"
            );
            "\"<the channel's public key file: see above>\"".to_string()
        }
    };
    println!("\nput these lines in the server's TOML:\n");
    println!("[payments.channel]");
    println!("url = {}", toml_string(Path::new(&url))?);
    println!("public_key_file = {public_key_file}");
    println!("merchant_id = {}", toml_string(Path::new(merchant_id))?);
    println!("\nfaults: POST {url}/control/faults (loopback only); press Ctrl-C to stop");
    Ok(())
}

/// A TOML basic string: JSON's string escapes are all valid TOML escapes.
fn toml_string(text: &Path) -> anyhow::Result<String> {
    let text = text
        .to_str()
        .with_context(|| format!("{} is not UTF-8 text", text.display()))?;
    Ok(serde_json::to_string(text)?)
}

/// Waits for Ctrl-C or, under a service manager, SIGTERM.
async fn wait_for_stop() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot listen for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Merchant ids keep to the channel protocol's token rule.
    #[test]
    fn merchant_ids_are_tokens() {
        assert_eq!(parse_merchant_id("inspay"), Ok("inspay".to_string()));
        assert!(parse_merchant_id(&"m".repeat(MERCHANT_ID_CHARS_MAX)).is_ok());
        assert!(parse_merchant_id(&"m".repeat(MERCHANT_ID_CHARS_MAX + 1)).is_err());
        assert!(parse_merchant_id("").is_err());
        assert!(parse_merchant_id("in spay").is_err());
    }

    /// Paths and URLs become TOML strings with quotes and backslashes escaped.
    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(
            toml_string(Path::new("/etc/inspay/channel.pem")).expect("utf-8"),
            "\"/etc/inspay/channel.pem\""
        );
        assert_eq!(
            toml_string(Path::new("/tmp/a\"b\\c")).expect("utf-8"),
            "\"/tmp/a\\\"b\\\\c\""
        );
    }

    /// A key file is made with mode 600 on first use and read back unchanged afterwards, so a
    /// restarted simulator keeps its identity.
    #[test]
    fn key_file_is_private_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sim.key");
        let (first, origin) = channel_key(Some(&path)).expect("made");
        assert!(origin.contains("made"), "{origin}");
        let mode = std::fs::metadata(&path).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, origin) = channel_key(Some(&path)).expect("read");
        assert!(origin.starts_with("from "), "{origin}");
        assert_eq!(
            first.public_key().fingerprint(),
            again.public_key().fingerprint()
        );
        std::fs::write(&path, "not a key").expect("write");
        let error = channel_key(Some(&path)).expect_err("refused").to_string();
        assert!(error.contains("PKCS#8"), "{error}");
    }
}
