//! The repository: its root, its files and the scan of every Rust file under `crates/`.

use crate::tags::{Scan, scan_source};
use crate::{FILE_BYTES_MAX, SOURCES};
use std::path::{Path, PathBuf};

pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Every `.rs` file under `directory`, relative to `root` with `/` separators, skipping build
/// output and hidden directories.
fn rust_files(root: &Path, directory: &Path, found: &mut Vec<String>) {
    let entries = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", directory.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(root, &path, found);
            }
        } else if name.ends_with(".rs")
            && entry
                .metadata()
                .is_ok_and(|meta| meta.len() <= FILE_BYTES_MAX)
            && let Ok(relative) = path.strip_prefix(root)
        {
            found.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Scans every Rust file under `crates/`.
pub fn scan_repository(root: &Path) -> Scan {
    let mut files = vec![];
    rust_files(root, &root.join(SOURCES), &mut files);
    files.sort();
    let mut scan = Scan::default();
    for file in &files {
        scan_source(file, &read(&root.join(file)), &mut scan);
    }
    scan
}
