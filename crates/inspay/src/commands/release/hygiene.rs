//! `inspay release check`: what a release binary must not carry (clauses 5.4.3.1, 6.3.4):
//! symbols and debug information (`.symtab`, `.debug_*`), private keys, the development
//! certificates' names, published test vectors, and debug or test endpoints.
//!
//! The section table is read from the ELF headers by the reader the server's production
//! start-up uses on itself (`inspay_server::release_check::elf`); the markers are searched in
//! every byte of the file. The markers are kept reversed in this source and turned round at run time, so
//! that the checker's own binary does not carry them and can pass its own check.

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use inspay_server::release_check::elf::strip_findings;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Bytes searched at a time.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Text markers, reversed (see the module comment), with what each one means. The meanings
/// must not contain the markers themselves; the finding shows the marker found.
const TEXT_MARKERS_REVERSED: &[(&str, &str)] = &[
    ("YEK ETAVIRP NIGEB", "a PKCS#8 private key (PEM)"),
    ("YEK ETAVIRP CE NIGEB", "an EC private key (PEM)"),
    ("YEK ETAVIRP ASR NIGEB", "an RSA private key (PEM)"),
    (
        "YEK ETAVIRP DETPYRCNE NIGEB",
        "an encrypted private key (PEM)",
    ),
    ("YEK ETAVIRP HSSNEPO NIGEB", "an OpenSSH private key"),
    (
        ")noitcudorp rof ton( AC TNEMPOLEVED yapsni",
        "the development CA's name (a development certificate)",
    ),
    (
        ")noitcudorp rof ton( revres TNEMPOLEVED yapsni",
        "the development server certificate's name",
    ),
    ("/gubed/", "a debug endpoint path"),
    ("tset_/", "a test endpoint path"),
    ("forpp", "a profiling endpoint"),
];

/// Text that may come just before a marker without it being a finding: the standard library
/// looks for separate debug information under `/usr/lib/debug/.build-id/`, which is not an
/// endpoint.
const BENIGN_PREFIXES: &[&[u8]] = &[b"/usr/lib"];
/// Bytes looked at before a match, for [`BENIGN_PREFIXES`].
const CONTEXT_BEFORE_BYTES: usize = 16;
/// Bytes looked at after a match, to tell a source-file path from an endpoint.
const CONTEXT_AFTER_BYTES: usize = 128;

/// Published test vectors, as the hex of their bytes in reverse order: test data that has no
/// place in a release. The flag says whether the raw bytes are a marker too: the SM4 example's
/// bytes also occur as a standard constant in unrelated code, so only its hex text is.
const TEST_VECTORS_REVERSED_HEX: &[(&str, &str, bool)] = &[
    (
        "b8c5f74def81fb421ab5602869939388959fd3c68ae3363fb144217b8f204539",
        "the SM2 example signing scalar of GB/T 32918.5 appendix A (test vector)",
        true,
    ),
    (
        "1032547698badcfeefcdab8967452301",
        "the SM4 example of GB/T 32907 appendix A (test vector)",
        false,
    ),
];

/// `inspay release check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The built binary (ELF), e.g. target/release/inspay.
    #[arg(long)]
    pub binary: PathBuf,
}

/// A byte string to look for.
struct Marker {
    bytes: Vec<u8>,
    meaning: String,
    /// The marker as text, for the finding (none for raw bytes).
    shown: Option<String>,
}

fn markers() -> Vec<Marker> {
    let mut markers: Vec<Marker> = TEXT_MARKERS_REVERSED
        .iter()
        .map(|(reversed, meaning)| {
            let text: String = reversed.chars().rev().collect();
            Marker {
                bytes: text.clone().into_bytes(),
                meaning: (*meaning).to_string(),
                shown: Some(text),
            }
        })
        .collect();
    for (reversed, meaning, bytes_too) in TEST_VECTORS_REVERSED_HEX {
        let Ok(mut raw) = hex::decode(reversed) else {
            continue;
        };
        raw.reverse();
        markers.push(Marker {
            bytes: hex::encode(&raw).into_bytes(),
            meaning: format!("{meaning}, as hex text"),
            shown: None,
        });
        if *bytes_too {
            markers.push(Marker {
                bytes: raw,
                meaning: format!("{meaning}, as bytes"),
                shown: None,
            });
        }
    }
    markers
}

