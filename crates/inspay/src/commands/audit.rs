//! `inspay audit`: prove the audit chain (clause 5.4.4.2).

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use inspay_crypto::sm2::Sm2PublicKey;
use std::path::{Path, PathBuf};

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the SM3 chain and check every SM2-signed checkpoint.
    #[command(
        after_help = "Examples:\n  inspay audit verify\n  inspay keys export-public audit-signing --out audit.pem && inspay audit verify --public-key audit.pem"
    )]
    Verify {
        /// Pin the audit-signing public key(s) from this PEM file (as exported by
        /// `inspay keys export-public audit-signing`) instead of trusting the database's copy.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign a checkpoint of the chain head now (the server does this every minute).
    #[command(after_help = "Example:\n  inspay audit checkpoint")]
    Checkpoint,
}

/// Runs an audit command.
pub async fn run(config: Option<&Path>, command: AuditCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    match command {
        AuditCommand::Verify { public_key, json } => {
            let pinned = public_key.as_deref().map(read_pinned).transpose()?;
            let total = store.audit_len().await?;
            let bar = ProgressBar::new(u64::try_from(total).unwrap_or(0)).with_style(
                ProgressStyle::with_template("verify {bar:40} {pos}/{len} entries")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let report = store
                .audit_verify(pinned.as_deref(), |done| {
                    bar.set_position(u64::try_from(done).unwrap_or(0))
                })
                .await?;
            bar.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{} entries (last #{}), {} checkpoints (last verified #{})",
                    report.entries, report.last_seq, report.checkpoints, report.last_checkpoint_seq
                );
                for (seq, problem) in &report.problems {
                    println!("  entry #{seq}: {problem}");
                }
            }
            if !report.is_intact() {
                anyhow::bail!(
                    "the audit log was tampered with: {} problem(s) found; preserve the database as evidence (copy it before anything else writes to it) and see \"Audit verification\" in docs/operator-guide.md",
                    report.problems.len()
                );
            }
            println!("audit chain intact");
            if report.last_checkpoint_seq < report.last_seq {
                println!(
                    "note: entries after #{} are not yet covered by a signed checkpoint",
                    report.last_checkpoint_seq
                );
            }
        }
        AuditCommand::Checkpoint => {
            let master = inspay_server::master_key::load(&settings)?;
            let keyring = store.keyring_load(&master).await?;
            match store
                .audit_checkpoint(&keyring, inspay_store::now_ms())
                .await?
            {
                Some(seq) => println!("checkpoint signed at entry #{seq}"),
                None => println!("nothing new to checkpoint"),
            }
        }
    }
    Ok(())
}

/// Reads `# key:audit-signing:vN (...)` headed PEM blocks as written by export-public.
fn read_pinned(path: &Path) -> anyhow::Result<Vec<(u32, Sm2PublicKey)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut keys = vec![];
    let mut version = None;
    let mut block = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# key:audit-signing:v") {
            version = rest
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u32>().ok());
            continue;
        }
        if line.starts_with('#') {
            version = None;
            continue;
        }
        block.push_str(line);
        block.push('\n');
        if line.starts_with("-----END") {
            if let Some(version) = version.take() {
                keys.push((version, Sm2PublicKey::from_spki_pem(&block)?));
            }
            block.clear();
        }
    }
    anyhow::ensure!(
        !keys.is_empty(),
        "{} holds no audit-signing public key",
        path.display()
    );
    Ok(keys)
}
