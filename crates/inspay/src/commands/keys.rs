//! `inspay keys`: the key lifecycle from the operator's console (clause 5.5.2.1).

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_kms::{KeyEvent, KeyPurpose, KeyState};
use inspay_store::keys::{Actor, KeyRecord};
use std::path::{Path, PathBuf};

/// Key management commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List every key version with its state and dates.
    #[command(after_help = "Examples:\n  inspay keys list\n  inspay keys list --json")]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rotate a purpose now: a new version becomes active, the old one decrypt-only.
    #[command(after_help = "Example:\n  inspay keys rotate field-encryption")]
    Rotate(PurposeArg),
    /// Rotate every purpose whose scheduled rotation date has passed.
    #[command(after_help = "Example:\n  inspay keys rotate-due")]
    RotateDue,
    /// Suspend a key version (it does nothing until resumed).
    #[command(after_help = "Example:\n  inspay keys suspend response-signing 2")]
    Suspend(VersionArg),
    /// Resume a suspended key version.
    #[command(after_help = "Example:\n  inspay keys resume response-signing 2")]
    Resume(VersionArg),
    /// Mark a key version compromised (then rotate, rewrap and schedule its destruction).
    #[command(
        after_help = "Example:\n  inspay keys compromise field-encryption 3 && inspay keys rotate field-encryption"
    )]
    Compromise(VersionArg),
    /// Schedule the destruction of a key version after a waiting period of 7 to 30 days.
    #[command(
        after_help = "Example:\n  inspay keys schedule-destruction field-encryption 1 --wait-days 30"
    )]
    ScheduleDestruction {
        #[command(flatten)]
        key: VersionArg,
        /// Days to wait before the material is erased (7 to 30).
        #[arg(long, default_value_t = 30)]
        wait_days: u32,
    },
    /// Cancel a scheduled destruction.
    #[command(after_help = "Example:\n  inspay keys cancel-destruction field-encryption 1")]
    CancelDestruction(VersionArg),
    /// Destroy every key whose waiting period is over (the server also does this hourly).
    #[command(after_help = "Example:\n  inspay keys destroy-due")]
    DestroyDue,
    /// Re-protect stored data under the newest key versions.
    #[command(after_help = "Example:\n  inspay keys rewrap")]
    Rewrap,
    /// Print the public keys of the signing purposes as SPKI PEM (no master key needed).
    #[command(
        after_help = "Examples:\n  inspay keys export-public\n  inspay keys export-public audit-signing --out audit.pem"
    )]
    ExportPublic {
        /// Only this purpose.
        purpose: Option<String>,
        /// Write to a file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate a new master key into a file readable only by its owner.
    #[command(after_help = "Example:\n  inspay keys generate-master --out /etc/inspay/master.key")]
    GenerateMaster {
        /// The file to create (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Rewrap every data key under a new master key (made with `generate-master`).
    #[command(
        after_help = "Example:\n  inspay keys generate-master --out /etc/inspay/master-2.key\n  inspay keys rotate-master --new-key-file /etc/inspay/master-2.key\n  (then point master_key.file at the new file and destroy the old one)"
    )]
    RotateMaster {
        /// File holding the new master key (32 hex digits).
        #[arg(long)]
        new_key_file: PathBuf,
    },
    /// Split the configured master key into custodian share files (all are needed to rebuild it).
    #[command(
        after_help = "Example:\n  inspay keys split-master --shares 2 --out-dir /media/custodians"
    )]
    SplitMaster {
        /// Number of shares (2 to 8).
        #[arg(long, default_value_t = 2)]
        shares: usize,
        /// Directory for share-1.key, share-2.key, ...
        #[arg(long)]
        out_dir: PathBuf,
    },
}

/// A purpose.
#[derive(Debug, Args)]
pub struct PurposeArg {
    /// field-encryption, blind-index, record-mac, audit-signing or response-signing.
    purpose: String,
}

/// A purpose and a version.
#[derive(Debug, Args)]
pub struct VersionArg {
    /// field-encryption, blind-index, record-mac, audit-signing or response-signing.
    purpose: String,
    /// The key version.
    version: u32,
}

