//! Signed release manifests (clauses 5.4.3.5, 6.3.2, 6.3.3): the format, the SM2 signature
//! over it, and the check `inspay serve` makes of its own binary before it opens a listener.
//!
//! A release directory holds `MANIFEST.json` (every file's path, size and SM3 digest, the
//! application identifier, version, build commit and publisher) and `MANIFEST.sig` (an SM2
//! signature over the exact manifest bytes, prefixed with [`SIGNING_DOMAIN`], and the SM3
//! fingerprint of the publisher's public key). The publisher's public key is the trust
//! anchor: the operator receives it out of band and names it in `[release]
//! publisher_key_file`; nothing in the release directory can replace it.
//!
//! In the production profile the start-up check also proves the running binary stripped (no
//! symbol table, no debug sections: clauses 5.4.3.1, 6.3.4) with the same section reader
//! that `inspay release check` uses on the artefact ([`elf`]): a binary that carries them is
//! refused even if a signed manifest lists it.

pub mod elf;

use crate::config::{Profile, Settings};
use base64::Engine;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey, Sm2Signature};
use inspay_crypto::sm3::{Sm3Digest, Sm3Hasher};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The application identifier a manifest must name (clause 6.3.5).
pub const APPLICATION_ID: &str = "cn.inspay.payment-platform";
/// The manifest's file name inside a release directory.
pub const MANIFEST_FILE_NAME: &str = "MANIFEST.json";
/// The signature's file name, next to the manifest.
pub const SIGNATURE_FILE_NAME: &str = "MANIFEST.sig";
/// The manifest format, written into the manifest and the signature file.
pub const MANIFEST_FORMAT: &str = "inspay-release-manifest-v1";
/// Prefixed to the manifest bytes before signing, so a release signature can never be
/// mistaken for (or replayed as) a signature made by the same key for another purpose.
pub const SIGNING_DOMAIN: &[u8] = b"inspay-release-manifest-v1\n";
/// The only signature algorithm: SM2 over SM3 (GB/T 32918.2, default identifier).
pub const SIGNATURE_ALGORITHM: &str = "SM2-SM3";
/// Largest manifest or signature file read, in bytes: a release lists hundreds of files, not
/// millions.
pub const MANIFEST_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Largest number of files one manifest may list.
pub const MANIFEST_FILES_MAX: usize = 100_000;
/// Bytes read at a time while hashing a file.
const HASH_CHUNK_BYTES: usize = 64 * 1024;

/// `[release]`: where the signed manifest of the installed release and the publisher's public
/// key are. Both are required in the production profile; in the development profile the
/// check runs only when both are given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReleaseSettings {
    /// `MANIFEST.json` of the installed release; `MANIFEST.sig` is read from the same
    /// directory.
    pub manifest_file: Option<PathBuf>,
    /// The publisher's SM2 public key (SPKI PEM), received out of band from the release
    /// owner, never taken from the release directory.
    pub publisher_key_file: Option<PathBuf>,
}

/// The publisher of a release (clause 6.3.3: identifiable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publisher {
    /// Who signs, e.g. "inspay release owner".
    pub name: String,
    /// SM3 fingerprint (hex) of the publisher's SPKI DER public key.
    pub key_fingerprint: String,
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Relative path with `/` separators.
    pub path: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// SM3 digest, lowercase hex.
    pub sm3: String,
}

/// The release manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// [`APPLICATION_ID`].
    pub application_id: String,
    /// The release version.
    pub version: String,
    /// The commit the release was built from.
    pub build_commit: String,
    /// Who published and signed it.
    pub publisher: Publisher,
    /// When the manifest was written, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_utc: String,
    /// Every file, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// `MANIFEST.sig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSignature {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// [`SIGNATURE_ALGORITHM`].
    pub algorithm: String,
    /// SM3 fingerprint (hex) of the key that signed.
    pub publisher_key_fingerprint: String,
    /// The DER signature, base64.
    pub signature: String,
}

