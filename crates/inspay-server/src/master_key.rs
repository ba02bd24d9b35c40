//! Obtaining the master key from where the configuration says (clause 5.5.2.2).

use crate::config::{Profile, Settings};
use anyhow::{Context, bail};
use inspay_kms::master::DEVELOPMENT_MARKER;
use inspay_kms::{MasterKey, MasterKeySource};
use std::path::Path;

/// The environment variable that holds the master key for source "environment".
pub const MASTER_KEY_ENV: &str = "INSPAY_MASTER_KEY";
/// File name of the generated development master key inside the data directory.
pub const DEVELOPMENT_KEY_FILE: &str = "dev-master.key";

/// Loads the master key; in development generates one on first use. The production profile
/// refuses a development key wherever it comes from.
pub fn load(settings: &Settings) -> anyhow::Result<MasterKey> {
    let master = match settings.master_key.source.as_str() {
        "development" => development(&settings.data_dir.join(DEVELOPMENT_KEY_FILE))?,
        "file" => {
            let path = settings
                .master_key
                .file
                .as_deref()
                .context("master_key.source is \"file\" but master_key.file is not set")?;
            let text =
                zeroize::Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the master key file {}", path.display())
                })?);
            MasterKey::from_text(&text, MasterKeySource::File)?
        }
        "environment" => {
            let text = zeroize::Zeroizing::new(
                std::env::var(MASTER_KEY_ENV)
                    .with_context(|| format!("{MASTER_KEY_ENV} is not set"))?,
            );
            MasterKey::from_text(&text, MasterKeySource::Environment)?
        }
        "shares" => {
            let mut shares = vec![];
            for path in &settings.master_key.share_files {
                shares.push(zeroize::Zeroizing::new(
                    std::fs::read_to_string(path).with_context(|| {
                        format!("cannot read custodian share {}", path.display())
                    })?,
                ));
            }
            let texts: Vec<&str> = shares.iter().map(|share| share.trim()).collect();
            MasterKey::from_shares(&texts)?
        }
        other => bail!("unknown master_key.source '{other}'"),
    };
    if settings.profile == Profile::Production && master.source().is_development() {
        bail!(
            "configuration refused: the production profile will not start with a development master key \
             (clause 5.5.2.2: keys are generated and held under operator control; clause 5.6.3.2: no key \
             plaintext on the local file system). Supply the key with master_key.source = \"file\", \
             \"environment\" or \"shares\"."
        );
    }
    Ok(master)
}

fn development(path: &Path) -> anyhow::Result<MasterKey> {
    if !path.exists() {
        let master = MasterKey::generate(MasterKeySource::Development)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let text = zeroize::Zeroizing::new(format!(
            "{DEVELOPMENT_MARKER}\n{}\n",
            master.to_hex().as_str()
        ));
        crate::files::write_private(path, text.as_bytes(), crate::files::Existing::Refuse)?;
        tracing::warn!(path = %path.display(), "generated a DEVELOPMENT master key; never use it in production");
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path)?);
    Ok(MasterKey::from_text(&text, MasterKeySource::Development)?)
}
