//! Writing, signing and verifying a release directory's manifest (clauses 5.4.3.5, 6.3.2,
//! 6.3.3). The format and the signature live in `inspay_server::release_check`, which the
//! server's start-up check shares.

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_server::release_check::{
    self, APPLICATION_ID, MANIFEST_FILE_NAME, MANIFEST_FILES_MAX, MANIFEST_FORMAT, Manifest,
    ManifestFile, Publisher, SIGNATURE_FILE_NAME,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Directory levels followed below the release directory.
const DEPTH_MAX: usize = 16;

/// `inspay release manifest`.
#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// The release directory; every file under it is listed.
    #[arg(long)]
    pub dir: PathBuf,
    /// The publisher's SM2 private key (PKCS#8 PEM, from `inspay release keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// The publisher's name, recorded in the manifest.
    #[arg(long, default_value = "inspay release owner")]
    pub publisher: String,
    /// The release version (default: this binary's version).
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    pub version: String,
    /// The build commit (default: the commit this binary was built from).
    #[arg(long, default_value = env!("INSPAY_BUILD_COMMIT"))]
    pub commit: String,
}

/// Writes and signs the manifest.
pub fn run(args: &ManifestArgs) -> anyhow::Result<()> {
    let pem = zeroize::Zeroizing::new(std::fs::read_to_string(&args.key).with_context(|| {
        format!(
            "cannot read the publisher key {}; create one with `inspay release keygen`",
            args.key.display()
        )
    })?);
    let key = Sm2PrivateKey::from_pkcs8_pem(&pem).map_err(|_| {
        anyhow::anyhow!(
            "{} is not an SM2 private key (PKCS#8 PEM); create one with `inspay release keygen`",
            args.key.display()
        )
    })?;
    let paths = list_files(&args.dir)?;
    let bar = bytes_bar(&args.dir, &paths, "hash")?;
    let mut files = Vec::with_capacity(paths.len());
    for relative in &paths {
        let full = args.dir.join(relative);
        let (size_bytes, digest) = release_check::file_digest(&full, |read| bar.inc(read))
            .with_context(|| format!("cannot read {}", full.display()))?;
        files.push(ManifestFile {
            path: relative.clone(),
            size_bytes,
            sm3: hex::encode(digest),
        });
    }
    bar.finish_and_clear();
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        application_id: APPLICATION_ID.into(),
        version: args.version.clone(),
        build_commit: args.commit.clone(),
        publisher: Publisher {
            name: args.publisher.clone(),
            key_fingerprint: key.public_key().fingerprint(),
        },
        created_utc: super::utc_now(),
        files,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest)?;
    bytes.push(b'\n');
    let signature = release_check::sign_manifest(&bytes, &key).context("cannot sign")?;
    let mut signature_bytes = serde_json::to_vec_pretty(&signature)?;
    signature_bytes.push(b'\n');
    let manifest_path = args.dir.join(MANIFEST_FILE_NAME);
    std::fs::write(&manifest_path, &bytes)
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    let signature_path = args.dir.join(SIGNATURE_FILE_NAME);
    std::fs::write(&signature_path, &signature_bytes)
        .with_context(|| format!("cannot write {}", signature_path.display()))?;
    println!(
        "{} files listed in {}, signed into {}",
        manifest.files.len(),
        manifest_path.display(),
        signature_path.display()
    );
    println!(
        "{APPLICATION_ID} {} (commit {}), publisher {} (key {})",
        manifest.version,
        manifest.build_commit,
        manifest.publisher.name,
        manifest.publisher.key_fingerprint
    );
    Ok(())
}