/// Why a release is refused. Each variant has a stable code ([`ReleaseError::code`]).
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The signature file or the publisher key does not parse.
    #[error("{what} is not valid: {reason}")]
    Malformed {
        /// Which file.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The signature was made by another key than the one the operator trusts.
    #[error(
        "wrong publisher key: the manifest is signed by key {signed_by}, but the trusted publisher key is {trusted}; get the publisher key from the release owner, never from the release directory"
    )]
    WrongPublisher {
        /// Fingerprint named in the signature file.
        signed_by: String,
        /// Fingerprint of the trusted key.
        trusted: String,
    },
    /// The signature does not verify over the manifest bytes.
    #[error(
        "bad signature: MANIFEST.json does not match MANIFEST.sig; the manifest was changed after it was signed, do not install this release"
    )]
    BadSignature,
    /// The signed manifest is for another application or has a bad entry.
    #[error("the manifest is not acceptable: {0}")]
    BadManifest(String),
    /// The running binary is not listed in the manifest.
    #[error("the binary {binary} is not listed in the manifest (no entry named {name})")]
    BinaryNotListed {
        /// The running binary.
        binary: PathBuf,
        /// Its file name.
        name: String,
    },
    /// The binary carries a symbol table or debug sections (production only).
    #[error(
        "the binary {binary} is not stripped ({findings}); a production release is built with `cargo build --release --locked` (the release profile strips symbols and debug information) and passes `inspay release check` before it is signed (clauses 5.4.3.1, 6.3.4)"
    )]
    NotStripped {
        /// The running binary.
        binary: PathBuf,
        /// What was found, one finding after another.
        findings: String,
    },
    /// The running binary differs from every manifest entry of its name.
    #[error(
        "the binary {binary} does not match the signed manifest: its SM3 is {actual}, the manifest says {expected}"
    )]
    BinaryChanged {
        /// The running binary.
        binary: PathBuf,
        /// Its SM3 digest.
        actual: String,
        /// The manifest's digest(s) for that name.
        expected: String,
    },
}

impl ReleaseError {
    /// A stable code for scripts and logs.
    pub fn code(&self) -> &'static str {
        match self {
            ReleaseError::Unreadable { .. } => "release_unreadable",
            ReleaseError::Malformed { .. } => "release_malformed",
            ReleaseError::WrongPublisher { .. } => "release_wrong_publisher",
            ReleaseError::BadSignature => "release_bad_signature",
            ReleaseError::BadManifest(_) => "release_bad_manifest",
            ReleaseError::BinaryNotListed { .. } => "release_binary_not_listed",
            ReleaseError::BinaryChanged { .. } => "release_binary_changed",
            ReleaseError::NotStripped { .. } => "release_binary_not_stripped",
        }
    }
}

fn unreadable(path: &Path, error: impl std::fmt::Display) -> ReleaseError {
    ReleaseError::Unreadable {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

/// Reads a whole file of at most [`MANIFEST_BYTES_MAX`] bytes.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, ReleaseError> {
    let file = std::fs::File::open(path).map_err(|error| unreadable(path, error))?;
    let mut bytes = Vec::new();
    file.take(MANIFEST_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| unreadable(path, error))?;
    if bytes.len() as u64 > MANIFEST_BYTES_MAX {
        return Err(unreadable(
            path,
            format!("larger than {MANIFEST_BYTES_MAX} bytes"),
        ));
    }
    Ok(bytes)
}

/// The size and SM3 digest of a file, read in chunks; `progress` is told the bytes read.
pub fn file_digest(
    path: &Path,
    mut progress: impl FnMut(u64),
) -> std::io::Result<(u64, Sm3Digest)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sm3Hasher::new();
    let mut buffer = vec![0u8; HASH_CHUNK_BYTES];
    let mut size_bytes = 0u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size_bytes += read as u64;
        progress(read as u64);
    }
    Ok((size_bytes, hasher.finalize()))
}

/// Reads the trusted publisher public key (SPKI PEM).
pub fn read_publisher_key(path: &Path) -> Result<Sm2PublicKey, ReleaseError> {
    let bytes = read_bounded(path)?;
    let text = String::from_utf8(bytes).map_err(|_| ReleaseError::Malformed {
        what: format!("the publisher key {}", path.display()),
        reason: "not a PEM text file".into(),
    })?;
    Sm2PublicKey::from_spki_pem(&text).map_err(|_| ReleaseError::Malformed {
        what: format!("the publisher key {}", path.display()),
        reason: "expected an SM2 public key PEM (-----BEGIN PUBLIC KEY-----)".into(),
    })
}

