//! Source hygiene: the repository holds no `unsafe` code, no hard-coded secrets and no use of
//! weak algorithms (clauses 5.3.1.4 and 5.5.1.2).
//!
//! These tests read the repository's own files (those git tracks, plus new files it does not
//! ignore), so they run with `cargo test` on every change and in CI. Each scanner works on text
//! and is tried on planted snippets first, so a scanner that finds nothing has shown it could.
//!
//! The scanners are deliberately simple: a small Rust lexer tells code from comments and string
//! literals, so prose that mentions a word is not flagged, while code that uses it is. Words the
//! scanners look for are built from pieces in these files, so that they pass their own checks and
//! plain `grep` does not trip over them either.

mod allowances;
mod lexer;
mod repository;
mod secrets;
mod unsafe_code;
mod weak_algorithms;

use allowances::{ALLOWANCES, Check, PUBLISHED_KEYS, allowed};
use repository::{assert_none, is_rust, repository_root, scan_repository};
use secrets::{pem_dashes, scan_secrets, secret_looking};
use unsafe_code::{scan_unsafe, unsafe_keyword};
use weak_algorithms::scan_weak;

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
