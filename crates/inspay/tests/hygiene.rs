//! Source hygiene: the repository holds no `unsafe` code, no hard-coded secrets and no use of
//! weak algorithms (clauses 5.3.1.4 and 5.5.1.2).
//!
//! These tests read the repository's own files (those git tracks, plus new files it does not
//! ignore), so they run with `cargo test` on every change and in CI. Each scanner works on text
//! and is tried on planted snippets first, so a scanner that finds nothing has shown it could.
//!
//! The scanners are deliberately simple: a small Rust lexer tells code from comments and string
//! literals, so prose that mentions a word is not flagged, while code that uses it is. Words the
//! scanners look for are built from pieces in this file, so that it passes its own checks and
//! plain `grep` does not trip over it either.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------------------------
// What may be exempt, and why.
// ---------------------------------------------------------------------------------------------

/// Which scanner an allowance lifts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Private keys and secret-looking literals.
    Secret,
    /// Names of weak algorithms and their crates.
    WeakAlgorithm,
}

/// A file that may hold what one scanner looks for, with the reason written down.
struct Allowance {
    path: &'static str,
    check: Check,
    reason: &'static str,
}

/// Every exemption. Each path must exist (checked below), so a stale entry is noticed.
const ALLOWANCES: &[Allowance] = &[
    Allowance {
        path: "crates/inspay-crypto/tests/vectors/sm2_sign.txt",
        check: Check::Secret,
        reason: "the example private key 3945208f... of GB/T 32918.5-2017 appendix A is a \
                 published test vector, not a secret",
    },
    Allowance {
        path: "crates/inspay-crypto/src/algorithm.rs",
        check: Check::WeakAlgorithm,
        reason: "the algorithm refusal list has to name the algorithms it refuses",
    },
    Allowance {
        path: "deny.toml",
        check: Check::WeakAlgorithm,
        reason: "the cargo-deny ban list has to name the crates it bans",
    },
    Allowance {
        path: "Cargo.lock",
        check: Check::WeakAlgorithm,
        reason: "transitive dependencies are checked by cargo-deny's ban list, which names \
                 the few audited wrappers (for example sqlx-postgres's MD5 password support)",
    },
];

/// A key published in a standard as its worked example: public, so it may appear in code (in
/// known-answer tests) wherever it is needed.
struct PublishedKey {
    hex: &'static str,
    reason: &'static str,
}

/// Every published key the secret scanner lets through, with where it is published.
const PUBLISHED_KEYS: &[PublishedKey] = &[
    PublishedKey {
        hex: "0123456789abcdeffedcba9876543210",
        reason: "the SM4 example key of GB/T 32907-2016 appendix A (also RFC 8998's SM4-GCM \
                 example key)",
    },
    PublishedKey {
        hex: "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8",
        reason: "the SM2 example private key of GB/T 32918.5-2017 appendix A",
    },
];

fn published_key(value: &str) -> bool {
    let value = value.trim().to_ascii_lowercase();
    PUBLISHED_KEYS.iter().any(|key| key.hex == value)
}

fn allowed(path: &str, check: Check) -> bool {
    ALLOWANCES
        .iter()
        .any(|allowance| allowance.check == check && allowance.path == path)
}

// ---------------------------------------------------------------------------------------------
// Findings and the repository's files.
// ---------------------------------------------------------------------------------------------

/// One problem, named by file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    path: String,
    line: usize,
    what: String,
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

fn repository_root() -> PathBuf {
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

fn is_rust(path: &str) -> bool {
    extension(path) == "rs"
}

/// Configuration files: where a `password = "..."` would sit.
fn is_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        extension(path),
        "toml" | "yaml" | "yml" | "json" | "env" | "ini" | "conf" | "cfg" | "properties"
    ) || name == ".env"
        || name.starts_with(".env.")
}

/// Test code, where refusal tests may name weak algorithms: integration tests (`tests/`) and
/// out-of-line unit-test modules (`tests.rs`). Examples and benches are not exempt.
fn is_test_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.split('/').any(|part| part == "tests") || name == "tests.rs" || name.ends_with("_tests.rs")
}