/// Signs the exact manifest bytes (after [`SIGNING_DOMAIN`]) with the publisher key.
pub fn sign_manifest(
    manifest_bytes: &[u8],
    key: &Sm2PrivateKey,
) -> Result<ManifestSignature, inspay_crypto::CryptoError> {
    let signature = key.sign(&[SIGNING_DOMAIN, manifest_bytes].concat())?;
    Ok(ManifestSignature {
        format: MANIFEST_FORMAT.into(),
        algorithm: SIGNATURE_ALGORITHM.into(),
        publisher_key_fingerprint: key.public_key().fingerprint(),
        signature: base64::engine::general_purpose::STANDARD.encode(signature.to_der()),
    })
}

/// Checks the signature file against the trusted key and the manifest bytes, then parses
/// the manifest and checks what it claims. Only a manifest returned from here is trusted.
pub fn verify_manifest(
    manifest_bytes: &[u8],
    signature_bytes: &[u8],
    trusted: &Sm2PublicKey,
) -> Result<Manifest, ReleaseError> {
    let malformed = |reason: &str| ReleaseError::Malformed {
        what: SIGNATURE_FILE_NAME.into(),
        reason: reason.into(),
    };
    let signature: ManifestSignature = serde_json::from_slice(signature_bytes)
        .map_err(|_| malformed("expected the JSON written by `inspay release manifest`"))?;
    if signature.format != MANIFEST_FORMAT || signature.algorithm != SIGNATURE_ALGORITHM {
        return Err(malformed(&format!(
            "format {} / algorithm {} is not {MANIFEST_FORMAT} / {SIGNATURE_ALGORITHM}",
            signature.format, signature.algorithm
        )));
    }
    let trusted_fingerprint = trusted.fingerprint();
    if signature.publisher_key_fingerprint != trusted_fingerprint {
        return Err(ReleaseError::WrongPublisher {
            signed_by: signature.publisher_key_fingerprint,
            trusted: trusted_fingerprint,
        });
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature.signature.trim())
        .map_err(|_| malformed("the signature is not base64"))?;
    let parsed = Sm2Signature::from_der(&der).map_err(|_| malformed("not an SM2 DER signature"))?;
    trusted
        .verify(&[SIGNING_DOMAIN, manifest_bytes].concat(), &parsed)
        .map_err(|_| ReleaseError::BadSignature)?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|error| ReleaseError::BadManifest(format!("not a manifest: {error}")))?;
    check_manifest(&manifest, &trusted_fingerprint)?;
    Ok(manifest)
}

/// What a signed manifest must also say: this application, this publisher, safe paths.
fn check_manifest(manifest: &Manifest, fingerprint: &str) -> Result<(), ReleaseError> {
    let bad = |reason: String| Err(ReleaseError::BadManifest(reason));
    if manifest.format != MANIFEST_FORMAT {
        return bad(format!(
            "format {} is not {MANIFEST_FORMAT}",
            manifest.format
        ));
    }
    if manifest.application_id != APPLICATION_ID {
        return bad(format!(
            "application id {} is not {APPLICATION_ID}",
            manifest.application_id
        ));
    }
    if manifest.publisher.key_fingerprint != fingerprint {
        return bad("the publisher fingerprint differs from the signing key".into());
    }
    if manifest.files.len() > MANIFEST_FILES_MAX {
        return bad(format!("more than {MANIFEST_FILES_MAX} files"));
    }
    for file in &manifest.files {
        if !safe_relative_path(&file.path) {
            return bad(format!("unsafe path {:?}", file.path));
        }
    }
    Ok(())
}

/// Whether `path` is relative, `/`-separated and stays inside the release directory.
pub fn safe_relative_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Reads and verifies `manifest_file` (and the `MANIFEST.sig` next to it) against the trusted
/// key file.
pub fn load_verified(
    manifest_file: &Path,
    publisher_key_file: &Path,
) -> Result<Manifest, ReleaseError> {
    let trusted = read_publisher_key(publisher_key_file)?;
    let manifest_bytes = read_bounded(manifest_file)?;
    let signature_file = manifest_file.with_file_name(SIGNATURE_FILE_NAME);
    let signature_bytes = read_bounded(&signature_file)?;
    verify_manifest(&manifest_bytes, &signature_bytes, &trusted)
}