fn purpose(name: &str) -> anyhow::Result<KeyPurpose> {
    KeyPurpose::parse(name).with_context(|| {
        let names: Vec<&str> = KeyPurpose::ALL.iter().map(|p| p.name()).collect();
        format!("unknown purpose '{name}'; use one of: {}", names.join(", "))
    })
}

/// Runs a keys command.
pub async fn run(config: Option<&Path>, command: KeysCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    if let KeysCommand::GenerateMaster { out } = &command {
        return generate_master(out);
    }
    let store = super::store(&settings).await?;
    if let KeysCommand::ExportPublic { purpose: only, out } = &command {
        return export_public(&store, only.as_deref(), out.as_deref()).await;
    }
    let master = inspay_server::master_key::load(&settings)?;
    let operator = super::operator();
    // Checks the master key against the stored check value (or initialises a new install).
    store
        .kms_initialise(
            &master,
            &settings.rotation_policy(),
            Actor {
                actor: &operator,
                request_id: &super::command_id(),
            },
            inspay_store::now_ms(),
        )
        .await?;
    let id = super::command_id();
    let who = Actor {
        actor: &operator,
        request_id: &id,
    };
    let now = inspay_store::now_ms();
    let policy = settings.rotation_policy();
    let (store, master) = (&store, &master);
    let transition = |key: VersionArg, event| async move {
        let record = store
            .key_transition(
                master,
                purpose(&key.purpose)?,
                key.version,
                event,
                0,
                who,
                now,
            )
            .await?;
        println!("{} is now {}", record.object(), record.state);
        anyhow::Ok(())
    };
    match command {
        KeysCommand::List { json } => list(&store.key_list(master).await?, json)?,
        KeysCommand::Rotate(arg) => {
            let record = store
                .key_rotate(master, purpose(&arg.purpose)?, &policy, who, now)
                .await?;
            println!(
                "{} is now active; earlier versions are decrypt-only",
                record.object()
            );
            println!("next: run `inspay keys rewrap` to move stored data to it");
        }
        KeysCommand::RotateDue => {
            let rotated = store.keys_rotate_due(master, &policy, who, now).await?;
            println!("{} key(s) rotated", rotated.len());
            for record in rotated {
                println!("  {} active", record.object());
            }
        }
        KeysCommand::Suspend(key) => transition(key, KeyEvent::Suspend).await?,
        KeysCommand::Resume(key) => transition(key, KeyEvent::Resume).await?,
        KeysCommand::Compromise(key) => {
            transition(key, KeyEvent::Compromise).await?;
            println!(
                "next: rotate this purpose, run `inspay keys rewrap`, then schedule the destruction"
            );
        }
        KeysCommand::CancelDestruction(key) => transition(key, KeyEvent::CancelDestruction).await?,
        KeysCommand::ScheduleDestruction { key, wait_days } => {
            let record = store
                .key_transition(
                    master,
                    purpose(&key.purpose)?,
                    key.version,
                    KeyEvent::ScheduleDestruction,
                    wait_days,
                    who,
                    now,
                )
                .await?;
            println!(
                "{} will be destroyed after {} days; data still under it becomes unrecoverable then (run `inspay keys rewrap` first)",
                record.object(),
                wait_days
            );
        }
        KeysCommand::DestroyDue => {
            let destroyed = store.keys_destroy_due(master, who, now).await?;
            println!("{} key(s) destroyed", destroyed.len());
            for record in destroyed {
                println!("  {} destroyed", record.object());
            }
        }
        KeysCommand::Rewrap => rewrap(store, master).await?,
        KeysCommand::SplitMaster { shares, out_dir } => split_master(master, shares, &out_dir)?,
        KeysCommand::RotateMaster { new_key_file } => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(&new_key_file)
                    .with_context(|| format!("cannot read {}", new_key_file.display()))?,
            );
            let new = inspay_kms::MasterKey::from_text(&text, inspay_kms::MasterKeySource::File)?;
            if new.source().is_development()
                && settings.profile == inspay_server::Profile::Production
            {
                bail!("the production profile refuses a development master key (clause 5.5.2.2)");
            }
            let count = store.kms_rotate_master(master, &new, who, now).await?;
            println!(
                "{count} data key(s) rewrapped under the new master key (check value {})",
                new.check_value()
            );
            println!(
                "next: set master_key.file (or INSPAY_MASTER_KEY / the shares) to the new key on every node, \
                 restart them, then destroy the old key and any backup wrapped under it"
            );
        }
        KeysCommand::ExportPublic { .. } | KeysCommand::GenerateMaster { .. } => {
            unreachable!("handled above")
        }
    }
    Ok(())
}