/// Runs the check.
pub fn run(args: &CheckArgs) -> anyhow::Result<()> {
    let findings = inspect(&args.binary)?;
    for finding in &findings {
        println!("  {finding}");
    }
    if !findings.is_empty() {
        anyhow::bail!(
            "{} is not fit for release: {} finding(s); build with `cargo build --release --locked` (the release profile strips symbols) and remove what is named above",
            args.binary.display(),
            findings.len()
        );
    }
    println!(
        "{}: stripped, no debug sections, no keys, test vectors or debug endpoints found",
        args.binary.display()
    );
    Ok(())
}

/// Every finding in the binary at `path`, one line each.
pub fn inspect(path: &Path) -> anyhow::Result<Vec<String>> {
    let mut file = std::fs::File::open(path).with_context(|| {
        format!(
            "cannot read {}; pass the built binary, e.g. target/release/inspay",
            path.display()
        )
    })?;
    let mut findings = strip_findings(&mut file)
        .with_context(|| format!("{} is not a readable ELF file", path.display()))?;
    file.seek(SeekFrom::Start(0))?;
    findings.extend(scan_markers(&mut file)?);
    Ok(findings)
}

/// Searches the whole file for every marker, in chunks that overlap by the longest marker.
fn scan_markers(file: &mut std::fs::File) -> anyhow::Result<Vec<String>> {
    let markers = markers();
    let longest = markers.iter().map(|m| m.bytes.len()).max().unwrap_or(1);
    let overlap = longest + CONTEXT_BEFORE_BYTES + CONTEXT_AFTER_BYTES;
    let total = file.metadata()?.len();
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("scan {bar:40} {bytes}/{total_bytes}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut found: Vec<Option<u64>> = vec![None; markers.len()];
    let mut window: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + overlap);
    let mut window_start = 0u64;
    // Every match starting below this file offset has been judged, with its context.
    let mut judged = 0u64;
    let mut chunk = vec![0u8; CHUNK_BYTES];
    loop {
        let read = file.read(&mut chunk)?;
        let last = read == 0;
        window.extend_from_slice(&chunk[..read]);
        // Matches too near the end to see their context wait for the next window.
        let limit = if last {
            window.len()
        } else {
            window.len().saturating_sub(longest + CONTEXT_AFTER_BYTES)
        };
        let from = usize::try_from(judged - window_start)?;
        for (marker, at) in markers.iter().zip(found.iter_mut()) {
            if at.is_none() {
                *at = find(&window, &marker.bytes, from..limit)
                    .map(|index| window_start + index as u64);
            }
        }
        judged = window_start + limit.max(from) as u64;
        if last {
            break;
        }
        bar.inc(read as u64);
        let keep = window.len().min(overlap);
        window_start += (window.len() - keep) as u64;
        window.drain(..window.len() - keep);
    }
    bar.finish_and_clear();
    Ok(markers
        .iter()
        .zip(found)
        .filter_map(|(marker, at)| {
            at.map(|offset| match &marker.shown {
                Some(text) => format!(
                    "{} ({text:?}) found at byte offset {offset}",
                    marker.meaning
                ),
                None => format!("{} found at byte offset {offset}", marker.meaning),
            })
        })
        .collect())
}

/// The first occurrence of `needle` starting in `starts` that is not benign: not preceded by
/// one of [`BENIGN_PREFIXES`] and not part of a source-file path (`src/x/debug/mod.rs`, as
/// panic locations carry).
fn find(haystack: &[u8], needle: &[u8], starts: std::ops::Range<usize>) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = starts.start;
    while let Some(position) = haystack
        .get(from..starts.end)?
        .iter()
        .position(|&byte| byte == first)
    {
        let start = from + position;
        if haystack.get(start + 1..start + needle.len()) == Some(rest)
            && !benign(haystack, start, needle.len())
        {
            return Some(start);
        }
        from = start + 1;
    }
    None
}

fn benign(haystack: &[u8], start: usize, length: usize) -> bool {
    let before = &haystack[start.saturating_sub(CONTEXT_BEFORE_BYTES)..start];
    if BENIGN_PREFIXES
        .iter()
        .any(|prefix| before.ends_with(prefix))
    {
        return true;
    }
    let after = &haystack[start + length..];
    let path_length = after
        .iter()
        .take(CONTEXT_AFTER_BYTES)
        .take_while(|&&byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b'/')
        })
        .count();
    after[..path_length].ends_with(b".rs")
}