/// Checks that `binary` is one of the files of the signed manifest: an entry with the same
/// file name, size and SM3 digest.
pub fn verify_binary(
    manifest_file: &Path,
    publisher_key_file: &Path,
    binary: &Path,
) -> Result<Manifest, ReleaseError> {
    let manifest = load_verified(manifest_file, publisher_key_file)?;
    let name = binary
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let listed: Vec<&ManifestFile> = manifest
        .files
        .iter()
        .filter(|file| file.path.rsplit('/').next() == Some(name.as_str()))
        .collect();
    if listed.is_empty() {
        return Err(ReleaseError::BinaryNotListed {
            binary: binary.to_path_buf(),
            name,
        });
    }
    let (size_bytes, digest) =
        file_digest(binary, |_| {}).map_err(|error| unreadable(binary, error))?;
    let actual = hex::encode(digest);
    if listed
        .iter()
        .any(|file| file.size_bytes == size_bytes && file.sm3 == actual)
    {
        Ok(manifest)
    } else {
        Err(ReleaseError::BinaryChanged {
            binary: binary.to_path_buf(),
            actual,
            expected: listed
                .iter()
                .map(|file| file.sm3.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
        })
    }
}

/// Checks that `binary` is an ELF file without a symbol table or debug sections.
pub fn verify_stripped(binary: &Path) -> Result<(), ReleaseError> {
    let mut file = std::fs::File::open(binary).map_err(|error| unreadable(binary, error))?;
    let findings = elf::strip_findings(&mut file).map_err(|error| ReleaseError::Malformed {
        what: format!("the binary {}", binary.display()),
        reason: format!("{error}; cannot prove it carries no symbols or debug information"),
    })?;
    if findings.is_empty() {
        Ok(())
    } else {
        Err(ReleaseError::NotStripped {
            binary: binary.to_path_buf(),
            findings: findings.join("; "),
        })
    }
}

/// The start-up check (clause 5.4.3.5): in the production profile the running binary must
/// match the signed manifest named by `[release]` and be stripped; in the development profile
/// the manifest check runs when both settings are given. Returns the verified manifest, if the
/// check ran.
pub fn check_at_start(settings: &Settings) -> anyhow::Result<Option<Manifest>> {
    let binary = std::env::current_exe()
        .map_err(|error| anyhow::anyhow!("cannot locate the running binary: {error}"))?;
    check_binary_at_start(settings, &binary)
}

/// [`check_at_start`] on a given binary (the running one, or an installed one to check).
pub fn check_binary_at_start(
    settings: &Settings,
    binary: &Path,
) -> anyhow::Result<Option<Manifest>> {
    let release = &settings.release;
    let (manifest_file, key_file) = match (&release.manifest_file, &release.publisher_key_file) {
        (Some(manifest), Some(key)) => (manifest, key),
        (None, None) if settings.profile == Profile::Development => return Ok(None),
        (manifest, _) => {
            let missing = if manifest.is_none() {
                "release.manifest_file"
            } else {
                "release.publisher_key_file"
            };
            anyhow::bail!(
                "configuration refused: {missing}: the production profile verifies its own binary against the signed release manifest before it starts; set release.manifest_file (the MANIFEST.json of the installed release) and release.publisher_key_file (the publisher's public key) (clause 5.4.3.5)"
            );
        }
    };
    let verified = verify_binary(manifest_file, key_file, binary).and_then(|manifest| {
        if settings.profile == Profile::Production {
            verify_stripped(binary)?;
        }
        Ok(manifest)
    });
    match verified {
        Ok(manifest) => {
            tracing::info!(
                version = %manifest.version,
                commit = %manifest.build_commit,
                publisher = %manifest.publisher.name,
                "the binary matches the signed release manifest"
            );
            Ok(Some(manifest))
        }
        Err(error) => anyhow::bail!(
            "release check failed ({}): {error}; settings release.manifest_file = {}, release.publisher_key_file = {}; run `inspay verify-release` on the release directory and reinstall from a verified release (clause 5.4.3.5)",
            error.code(),
            manifest_file.display(),
            key_file.display()
        ),
    }
}