/// Runs `scan` over every repository file that `select` picks and collects the findings.
fn scan_repository(
    select: impl Fn(&str) -> bool,
    scan: impl Fn(&str, &str) -> Vec<Finding>,
) -> Vec<Finding> {
    let root = repository_root();
    let files = repository_files(&root);
    assert!(
        files
            .iter()
            .any(|path| path.ends_with("crates/inspay/tests/hygiene.rs")),
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

fn assert_none(findings: &[Finding], what: &str) {
    let listed: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert!(
        listed.is_empty(),
        "{what} ({} found):\n  {}",
        listed.len(),
        listed.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// A small Rust lexer: which characters are code, which are comments, which are literals.
// ---------------------------------------------------------------------------------------------

/// A string literal (plain, raw, byte or C string) found in Rust source.
struct Literal {
    /// Index, in characters, of the literal's first character (its prefix or quote).
    start: usize,
    /// The text between the quotes, escapes left as written.
    content: String,
}

/// Rust source split into code and literals.
struct Lexed {
    /// The source with every comment and literal blanked to spaces (newlines kept), so that
    /// searching it finds code only and indexes match the source.
    code: Vec<char>,
    literals: Vec<Literal>,
    /// Index of each line's first character.
    line_starts: Vec<usize>,
}

impl Lexed {
    fn line_of(&self, index: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= index)
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn blank(code: &mut [char], from: usize, to: usize) {
    for c in &mut code[from..to] {
        if *c != '\n' {
            *c = ' ';
        }
    }
}

fn lex(source: &str) -> Lexed {
    let chars: Vec<char> = source.chars().collect();
    let mut code = chars.clone();
    let mut literals = Vec::new();
    let mut line_starts = vec![0];
    for (index, &c) in chars.iter().enumerate() {
        if c == '\n' {
            line_starts.push(index + 1);
        }
    }
    let at = |index: usize| chars.get(index).copied().unwrap_or('\0');
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let previous_is_ident = i > 0 && is_ident_char(chars[i - 1]);
        if c == '/' && at(i + 1) == '/' {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |offset| i + offset);
            blank(&mut code, i, end);
            i = end;
        } else if c == '/' && at(i + 1) == '*' {
            let end = block_comment_end(&chars, i);
            blank(&mut code, i, end);
            i = end;
        } else if let Some((quote, hashes)) = raw_string_start(&chars, i, previous_is_ident) {
            let end = raw_string_end(&chars, quote + 1, hashes);
            let content_end = end.saturating_sub(1 + hashes).max(quote + 1);
            literals.push(Literal {
                start: i,
                content: chars[quote + 1..content_end].iter().collect(),
            });
            blank(&mut code, i, end);
            i = end;
        } else if let Some(quote) = string_start(&chars, i, previous_is_ident) {
            let end = string_end(&chars, quote + 1);
            literals.push(Literal {
                start: i,
                content: chars[quote + 1..end.saturating_sub(1).max(quote + 1)]
                    .iter()
                    .collect(),
            });
            blank(&mut code, i, end);
            i = end;
        } else if c == '\'' {
            let end = char_literal_end(&chars, i);
            blank(&mut code, i, end);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    Lexed {
        code,
        literals,
        line_starts,
    }
}

/// End (exclusive) of a block comment starting at `start`; block comments nest.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < chars.len() {
        if chars[i] == '/' && chars[i + 1] == '*' {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars[i + 1] == '/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

/// `r"`, `r#"`, `br"`, `cr#"` and so on: the index of the opening quote and the number of `#`.
fn raw_string_start(chars: &[char], i: usize, previous_is_ident: bool) -> Option<(usize, usize)> {
    if previous_is_ident {
        return None;
    }
    let mut j = i;
    if matches!(chars.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some((j, hashes))
}

fn raw_string_end(chars: &[char], mut i: usize, hashes: usize) -> usize {
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    chars.len()
}

/// `"`, `b"` or `c"`: the index of the opening quote.
fn string_start(chars: &[char], i: usize, previous_is_ident: bool) -> Option<usize> {
    match chars[i] {
        '"' => Some(i),
        'b' | 'c' if !previous_is_ident && chars.get(i + 1) == Some(&'"') => Some(i + 1),
        _ => None,
    }
}

fn string_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// End of a character literal at `start`, or `start + 1` for a lifetime or label (`'a`).
fn char_literal_end(chars: &[char], start: usize) -> usize {
    let next = chars.get(start + 1).copied();
    if next == Some('\\') {
        let mut i = start + 3;
        while i < chars.len() && chars[i] != '\'' && chars[i] != '\n' {
            i += 1;
        }
        return (i + 1).min(chars.len());
    }
    if next.is_some() && chars.get(start + 2) == Some(&'\'') {
        return start + 3;
    }
    start + 1
}

/// Identifiers in code, with their character index. `r#name` raw identifiers are skipped:
/// they are names, never keywords.
fn identifiers(code: &[char]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if is_ident_char(code[i]) && (i == 0 || !is_ident_char(code[i - 1])) {
            let end = code[i..]
                .iter()
                .position(|&c| !is_ident_char(c))
                .map_or(code.len(), |offset| i + offset);
            let raw = i >= 2 && code[i - 1] == '#' && code[i - 2] == 'r';
            if !raw && !code[i].is_ascii_digit() {
                found.push((i, code[i..end].iter().collect()));
            }
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

/// The first non-blank code after `index`, for messages.
fn code_after(code: &[char], index: usize) -> String {
    code[index..]
        .iter()
        .take_while(|&&c| c != '\n')
        .take(40)
        .collect::<String>()
        .trim()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// (a) `unsafe` used as code.
// ---------------------------------------------------------------------------------------------

/// The keyword, built from pieces so this file does not hold it as one word.
fn unsafe_keyword() -> String {
    ["un", "safe"].concat()
}

/// Flags every `unsafe` token in Rust code: blocks, functions, impls, traits, extern blocks and
/// `#[unsafe(...)]` attributes alike. Comments and strings are prose and pass.
fn scan_unsafe(path: &str, source: &str) -> Vec<Finding> {
    let lexed = lex(source);
    let keyword = unsafe_keyword();
    identifiers(&lexed.code)
        .into_iter()
        .filter(|(_, name)| *name == keyword)
        .map(|(index, _)| Finding {
            path: path.to_string(),
            line: lexed.line_of(index),
            what: format!("{keyword} code: `{}`", code_after(&lexed.code, index)),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// (b) Hard-coded secrets.
// ---------------------------------------------------------------------------------------------

/// Base64 characters that must follow a private-key PEM header for it to be a key rather than a
/// mention of the format (a doc comment, an assertion on a generated key's first line).
const PEM_BODY_CHARS_MIN: usize = 40;

fn pem_dashes() -> String {
    "-".repeat(5)
}

/// Flags PEM private-key blocks: a `BEGIN ... PRIVATE KEY` header followed by key material,
/// whether on the following lines or after `\n` escapes in a string literal.
fn scan_pem_private_keys(path: &str, text: &str) -> Vec<Finding> {
    let begin = format!("{}BEGIN ", pem_dashes());
    let end_of_header = format!("PRIVATE KEY{}", pem_dashes());
    let mut findings = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (number, line) in lines.iter().enumerate() {
        let Some(begin_at) = line.find(&begin) else {
            continue;
        };
        let Some(header_len) = line[begin_at..].find(&end_of_header) else {
            continue;
        };
        let header_end = begin_at + header_len + end_of_header.len();
        let mut following = line[header_end..].to_string();
        for next in lines.iter().skip(number + 1).take(3) {
            following.push('\n');
            following.push_str(next);
        }
        if pem_body_follows(&following) {
            findings.push(Finding {
                path: path.to_string(),
                line: number + 1,
                what: format!("a PEM private key: `{}`", line[begin_at..header_end].trim()),
            });
        }
    }
    findings
}

/// Whether base64 key material comes next, once line breaks, `\n` escapes, quotes, commas and
/// string-continuation backslashes are skipped.
fn pem_body_follows(following: &str) -> bool {
    let cleaned = following
        .replace("\\n", " ")
        .replace("\\r", " ")
        .replace(['"', '\\', ','], " ");
    let body: String = cleaned
        .split_whitespace()
        .take_while(|word| word.chars().all(is_base64_char))
        .collect();
    body.chars().count() >= PEM_BODY_CHARS_MIN
}

fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_')
}

/// Hex literals at least this long (128 bits) can be keys.
const HEX_SECRET_CHARS_MIN: usize = 32;
/// Base64 literals at least this long (about 120 bits) can be keys or tokens.
const BASE64_SECRET_CHARS_MIN: usize = 20;

/// Whether a name denotes a secret: `key`, `secret`, `password`, `token` and their kin.
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "key",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "token",
        "credential",
        "private",
        "seed",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// Shannon entropy in bits per character.
fn entropy_bits_per_char(text: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in text.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let total = text.chars().count() as f64;
    counts
        .values()
        .map(|&count| {
            let p = count as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// Whether a literal looks like key material: long hex, or long base64 with mixed characters,
/// and with the spread of characters random bytes have (repeated or counting patterns fail).
fn secret_looking(value: &str) -> bool {
    let value = value.trim();
    let hex_value = value.strip_prefix("0x").unwrap_or(value);
    if hex_value.len() >= HEX_SECRET_CHARS_MIN && hex_value.chars().all(|c| c.is_ascii_hexdigit()) {
        return entropy_bits_per_char(hex_value) >= 3.0;
    }
    value.chars().count() >= BASE64_SECRET_CHARS_MIN
        && value.chars().all(is_base64_char)
        && value.chars().any(|c| c.is_ascii_digit())
        && value.chars().any(|c| c.is_ascii_alphabetic())
        && entropy_bits_per_char(value) >= 3.5
}

/// The identifier a literal is assigned to, if any: `let key = "..."`, `const KEY: &str = ...`,
/// `Config { key: "..." }`, `let key = hex("...")`. The code before the literal is read back
/// to the start of its statement, field or argument.
fn assignment_target(lexed: &Lexed, literal_start: usize) -> Option<String> {
    let code = &lexed.code;
    let mut depth = 0usize;
    let mut i = literal_start;
    while i > 0 {
        let c = code[i - 1];
        match c {
            ')' | ']' => depth += 1,
            '(' | '[' => depth = depth.saturating_sub(1),
            '}' | '{' if depth == 0 => break,
            ';' | ',' if depth == 0 => break,
            _ => {}
        }
        i -= 1;
        if literal_start - i > 300 {
            break;
        }
    }
    let prefix: String = code[i..literal_start].iter().collect();
    let operator = assignment_operator(&prefix)?;
    prefix[..operator]
        .split(|c: char| !is_ident_char(c))
        .rfind(|word| !word.is_empty())
        .map(str::to_string)
}

/// Byte index of the first `=` (not `==`, `=>`, `<=`, `>=`, `!=`) or single `:` in `prefix`.
fn assignment_operator(prefix: &str) -> Option<usize> {
    let bytes = prefix.as_bytes();
    (0..bytes.len()).find(|&i| {
        let before = if i > 0 { bytes[i - 1] } else { b' ' };
        let after = bytes.get(i + 1).copied().unwrap_or(b' ');
        match bytes[i] {
            b'=' => !matches!(before, b'=' | b'<' | b'>' | b'!') && !matches!(after, b'=' | b'>'),
            b':' => before != b':' && after != b':',
            _ => false,
        }
    })
}

/// Flags long, random-looking literals assigned to secret names in Rust code.
fn scan_rust_secrets(path: &str, source: &str) -> Vec<Finding> {
    let lexed = lex(source);
    lexed
        .literals
        .iter()
        .filter(|literal| secret_looking(&literal.content) && !published_key(&literal.content))
        .filter_map(|literal| {
            let target = assignment_target(&lexed, literal.start)?;
            secret_name(&target).then(|| Finding {
                path: path.to_string(),
                line: lexed.line_of(literal.start),
                what: format!(
                    "a secret-looking literal assigned to `{target}` ({} characters)",
                    literal.content.chars().count()
                ),
            })
        })
        .collect()
}

/// Names that hold a password in configuration.
fn password_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "passwd", "passphrase", "pwd"]
        .iter()
        .any(|word| name.contains(word))
}

/// Names that refer to a secret rather than hold it: a file, a variable, a length or a lifetime.
fn refers_to_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "_file",
        "_path",
        "_env",
        "_var",
        "_len",
        "_ttl",
        "_s",
        "_ms",
        "_min",
        "_max",
        "_hash",
        "_policy",
        "_header",
        "_id",
        "_version",
        "_algorithm",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
}

/// Values that are obviously not a real secret.
fn placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.is_empty()
        || lower.starts_with('$')
        || lower.starts_with('<')
        || lower.starts_with("{{")
        || lower.starts_with("env:")
        || matches!(lower.as_str(), "true" | "false" | "null" | "none" | "~")
        || lower.parse::<f64>().is_ok()
        || lower.chars().all(|c| matches!(c, '*' | 'x' | '.' | '-'))
        || [
            "changeme",
            "change-me",
            "change_me",
            "example",
            "placeholder",
            "redacted",
            "dummy",
            "your-",
            "your_",
            "replace",
            "secret-here",
        ]
        .iter()
        .any(|word| lower.contains(word))
}

/// Splits a configuration line into name and value: `name = "v"` (TOML, .env, INI),
/// `name: v` (YAML) or `"name": "v"` (JSON).
fn config_pair(line: &str) -> Option<(String, String)> {
    let line = line
        .trim()
        .trim_start_matches(['{', ' '])
        .trim_start_matches("export ")
        .trim_start_matches("- ");
    if line.starts_with('#') || line.starts_with("//") || line.starts_with(';') {
        return None;
    }
    let split_at = line.find(['=', ':'])?;
    let name = line[..split_at].trim().trim_matches(['"', '\'']).trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| is_ident_char(c) || matches!(c, '-' | '.'))
    {
        return None;
    }
    let value = line[split_at + 1..].trim();
    let value = value
        .split_once(" #")
        .map_or(value, |(value, _comment)| value)
        .trim()
        .trim_end_matches([',', '}'])
        .trim()
        .trim_matches(['"', '\''])
        .to_string();
    Some((name.to_string(), value))
}

/// Flags `password = "..."` with a real-looking value, and random-looking values under other
/// secret names, in configuration files.
fn scan_config_secrets(path: &str, text: &str) -> Vec<Finding> {
    text.lines()
        .enumerate()
        .filter_map(|(number, line)| {
            let (name, value) = config_pair(line)?;
            if refers_to_secret(&name) || placeholder(&value) {
                return None;
            }
            let flagged = (password_name(&name) && !value.starts_with(['{', '[']))
                || (secret_name(&name) && secret_looking(&value));
            flagged.then(|| Finding {
                path: path.to_string(),
                line: number + 1,
                what: format!("a hard-coded value for `{name}`"),
            })
        })
        .collect()
}

/// All secret scanners that apply to one file.
fn scan_secrets(path: &str, text: &str) -> Vec<Finding> {
    let mut findings = scan_pem_private_keys(path, text);
    if is_rust(path) {
        findings.extend(scan_rust_secrets(path, text));
    }
    if is_config(path) {
        findings.extend(scan_config_secrets(path, text));
    }
    findings
}

// ---------------------------------------------------------------------------------------------
// (c) Weak algorithms.
// ---------------------------------------------------------------------------------------------

/// Crates that implement refused algorithms (MD5, SHA-1, DES/3DES, RC4).
fn weak_crates() -> Vec<String> {
    vec![
        ["md", "5"].concat(),
        ["md", "-5"].concat(),
        ["sha", "1"].concat(),
        ["sha", "-1"].concat(),
        ["sha", "1_smol"].concat(),
        ["de", "s"].concat(),
        ["rc", "4"].concat(),
    ]
}

/// Tokens that name a refused algorithm once a name is lower-cased and split into words.
/// "des" and "tdes" must be whole words; the others must start one ("sha1withrsa") or follow
/// "hmac" or "with" inside one ("hmacsha1"), so that "crc4" is not RC4.
fn weak_word(word: &str) -> Option<&'static str> {
    const INSIDE: [(&str, &str); 3] = [("md5", "MD5"), ("sha1", "SHA-1"), ("rc4", "RC4")];
    const WHOLE: [(&str, &str); 4] = [
        ("des", "DES"),
        ("tdes", "3DES"),
        ("3des", "3DES"),
        ("desede", "3DES"),
    ];
    INSIDE
        .iter()
        .find(|(token, _)| {
            word.starts_with(token)
                || word.contains(&format!("hmac{token}"))
                || word.contains(&format!("with{token}"))
        })
        .or_else(|| WHOLE.iter().find(|(token, _)| word == *token))
        .map(|(_, label)| *label)
}

/// Splits a name into lower-case words at `_`, `-`, `.`, `:` and lower-to-upper case changes:
/// `TdesEde3` is `tdes ede3`, `hmac_sha1` is `hmac sha1`.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Which refused algorithm a name denotes, checking its words and the name as a whole
/// (`sha_1`, `md_5`).
fn weak_name(name: &str) -> Option<&'static str> {
    let split = words(name);
    split
        .iter()
        .find_map(|word| weak_word(word))
        .or_else(|| weak_word(&split.concat()).filter(|_| split.len() > 1))
        .filter(|_| !name.is_empty())
}

/// Literals short and unbroken enough to be an algorithm name ("hmac-sha1",
/// "TLS_RSA_WITH_RC4_128_SHA") rather than prose.
const ALGORITHM_LITERAL_CHARS_MAX: usize = 64;

fn algorithm_like(literal: &str) -> bool {
    !literal.is_empty()
        && literal.chars().count() <= ALGORITHM_LITERAL_CHARS_MAX
        && !literal.chars().any(char::is_whitespace)
}

/// Character ranges of `#[cfg(test)]` items: unit-test modules may test refusals.
fn cfg_test_ranges(code: &[char]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if code[i] == '#'
            && cfg_test_attribute(&code[i..])
            && let Some(range) = item_range(code, i)
        {
            ranges.push(range);
            i = range.1;
        } else {
            i += 1;
        }
    }
    ranges
}

/// Whether `code` starts with `#[cfg(test)]`, spaces allowed inside.
fn cfg_test_attribute(code: &[char]) -> bool {
    let attribute: String = code
        .iter()
        .take_while(|&&c| c != ']')
        .filter(|c| !c.is_whitespace())
        .collect();
    attribute == "#[cfg(test)"
}

/// The extent of the item after an attribute at `start`: up to its `;`, or its `{ ... }`.
fn item_range(code: &[char], start: usize) -> Option<(usize, usize)> {
    let open = start + code[start..].iter().position(|&c| c == '{' || c == ';')?;
    if code[open] == ';' {
        return Some((start, open + 1));
    }
    let mut depth = 0usize;
    for (offset, &c) in code[open..].iter().enumerate() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((start, open + offset + 1));
                }
            }
            _ => {}
        }
    }
    Some((start, code.len()))
}

/// Flags identifiers and algorithm-like string literals in Rust code that name a refused
/// algorithm or its crate, outside `#[cfg(test)]` items.
fn scan_rust_weak(path: &str, source: &str) -> Vec<Finding> {
    let lexed = lex(source);
    let tests = cfg_test_ranges(&lexed.code);
    let in_tests = |index: usize| tests.iter().any(|&(from, to)| from <= index && index < to);
    let mut findings: Vec<Finding> = identifiers(&lexed.code)
        .into_iter()
        .filter(|(index, _)| !in_tests(*index))
        .filter_map(|(index, name)| {
            weak_name(&name).map(|algorithm| Finding {
                path: path.to_string(),
                line: lexed.line_of(index),
                what: format!("{algorithm} named in code: `{name}`"),
            })
        })
        .collect();
    findings.extend(
        lexed
            .literals
            .iter()
            .filter(|literal| !in_tests(literal.start) && algorithm_like(&literal.content))
            .filter_map(|literal| {
                weak_name(&literal.content).map(|algorithm| Finding {
                    path: path.to_string(),
                    line: lexed.line_of(literal.start),
                    what: format!("{algorithm} named in a literal: \"{}\"", literal.content),
                })
            }),
    );
    findings
}

/// Flags dependencies on weak-algorithm crates in `Cargo.toml` (`name = ...`,
/// `x = { package = "name" }` or `[dependencies.name]`).
fn scan_manifest_weak(path: &str, text: &str) -> Vec<Finding> {
    let banned = weak_crates();
    let mut in_dependencies = false;
    let mut findings = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        let mut named: Vec<String> = Vec::new();
        if let Some(header) = trimmed.strip_prefix('[') {
            let header = header.trim_end_matches(']');
            in_dependencies = header.contains("dependencies");
            if let Some((table, name)) = header.rsplit_once('.')
                && table.ends_with("dependencies")
            {
                named.push(name.trim_matches('"').to_string());
            }
        } else if in_dependencies && let Some((name, value)) = trimmed.split_once('=') {
            named.push(name.trim().trim_matches('"').to_string());
            if let Some((_, package)) = value.split_once("package")
                && let Some(quoted) = package.split('"').nth(1)
            {
                named.push(quoted.to_string());
            }
        }
        for name in named {
            if banned.contains(&name) {
                findings.push(Finding {
                    path: path.to_string(),
                    line: number + 1,
                    what: format!("a dependency on the weak-algorithm crate `{name}`"),
                });
            }
        }
    }
    findings
}

/// Flags algorithm-like values naming a refused algorithm in configuration files.
fn scan_config_weak(path: &str, text: &str) -> Vec<Finding> {
    text.lines()
        .enumerate()
        .filter_map(|(number, line)| {
            let (name, value) = config_pair(line)?;
            let values: Vec<&str> = value
                .trim_matches(['[', ']'])
                .split(',')
                .map(|item| item.trim().trim_matches(['"', '\'']))
                .collect();
            let weak = values
                .iter()
                .filter(|item| algorithm_like(item))
                .find_map(|item| weak_name(item).map(|algorithm| (algorithm, item.to_string())))?;
            Some(Finding {
                path: path.to_string(),
                line: number + 1,
                what: format!("{} configured for `{name}`: \"{}\"", weak.0, weak.1),
            })
        })
        .collect()
}

/// All weak-algorithm scanners that apply to one file.
fn scan_weak(path: &str, text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    if is_rust(path) && !is_test_path(path) {
        findings.extend(scan_rust_weak(path, text));
    }
    if path.ends_with("Cargo.toml") {
        findings.extend(scan_manifest_weak(path, text));
    }
    if is_config(path) && !is_test_path(path) {
        findings.extend(scan_config_weak(path, text));
    }
    findings
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

/// No Rust file in the repository uses `unsafe` (blocks, functions, impls, traits, extern
/// blocks or attributes); the word in comments and strings is allowed.
/// req: 5.3.1.4
#[test]
fn no_unsafe_code() {
    let findings = scan_repository(is_rust, scan_unsafe);
    assert_none(&findings, "unsafe code outside an audited crate");
}

/// No committed file holds a PEM private key, a secret-looking literal assigned to a key,
/// secret, password or token name, or a password in a configuration file, except the
/// allow-listed published test vectors.
/// req: 5.3.1.4
#[test]
fn no_hard_coded_secrets() {
    let findings = scan_repository(|path| !allowed(path, Check::Secret), scan_secrets);
    assert_none(&findings, "hard-coded secrets");
}

/// Outside the algorithm refusal list and tests, no code, manifest or configuration names MD5,
/// SHA-1, DES/3DES or RC4, or depends on a crate implementing them.
/// req: 5.5.1.2
#[test]
fn no_weak_algorithms() {
    let findings = scan_repository(|path| !allowed(path, Check::WeakAlgorithm), scan_weak);
    assert_none(&findings, "weak algorithms");
}

/// Every allowance names an existing file and gives a reason, and every published key is
/// explained, so exemptions stay few and explained.
/// req: 5.3.1.4
#[test]
fn allowances_are_current_and_explained() {
    for key in PUBLISHED_KEYS {
        assert!(
            key.reason.len() > 20,
            "published key {} needs its source",
            key.hex
        );
        assert!(secret_looking(key.hex), "{} needs no allowance", key.hex);
    }
    let root = repository_root();
    for allowance in ALLOWANCES {
        assert!(
            root.join(allowance.path).is_file(),
            "allow-listed {} does not exist: remove its allowance",
            allowance.path
        );
        assert!(
            allowance.reason.len() > 20,
            "allowance for {} needs a reason",
            allowance.path
        );
    }
}

/// The `unsafe` scanner flags planted unsafe code (blocks, fn, impl, extern, attributes) and
/// passes the word in comments, doc comments, strings, raw strings and `unsafe_code` lints,
/// so the repository scan cannot pass by finding nothing.
/// req: 5.3.1.4
#[test]
fn unsafe_scanner_flags_planted_code() {
    let keyword = unsafe_keyword();
    let planted = [
        format!("fn f() {{\n    {keyword} {{ core::hint::unreachable_unchecked() }}\n}}\n"),
        format!("pub {keyword} fn g() {{}}\n"),
        format!("{keyword} impl Send for S {{}}\n"),
        format!("{keyword} extern \"C\" {{ fn h(); }}\n"),
        format!("#[{keyword}(no_mangle)]\npub extern \"C\" fn k() {{}}\n"),
        format!("let c = '\"'; let s = \"x\"; {keyword} {{ }}\n"),
    ];
    for snippet in &planted {
        let findings = scan_unsafe("planted.rs", snippet);
        assert_eq!(findings.len(), 1, "not flagged exactly once: {snippet}");
    }
    let located = scan_unsafe("planted.rs", &planted[0]);
    assert_eq!(located[0].line, 2);
    assert!(located[0].to_string().starts_with("planted.rs:2: "));

    let prose = format!(
        "#![forbid({keyword}_code)]\n\
         //! No {keyword} {{ here.\n\
         // {keyword} fn in a comment\n\
         /* outer /* nested {keyword} {{ */ still comment {keyword} impl */\n\
         /// The {keyword} keyword is banned.\n\
         const A: &str = \"{keyword} {{ in a string\";\n\
         const B: &str = r#\"{keyword} fn \"quoted\" in a raw string\"#;\n\
         const C: &[u8] = b\"{keyword} impl\";\n\
         fn lifetime<'a>(x: &'a str) -> &'a str {{ let _q = '{{'; x }}\n\
         let r#{keyword} = 1;\n"
    );
    assert_none(&scan_unsafe("prose.rs", &prose), "prose flagged as code");
}

/// The secret scanners flag a planted PEM private key (in a file and inside a Rust string), a
/// random hex key and a base64 token assigned to secret names, and a configured password; they
/// pass mentions of the PEM format, short or patterned literals and placeholders.
/// req: 5.3.1.4
#[test]
fn secret_scanners_flag_planted_secrets() {
    let dashes = pem_dashes();
    let body = "MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgOUUgj3shRLE/NuOK";
    let pem = format!(
        "{dashes}BEGIN PRIVATE KEY{dashes}\n{body}\n{body}\n{dashes}END PRIVATE KEY{dashes}\n"
    );
    assert_eq!(scan_secrets("planted.pem", &pem).len(), 1);
    let pem_in_rust = format!(
        "const K: &str = \"{dashes}BEGIN EC PRIVATE KEY{dashes}\\n{body}\\n{dashes}END EC \
         PRIVATE KEY{dashes}\";\n"
    );
    assert_eq!(scan_secrets("planted.rs", &pem_in_rust).len(), 1);

    // Random-looking but invented; bound to names the scanner does not watch.
    let random_hex = "3a9f0c7d52e14b68a1f3c9e07d2b5846f0e1a2b3c4d5e6f708192a3b4c5d6e7f";
    let random_base64 = "dGhpcyBpcyBub3QgYSByZWFsIHRva2VuIGJ1dCBsb29rcyBsaWtlIG9uZQ9";
    let rust_cases = [
        format!("let master_key = \"{random_hex}\";\n"),
        format!("const API_TOKEN: &str = \"{random_base64}\";\n"),
        format!("let key: [u8; 32] = hex_literal(\"{random_hex}\");\n"),
        format!("Config {{ host: \"h\", secret: \"{random_base64}\" }}\n"),
    ];
    for case in &rust_cases {
        assert_eq!(
            scan_secrets("planted.rs", case).len(),
            1,
            "not flagged: {case}"
        );
    }
    let config_cases = [
        "password = \"hunter2-but-longer\"\n",
        "database:\n  password: s3cr3t-Value\n",
        "{\"db_password\": \"correct horse\"}\n",
        "DB_PASSWORD=prod-pass-1\n",
    ];
    for case in config_cases {
        assert_eq!(
            scan_secrets("planted.toml", case).len(),
            1,
            "not flagged: {case}"
        );
    }

    let benign_rust = format!(
        "/// Parses a PKCS#8 `{dashes}BEGIN PRIVATE KEY{dashes}` PEM.\n\
         assert!(pem.starts_with(\"{dashes}BEGIN PRIVATE KEY{dashes}\"));\n\
         const CURVE_B: [u8; 32] = hex32(\"{random_hex}\");\n\
         let key = \"0000000000000000000000000000000000000000\";\n\
         let key: [u8; 16] = hex_literal(\"0123456789ABCDEFFEDCBA9876543210\");\n\
         let key_id = \"k1\";\n\
         let token = \"short\";\n"
    );
    assert_none(
        &scan_secrets("benign.rs", &benign_rust),
        "benign Rust flagged",
    );
    let benign_config = "password = \"\"\n\
                         password = \"${DB_PASSWORD}\"\n\
                         password_file = \"/run/secrets/db\"\n\
                         password: <set-me>\n\
                         token_ttl_s = 300\n\
                         api_key = \"changeme\"\n\
                         # password = \"hunter2\" in a comment\n";
    assert_none(
        &scan_secrets("benign.toml", benign_config),
        "placeholders flagged",
    );
}

/// The weak-algorithm scanner flags planted uses of MD5, SHA-1, DES and RC4 crates and names
/// (paths, types, literals, manifests, configuration) and passes prose, unrelated words
/// containing the letters and `#[cfg(test)]` modules.
/// req: 5.5.1.2
#[test]
fn weak_algorithm_scanner_flags_planted_uses() {
    let md = ["md", "5"].concat();
    let md_upper = ["Md", "5"].concat();
    let sha = ["sha", "1"].concat();
    let sha_upper = ["Sha", "1"].concat();
    let des = ["de", "s"].concat();
    let rc = ["Rc", "4"].concat();
    let rust_cases = [
        format!("use {md}::{{{md_upper}, Digest}};\n"),
        format!("let h = {sha}::{sha_upper}::new();\n"),
        format!("let c = {des}::TdesEde3::new(&k);\n"),
        format!("let s = {rc}::new(&k);\n"),
        format!("let name = \"hmac-{sha}\";\n"),
        format!(
            "const SUITE: &str = \"TLS_RSA_WITH_{}_128_SHA\";\n",
            rc.to_uppercase()
        ),
        format!("fn hmac_{sha}() {{}}\n"),
    ];
    for case in &rust_cases {
        assert!(
            !scan_weak("src/planted.rs", case).is_empty(),
            "not flagged: {case}"
        );
    }
    let manifest_cases = [
        format!("[dependencies]\n{md} = \"0.7\"\n"),
        format!("[dependencies]\nhash = {{ package = \"{sha}_smol\", version = \"1\" }}\n"),
        format!("[dev-dependencies.{des}]\nversion = \"0.8\"\n"),
    ];
    for case in &manifest_cases {
        assert_eq!(
            scan_weak("crates/x/Cargo.toml", case).len(),
            1,
            "not flagged: {case}"
        );
    }
    let config_case = format!("[signing]\nhash = \"{sha}\"\n");
    assert_eq!(scan_weak("config/base.toml", &config_case).len(), 1);

    let upper = md.to_uppercase();
    let benign = format!(
        "//! {upper} and {sha} are refused.\n\
         let message = \"{upper} is refused by clause 5.5.1.2\";\n\
         let description = describe(destination, designated);\n\
         let sm3 = Sm3::new(); let sha256 = 1; let sha512 = 2;\n\
         #[cfg(test)]\nmod tests {{\n    fn refuses() {{ check(\"{md}\"); let {sha} = 1; }}\n}}\n"
    );
    assert_none(&scan_weak("src/benign.rs", &benign), "benign code flagged");
    assert_none(
        &scan_weak("tests/refusals.rs", &format!("check(\"{md}\");\n")),
        "test file flagged",
    );
}
