//! (b) Hard-coded secrets: PEM private keys, secret-looking literals bound to secret names and
//! passwords in configuration files.

use crate::allowances::published_key;
use crate::lexer::{Lexed, is_ident_char, lex};
use crate::repository::{Finding, is_config, is_rust};

/// Base64 characters that must follow a private-key PEM header for it to be a key rather than a
/// mention of the format (a doc comment, an assertion on a generated key's first line).
const PEM_BODY_CHARS_MIN: usize = 40;

pub fn pem_dashes() -> String {
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
pub fn secret_looking(value: &str) -> bool {
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
pub fn config_pair(line: &str) -> Option<(String, String)> {
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
pub fn scan_secrets(path: &str, text: &str) -> Vec<Finding> {
    let mut findings = scan_pem_private_keys(path, text);
    if is_rust(path) {
        findings.extend(scan_rust_secrets(path, text));
    }
    if is_config(path) {
        findings.extend(scan_config_secrets(path, text));
    }
    findings
}