/// Verifies the signature, then every file; names each problem.
pub fn verify(dir: &Path, publisher_key: &Path) -> anyhow::Result<()> {
    let manifest_path = dir.join(MANIFEST_FILE_NAME);
    let manifest =
        release_check::load_verified(&manifest_path, publisher_key).map_err(|error| {
            anyhow::anyhow!(
                "release refused ({}): {error}; do not install it and ask the release owner",
                error.code()
            )
        })?;
    println!(
        "signature valid: {APPLICATION_ID} {} (commit {}), publisher {} (key {}), created {}",
        manifest.version,
        manifest.build_commit,
        manifest.publisher.name,
        manifest.publisher.key_fingerprint,
        manifest.created_utc
    );
    let present = list_files(dir)?;
    let present_set: BTreeSet<&str> = present.iter().map(String::as_str).collect();
    let mut problems = Vec::new();
    let listed: BTreeMap<&str, &ManifestFile> = manifest
        .files
        .iter()
        .map(|file| (file.path.as_str(), file))
        .collect();
    let bar = bytes_bar(
        dir,
        &present
            .iter()
            .filter(|path| listed.contains_key(path.as_str()))
            .cloned()
            .collect::<Vec<_>>(),
        "verify",
    )?;
    for file in &manifest.files {
        if !present_set.contains(file.path.as_str()) {
            problems.push(format!("missing: {} (listed in the manifest)", file.path));
            continue;
        }
        let full = dir.join(&file.path);
        let (size_bytes, digest) = release_check::file_digest(&full, |read| bar.inc(read))
            .with_context(|| format!("cannot read {}", full.display()))?;
        if size_bytes != file.size_bytes {
            problems.push(format!(
                "changed: {} (size {size_bytes} bytes, the manifest says {})",
                file.path, file.size_bytes
            ));
        } else if hex::encode(digest) != file.sm3 {
            problems.push(format!(
                "changed: {} (SM3 differs from the manifest)",
                file.path
            ));
        }
    }
    bar.finish_and_clear();
    for path in &present {
        if !listed.contains_key(path.as_str()) {
            problems.push(format!("extra: {path} (not in the manifest)"));
        }
    }
    for problem in &problems {
        println!("  {problem}");
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "release refused: {} problem(s) in {}; do not install it: get the release again from the publisher and verify it again",
            problems.len(),
            dir.display()
        );
    }
    println!(
        "release verified: {} files match the signed manifest",
        manifest.files.len()
    );
    Ok(())
}

/// A progress bar over the bytes of `paths`.
fn bytes_bar(dir: &Path, paths: &[String], verb: &str) -> anyhow::Result<ProgressBar> {
    let mut total = 0u64;
    for path in paths {
        total += std::fs::metadata(dir.join(path))
            .with_context(|| format!("cannot read {path}"))?
            .len();
    }
    Ok(ProgressBar::new(total).with_style(
        ProgressStyle::with_template(&format!(
            "{verb} {{bar:40}} {{bytes}}/{{total_bytes}} ({{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    ))
}

/// Every regular file under `dir`, as sorted `/`-separated relative paths, without the
/// manifest and its signature at the top. Symbolic links and special files are refused: a
/// release holds regular files only.
pub fn list_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    let metadata = std::fs::metadata(dir).with_context(|| {
        format!(
            "cannot read the release directory {}; pass the directory holding the release files",
            dir.display()
        )
    })?;
    anyhow::ensure!(metadata.is_dir(), "{} is not a directory", dir.display());
    let mut files = Vec::new();
    walk(dir, "", 0, &mut files)?;
    files.retain(|path| path != MANIFEST_FILE_NAME && path != SIGNATURE_FILE_NAME);
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, prefix: &str, depth: usize, files: &mut Vec<String>) -> anyhow::Result<()> {
    anyhow::ensure!(
        depth <= DEPTH_MAX,
        "{} is nested deeper than {DEPTH_MAX} levels",
        dir.display()
    );
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name();
        let name = name
            .to_str()
            .with_context(|| format!("{:?} in {} is not UTF-8", name, dir.display()))?;
        let relative = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot read {relative}"))?;
        if kind.is_dir() {
            walk(&entry.path(), &relative, depth + 1, files)?;
        } else if kind.is_file() {
            anyhow::ensure!(
                files.len() < MANIFEST_FILES_MAX,
                "more than {MANIFEST_FILES_MAX} files"
            );
            files.push(relative);
        } else {
            anyhow::bail!(
                "{relative} is a symbolic link or special file; a release holds regular files only"
            );
        }
    }
    Ok(())
}
