//! Findings and the repository's files: which files exist, which are Rust, configuration or
//! test code, and running a scanner over all of them.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One problem, named by file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub line: usize,
    pub what: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.what)
    }
}

/// The largest file the scanners read; anything bigger is not source.
const FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

/// Directories never scanned when git cannot list the files.
const SKIPPED_DIRECTORIES: &[&str] = &[".git", "target", "data", "node_modules"];

pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// The repository's files, relative to its root with `/` separators: what git tracks plus new
/// files it does not ignore. Without git (an unpacked source archive) every file is walked,
/// less build output and runtime data.
fn repository_files(root: &Path) -> Vec<String> {
    let listed = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .ok()
        .filter(|output| output.status.success());
    let mut files: BTreeSet<String> = match listed {
        Some(output) => String::from_utf8_lossy(&output.stdout)
            .split('\0')
            .filter(|path| !path.is_empty())
            .map(str::to_string)
            .collect(),
        None => {
            let mut found = BTreeSet::new();
            walk(root, root, &mut found);
            found
        }
    };
    // A file deleted in the work tree is still listed by git until the change is committed.
    files.retain(|path| root.join(path).is_file());
    files.into_iter().collect()
}

fn walk(root: &Path, directory: &Path, found: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIPPED_DIRECTORIES.contains(&name.as_str()) {
                walk(root, &path, found);
            }
        } else if let Ok(relative) = path.strip_prefix(root) {
            found.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// A file's text, or `None` for binary or oversized files.
fn read_text(root: &Path, path: &str) -> Option<String> {
    let full = root.join(path);
    let size = std::fs::metadata(&full).ok()?.len();
    if size > FILE_BYTES_MAX {
        return None;
    }
    let bytes = std::fs::read(&full).ok()?;
    if bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

fn extension(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => extension,
        _ => "",
    }
}

pub fn is_rust(path: &str) -> bool {
    extension(path) == "rs"
}

/// Configuration files: where a `password = "..."` would sit.
pub fn is_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        extension(path),
        "toml" | "yaml" | "yml" | "json" | "env" | "ini" | "conf" | "cfg" | "properties"
    ) || name == ".env"
        || name.starts_with(".env.")
}

/// Test code, where refusal tests may name weak algorithms: integration tests (`tests/`) and
/// out-of-line unit-test modules (`tests.rs`). Examples and benches are not exempt.
pub fn is_test_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.split('/').any(|part| part == "tests") || name == "tests.rs" || name.ends_with("_tests.rs")
}

/// Runs `scan` over every repository file that `select` picks and collects the findings.
pub fn scan_repository(
    select: impl Fn(&str) -> bool,
    scan: impl Fn(&str, &str) -> Vec<Finding>,
) -> Vec<Finding> {
    let root = repository_root();
    let files = repository_files(&root);
    assert!(
        files
            .iter()
            .any(|path| path.ends_with("crates/inspay/tests/hygiene/main.rs")),
        "the file list from {} does not hold this test: the scan would prove nothing",
        root.display()
    );
    files
        .iter()
        .filter(|path| select(path))
        .filter_map(|path| read_text(&root, path).map(|text| scan(path, &text)))
        .flatten()
        .collect()
}

pub fn assert_none(findings: &[Finding], what: &str) {
    let listed: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert!(
        listed.is_empty(),
        "{what} ({} found):\n  {}",
        listed.len(),
        listed.join("\n  ")
    );
}
