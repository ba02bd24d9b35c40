//! `inspay risk`: the risk engine from the console (issue 6; clauses 5.3.3.2, 6.3.7).
//!
//! - `signers`: the rule-signing keys a pack must be signed with (register, list, revoke), and
//!   `keygen` for a risk officer's key pair;
//! - `pack`: sign a pack on the officer's machine, check one, install it (every node loads it
//!   within a second), list versions, roll back, withdraw;
//! - `train`: rebuild the behaviour model's baselines from stored history (optionally after
//!   generating a synthetic history with planted anomalies, to measure the model).

use anyhow::{Context, bail};
use clap::Subcommand;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use inspay_kms::Keyring;
use inspay_risk::pack::{LoadedPack, SignedPack};
use inspay_server::risk::packs::{self, InstallError};
use inspay_store::Store;
use inspay_store::keys::Actor;
use std::path::{Path, PathBuf};

/// Risk commands.
#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// Rule-signing keys: generate a key pair, register its public key, list, revoke.
    #[command(subcommand)]
    Signers(SignersCommand),
    /// Rule packs: sign, check, install, list, roll back, withdraw.
    #[command(subcommand)]
    Pack(PackCommand),
    /// Rebuild the behaviour model's baselines from stored history.
    #[command(
        after_help = "Examples:\n  inspay risk train\n  inspay risk train --generate 1000000 --seed 7"
    )]
    Train(super::risk_train::TrainArgs),
}

/// `inspay risk signers`.
#[derive(Debug, Subcommand)]
pub enum SignersCommand {
    /// Generate an SM2 key pair for signing rule packs: the private key (PKCS#8 PEM, readable by
    /// you only) stays with the risk officer; the public key is what `signers add` registers.
    #[command(
        after_help = "Example:\n  inspay risk signers keygen --private-key-out li.key --public-key-out li.pub.pem"
    )]
    Keygen {
        /// Where to write the private key (refused if the file exists).
        #[arg(long)]
        private_key_out: PathBuf,
        /// Where to write the public key.
        #[arg(long)]
        public_key_out: PathBuf,
    },
    /// Register a rule-signing public key under a name.
    #[command(
        after_help = "Example:\n  inspay risk signers add --name risk-officer-li --public-key li.pub.pem"
    )]
    Add {
        /// The signer's name, as signatures will name it (1 to 64 characters).
        #[arg(long)]
        name: String,
        /// The SM2 public key, PEM (SubjectPublicKeyInfo).
        #[arg(long)]
        public_key: PathBuf,
    },
    /// List registered signers.
    #[command(after_help = "Example:\n  inspay risk signers list")]
    List,
    /// Revoke a signer: packs signed with its key stop running on every node at the next
    /// reload, and new ones are refused.
    #[command(after_help = "Example:\n  inspay risk signers revoke --name risk-officer-li")]
    Revoke {
        /// The signer's name.
        #[arg(long)]
        name: String,
    },
}

/// `inspay risk pack`.
#[derive(Debug, Subcommand)]
pub enum PackCommand {
    /// Sign a pack with your rule-signing key (offline: needs no database). Writes
    /// `<pack>.sig` beside the pack.
    #[command(
        after_help = "Example:\n  inspay risk pack sign --pack night.toml --key li.key --signer risk-officer-li"
    )]
    Sign {
        /// The pack's manifest (TOML).
        #[arg(long)]
        pack: PathBuf,
        /// Your private key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// Your registered signer name.
        #[arg(long)]
        signer: String,
    },
    /// Check a signed pack against the registered signers and the rule checks, without
    /// installing it.
    #[command(after_help = "Example:\n  inspay risk pack check --pack night.toml")]
    Check {
        /// The pack's manifest; its signature is read from `<pack>.sig` unless given.
        #[arg(long)]
        pack: PathBuf,
        /// The signature file.
        #[arg(long)]
        signature: Option<PathBuf>,
    },
    /// Install a signed pack as the active version of its id; every node runs it within
    /// `risk.pack_reload_interval_ms`, without a restart.
    #[command(after_help = "Example:\n  inspay risk pack install --pack night.toml")]
    Install {
        /// The pack's manifest; its signature is read from `<pack>.sig` unless given.
        #[arg(long)]
        pack: PathBuf,
        /// The signature file.
        #[arg(long)]
        signature: Option<PathBuf>,
    },
    /// List installed packs and versions.
    #[command(
        after_help = "Examples:\n  inspay risk pack list\n  inspay risk pack list --pack night"
    )]
    List {
        /// Only this pack id.
        #[arg(long)]
        pack: Option<String>,
    },
    /// Make a stored version the active one again (the current one stops).
    #[command(after_help = "Example:\n  inspay risk pack rollback --pack night --version 2")]
    Rollback {
        /// The pack id.
        #[arg(long)]
        pack: String,
        /// The version to run.
        #[arg(long)]
        version: i64,
    },
    /// Stop running a pack (every version stays stored).
    #[command(after_help = "Example:\n  inspay risk pack withdraw --pack night")]
    Withdraw {
        /// The pack id.
        #[arg(long)]
        pack: String,
    },
}

