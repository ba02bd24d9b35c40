//! `inspay release` and `inspay verify-release`: the publisher key, the signed release
//! manifest, the SBOM, the offline vulnerability audit and the release hygiene check
//! (clauses 5.4.3.5, 6.3.2, 6.3.3, 5.4.1.2, 5.4.3.1, 6.3.4). See docs/releases.md.
//!
//! None of these commands touch the configuration, the database or the network: they run on
//! the build machine and on the operator's machine before an upgrade.

pub mod audit;
pub mod hygiene;
pub mod manifest;
pub mod sbom;
pub mod semver;

use anyhow::Context;
use clap::{Args, Subcommand};
use inspay_crypto::sm2::Sm2PrivateKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Release commands, for the release owner on the build machine.
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Create a publisher (release-signing) SM2 key; prints its public key and fingerprint.
    #[command(
        after_help = "Example:\n  inspay release keygen --out /secure/publisher-key.pem --public-out publisher.pub.pem"
    )]
    Keygen {
        /// Where to write the private key (PKCS#8 PEM, mode 0600). Never overwritten.
        #[arg(long)]
        out: PathBuf,
        /// Also write the public key (PEM) here, for operators.
        #[arg(long)]
        public_out: Option<PathBuf>,
    },
    /// Write MANIFEST.json (size and SM3 of every file) into a release directory and sign it
    /// with the publisher key into MANIFEST.sig.
    #[command(
        after_help = "Example:\n  inspay release manifest --dir dist/inspay-0.1.0 --key /secure/publisher-key.pem --publisher \"inspay release owner\""
    )]
    Manifest(manifest::ManifestArgs),
    /// Write a CycloneDX 1.5 JSON SBOM of the inspay binary's dependency graph.
    #[command(
        after_help = "Example:\n  inspay release sbom --out dist/inspay-0.1.0/sbom.cdx.json --manifest-path Cargo.toml"
    )]
    Sbom(sbom::SbomArgs),
    /// Check every SBOM component against a local RustSec advisory-db copy (offline); exit 1
    /// on any vulnerable version.
    #[command(
        after_help = "Example:\n  inspay release audit --sbom dist/inspay-0.1.0/sbom.cdx.json --advisory-db ../shared/advisory-db"
    )]
    Audit(audit::AuditArgs),
    /// Check a built binary carries no symbols, debug sections, development keys, test data
    /// or debug endpoints; exit 1 naming each finding.
    #[command(after_help = "Example:\n  inspay release check --binary target/release/inspay")]
    Check(hygiene::CheckArgs),
}

/// `inspay verify-release`: what the operator runs before installing a release.
#[derive(Debug, Args)]
pub struct VerifyReleaseArgs {
    /// The release directory (holding MANIFEST.json and MANIFEST.sig).
    #[arg(long)]
    pub dir: PathBuf,
    /// The publisher's public key (PEM), received from the release owner out of band.
    #[arg(long)]
    pub publisher_key: PathBuf,
}

/// Runs a release command.
pub fn run(command: ReleaseCommand) -> anyhow::Result<()> {
    match command {
        ReleaseCommand::Keygen { out, public_out } => keygen(&out, public_out.as_deref()),
        ReleaseCommand::Manifest(args) => manifest::run(&args),
        ReleaseCommand::Sbom(args) => sbom::run(&args),
        ReleaseCommand::Audit(args) => audit::run(&args),
        ReleaseCommand::Check(args) => hygiene::run(&args),
    }
}

/// Runs `inspay verify-release`.
pub fn verify_release(args: &VerifyReleaseArgs) -> anyhow::Result<()> {
    manifest::verify(&args.dir, &args.publisher_key)
}

fn keygen(out: &Path, public_out: Option<&Path>) -> anyhow::Result<()> {
    let key = Sm2PrivateKey::generate().context("cannot generate an SM2 key")?;
    let pem = key.to_pkcs8_pem().context("cannot encode the key")?;
    write_private(out, pem.as_bytes()).with_context(|| {
        format!(
            "cannot write {}; choose a new path (an existing key is never overwritten) on storage only the release owner can read",
            out.display()
        )
    })?;
    let public = key.public_key().to_spki_pem();
    if let Some(public_out) = public_out {
        std::fs::write(public_out, &public)
            .with_context(|| format!("cannot write {}", public_out.display()))?;
    }
    println!("publisher key written to {} (mode 0600)", out.display());
    print!("{public}");
    println!("fingerprint (SM3): {}", key.public_key().fingerprint());
    println!(
        "give the public key and fingerprint to operators out of band; keep the private key offline (docs/releases.md)"
    );
    Ok(())
}

/// Creates `path` (never replacing a file) readable by the owner only, and writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Now as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let ms = inspay_store::now_ms();
    let seconds = ms.div_euclid(1000).rem_euclid(60);
    format!("{}:{seconds:02}Z", super::utc_date(ms).replace(' ', "T"))
}
