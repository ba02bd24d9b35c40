//! Writing files that hold secrets: readable by the owner only (mode 600), flushed to disk.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Whether an existing file may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse to write if the file exists (key ceremonies never overwrite a key).
    Refuse,
    /// Replace it (regenerated development material).
    Replace,
}

/// Writes `bytes` to `path` with mode 600 and syncs it.
pub fn write_private(path: &Path, bytes: &[u8], existing: Existing) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    match existing {
        Existing::Refuse => options.create_new(true),
        Existing::Replace => options.create(true).truncate(true),
    };
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