/// Runs a risk command.
pub async fn run(config: Option<&Path>, command: RiskCommand) -> anyhow::Result<()> {
    match command {
        RiskCommand::Signers(SignersCommand::Keygen {
            private_key_out,
            public_key_out,
        }) => keygen(&private_key_out, &public_key_out),
        RiskCommand::Pack(PackCommand::Sign { pack, key, signer }) => sign(&pack, &key, &signer),
        RiskCommand::Train(args) => super::risk_train::run(config, args).await,
        RiskCommand::Signers(command) => {
            let (store, keyring) = store(config).await?;
            signers(&store, &keyring, command).await
        }
        RiskCommand::Pack(command) => {
            let (store, keyring) = store(config).await?;
            pack(&store, &keyring, command).await
        }
    }
}

/// The store and the keyring (signer rows carry record MACs, so reading or changing them
/// needs the keys).
async fn store(config: Option<&Path>) -> anyhow::Result<(Store, Keyring)> {
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    let keyring = super::keyring(&settings, &store).await?;
    Ok((store, keyring))
}

fn keygen(private_out: &Path, public_out: &Path) -> anyhow::Result<()> {
    for path in [private_out, public_out] {
        if path.exists() {
            bail!(
                "{} exists; choose another path (a key file is never overwritten)",
                path.display()
            );
        }
    }
    let key = Sm2PrivateKey::generate()?;
    let pem = key.to_pkcs8_pem()?;
    // The public key first: if its path cannot be written, no private key is left behind
    // without its public half.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(public_out)
        .and_then(|mut file| {
            std::io::Write::write_all(&mut file, key.public_key().to_spki_pem().as_bytes())
        })
        .with_context(|| format!("cannot write {}", public_out.display()))?;
    if let Err(error) = write_private(private_out, pem.as_bytes()) {
        let _ = std::fs::remove_file(public_out);
        return Err(error);
    }
    println!(
        "rule-signing key pair written: private {} (keep it offline), public {}\nfingerprint {}\nnext: inspay risk signers add --name <you> --public-key {}",
        private_out.display(),
        public_out.display(),
        key.public_key().fingerprint(),
        public_out.display()
    );
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn signature_path(pack: &Path) -> PathBuf {
    let mut name = pack.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn sign(pack: &Path, key: &Path, signer: &str) -> anyhow::Result<()> {
    let manifest =
        std::fs::read(pack).with_context(|| format!("cannot read the pack {}", pack.display()))?;
    let pem = zeroize::Zeroizing::new(
        std::fs::read_to_string(key)
            .with_context(|| format!("cannot read the key {}", key.display()))?,
    );
    let key = Sm2PrivateKey::from_pkcs8_pem(&pem).map_err(|_| {
        anyhow::anyhow!("{} is not an SM2 private key in PKCS#8 PEM", key.display())
    })?;
    // Sign only what would load: a pack that fails its own checks is caught here, not at
    // install.
    let manifest_checked = inspay_risk::pack::Manifest::parse(&manifest)
        .map_err(|error| anyhow::anyhow!("{} {error}", error.code()))?;
    let signature = SignedPack::sign(&manifest, signer, &key)?;
    let out = signature_path(pack);
    std::fs::write(&out, signature).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "signed {} v{} ({} rules) as {signer}: {}\nnext: inspay risk pack install --pack {}",
        manifest_checked.id,
        manifest_checked.version,
        manifest_checked.rules.len(),
        out.display(),
        pack.display()
    );
    Ok(())
}

async fn signers(store: &Store, keyring: &Keyring, command: SignersCommand) -> anyhow::Result<()> {
    let operator = super::operator();
    let id = super::command_id();
    let who = Actor {
        actor: &operator,
        request_id: &id,
    };
    let now = inspay_store::now_ms();
    match command {
        SignersCommand::Add { name, public_key } => {
            let length = name.chars().count();
            if length == 0 || length > 64 || name.chars().any(char::is_control) {
                bail!("the signer name must be 1 to 64 printable characters");
            }
            let pem = std::fs::read_to_string(&public_key)
                .with_context(|| format!("cannot read {}", public_key.display()))?;
            let key = Sm2PublicKey::from_spki_pem(&pem).map_err(|_| {
                anyhow::anyhow!(
                    "{} is not an SM2 public key in PEM (SubjectPublicKeyInfo); `inspay risk signers keygen` makes one",
                    public_key.display()
                )
            })?;
            let signer = store
                .risk_signer_add(
                    keyring,
                    &name,
                    &key.to_spki_pem(),
                    &key.fingerprint(),
                    who,
                    now,
                )
                .await?;
            println!(
                "registered rule-signing key '{}' (fingerprint {})",
                signer.name, signer.fingerprint
            );
        }
        SignersCommand::List => {
            let rows = store.risk_signers(keyring).await?;
            if rows.is_empty() {
                println!("no rule-signing keys; register one with `inspay risk signers add`");
            }
            for row in rows {
                println!(
                    "{:<24} {:<8} {} added {} by {}",
                    row.name,
                    if row.active { "active" } else { "revoked" },
                    row.fingerprint,
                    super::utc_date(row.added_at_ms),
                    row.added_by
                );
            }
        }
        SignersCommand::Revoke { name } => {
            if store.risk_signer_revoke(keyring, &name, who, now).await? {
                println!(
                    "revoked '{name}': packs it signed stop running on every node at the next reload"
                );
            } else {
                bail!("no active signer named '{name}'; `inspay risk signers list` shows them");
            }
        }
        SignersCommand::Keygen { .. } => {}
    }
    Ok(())
}

fn read_signed(pack: &Path, signature: Option<PathBuf>) -> anyhow::Result<(Vec<u8>, String)> {
    let manifest =
        std::fs::read(pack).with_context(|| format!("cannot read the pack {}", pack.display()))?;
    let signature_file = signature.unwrap_or_else(|| signature_path(pack));
    let signature = std::fs::read_to_string(&signature_file).with_context(|| {
        format!(
            "cannot read the signature {}; sign the pack with `inspay risk pack sign` first",
            signature_file.display()
        )
    })?;
    Ok((manifest, signature))
}

fn describe(pack: &LoadedPack) {
    let manifest = pack.manifest();
    println!(
        "{} v{}: {} rules, signed by {} (key {}), SM3 {}",
        manifest.id,
        manifest.version,
        pack.rule_count(),
        pack.signer(),
        pack.key_fingerprint(),
        pack.digest()
    );
    for rule in &manifest.rules {
        println!(
            "  {:<32} {:<20} {}",
            rule.id,
            rule.verdict.name(),
            rule.note
        );
    }
}

async fn pack(store: &Store, keyring: &Keyring, command: PackCommand) -> anyhow::Result<()> {
    let operator = super::operator();
    let id = super::command_id();
    let who = Actor {
        actor: &operator,
        request_id: &id,
    };
    let now = inspay_store::now_ms();
    match command {
        PackCommand::Check { pack, signature } => {
            let (manifest, signature) = read_signed(&pack, signature)?;
            let signers = packs::trusted_signers(&store.risk_signers(keyring).await?);
            let loaded = SignedPack {
                manifest,
                signature,
            }
            .verify(&signers)
            .and_then(|verified| LoadedPack::load(&verified))
            .map_err(|error| anyhow::anyhow!("{} {error}", error.code()))?;
            describe(&loaded);
            println!("the pack verifies and loads; install it with `inspay risk pack install`");
        }
        PackCommand::Install { pack, signature } => {
            let (manifest, signature) = read_signed(&pack, signature)?;
            match packs::install(store, keyring, &manifest, &signature, who, now).await {
                Ok((row, loaded)) => {
                    describe(&loaded);
                    println!(
                        "installed {} v{} as the active version; every node runs it within a second or two",
                        row.pack_id, row.version
                    );
                }
                Err(InstallError::Refused(error)) => bail!(
                    "{} {error}\nthe refusal is recorded as a security event; fix the pack, sign it again and retry",
                    error.code()
                ),
                Err(error) => bail!("{error}"),
            }
        }
        PackCommand::List { pack } => {
            let rows = store.risk_packs(pack.as_deref()).await?;
            let signers = store.risk_signers(keyring).await?;
            if rows.is_empty() {
                println!("no rule packs installed");
            }
            let mut dropped = false;
            for row in rows {
                let signer_active = signers.iter().any(|signer| {
                    signer.active
                        && signer.name == row.signer
                        && signer.fingerprint == row.key_fingerprint
                });
                let state = match (row.active, signer_active) {
                    (true, true) => "active",
                    (true, false) => {
                        dropped = true;
                        "active*"
                    }
                    (false, _) => "-",
                };
                println!(
                    "{:<24} v{:<4} {:<8} {:>4} rules  signed by {:<20} installed {} by {}",
                    row.pack_id,
                    row.version,
                    state,
                    row.rules,
                    row.signer,
                    super::utc_date(row.installed_at_ms),
                    row.installed_by
                );
            }
            if dropped {
                println!(
                    "* its signer is revoked: the nodes do not run it; install a version signed by an active signer, or withdraw it"
                );
            }
        }
        PackCommand::Rollback { pack, version } => {
            let row = store
                .risk_pack_rollback(&pack, version, who, now)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            println!(
                "{} v{} is the active version again; every node runs it within a second or two",
                row.pack_id, row.version
            );
        }
        PackCommand::Withdraw { pack } => {
            if store.risk_pack_withdraw(&pack, who, now).await? {
                println!("withdrew '{pack}': no version of it runs after the next reload");
            } else {
                bail!("'{pack}' has no active version; `inspay risk pack list` shows the packs");
            }
        }
        PackCommand::Sign { .. } => {}
    }
    Ok(())
}