fn list(records: &[KeyRecord], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(records)?);
        return Ok(());
    }
    let date = |ms: Option<i64>| ms.map(super::utc_date).unwrap_or_else(|| "-".into());
    println!(
        "{:<18} {:>3}  {:<13} {:<11} {:<16} {:<16} {:<16}",
        "PURPOSE", "VER", "STATE", "ALGORITHM", "ACTIVATED", "ROTATE AFTER", "DESTROY AFTER"
    );
    for record in records {
        println!(
            "{:<18} {:>3}  {:<13} {:<11} {:<16} {:<16} {:<16}",
            record.purpose.name(),
            record.version,
            record.state.name(),
            record.algorithm,
            date(record.activated_at_ms),
            date(record.rotate_after_ms),
            date(record.destroy_after_ms),
        );
    }
    let attention = records
        .iter()
        .filter(|r| {
            matches!(r.state, KeyState::Compromised | KeyState::Suspended)
                || r.destroy_after_ms.is_some() && r.state != KeyState::Destroyed
        })
        .count();
    println!(
        "\n{} key version(s); {} need attention (suspended, compromised or pending destruction)",
        records.len(),
        attention
    );
    Ok(())
}

async fn rewrap(store: &inspay_store::Store, master: &inspay_kms::MasterKey) -> anyhow::Result<()> {
    let keyring = store.keyring_load(master).await?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("rewrap {bar:40} {pos}/{len} rows ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = store
        .persons_rewrap(&keyring, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await?;
    bar.finish_and_clear();
    let logins = store.accounts_rewrap_login_names(&keyring).await?;
    println!(
        "rewrap finished: {} row(s) read, {} re-protected under the newest keys, {} unreadable; \
         {} account login name(s) moved to the active blind-index key",
        summary.rows, summary.rewrapped, summary.unreadable, logins.moved
    );
    if summary.unreadable > 0 {
        bail!(
            "{} row(s) could not be opened: their key is suspended or destroyed; resume the key, or accept the loss if it was destroyed",
            summary.unreadable
        );
    }
    Ok(())
}

async fn export_public(
    store: &inspay_store::Store,
    only: Option<&str>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let only = only.map(purpose).transpose()?;
    let mut text = String::new();
    for record in store.key_list_public().await? {
        if only.is_some_and(|wanted| wanted != record.purpose)
            || record.state == KeyState::Destroyed
        {
            continue;
        }
        if let Some(pem) = &record.public_key_pem {
            text.push_str(&format!("# {} ({})\n{pem}", record.object(), record.state));
        }
    }
    if text.is_empty() {
        bail!("no public keys found; start the server once (`inspay serve`) to create the keys");
    }
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

fn write_secret_file(path: &Path, text: &str) -> anyhow::Result<()> {
    use inspay_server::files::{Existing, write_private};
    write_private(path, text.as_bytes(), Existing::Refuse)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))
}

fn generate_master(out: &Path) -> anyhow::Result<()> {
    let master = inspay_kms::MasterKey::generate(inspay_kms::MasterKeySource::File)?;
    let text = zeroize::Zeroizing::new(format!("{}\n", master.to_hex().as_str()));
    write_secret_file(out, &text)?;
    println!(
        "master key written to {} (mode 600); check value {}",
        out.display(),
        master.check_value()
    );
    println!(
        "next: set master_key.source = \"file\" and master_key.file, or split it with `inspay keys split-master`"
    );
    Ok(())
}

fn split_master(
    master: &inspay_kms::MasterKey,
    shares: usize,
    out_dir: &Path,
) -> anyhow::Result<()> {
    let parts = master.split(shares)?;
    std::fs::create_dir_all(out_dir)?;
    for (index, share) in parts.iter().enumerate() {
        let path = out_dir.join(format!("share-{}.key", index + 1));
        write_secret_file(&path, &format!("{}\n", share.as_str()))?;
        println!("share {} written to {}", index + 1, path.display());
    }
    println!(
        "give each share to a different custodian; all {shares} are needed to rebuild the key (check value {})",
        master.check_value()
    );
    Ok(())
}
