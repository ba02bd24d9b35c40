//! Release tooling as the release owner and the operator use it: the publisher key, the
//! signed manifest and its verification, the SBOM, the offline audit, the hygiene check of a
//! built binary, and the server's check of its own binary at start.

use inspay_server::config::{Profile, Settings};
use inspay_server::release_check::{self, ReleaseSettings};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn inspay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_inspay"))
        .args(args)
        .env_remove("INSPAY_CONFIG")
        .output()
        .expect("inspay runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn path(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A publisher key pair made by `inspay release keygen`: (private, public).
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    let output = inspay(&[
        "release",
        "keygen",
        "--out",
        path(&private),
        "--public-out",
        path(&public),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    (private, public)
}

/// A small release directory.
fn release_dir(root: &Path) -> PathBuf {
    let dist = root.join("dist");
    std::fs::create_dir_all(dist.join("bin")).expect("bin");
    std::fs::create_dir_all(dist.join("docs")).expect("docs");
    std::fs::write(dist.join("bin/inspay"), b"\x7fELF pretend binary").expect("binary");
    std::fs::write(dist.join("docs/operator-guide.md"), "# Operator guide\n").expect("doc");
    std::fs::write(dist.join("README.md"), "# inspay\n").expect("readme");
    dist
}

fn sign(dist: &Path, key: &Path) {
    let output = inspay(&[
        "release",
        "manifest",
        "--dir",
        path(dist),
        "--key",
        path(key),
        "--publisher",
        "inspay release owner",
        "--version",
        "9.8.7",
    ]);
    assert!(output.status.success(), "{}", text(&output));
}

fn verify(dist: &Path, public: &Path) -> Output {
    inspay(&[
        "verify-release",
        "--dir",
        path(dist),
        "--publisher-key",
        path(public),
    ])
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A release is signed by its publisher and verified file by file; one changed byte, an
/// added file, a removed file, another publisher's key and an edited manifest are each
/// refused with their own message.
/// req: 5.4.3.5, 6.3.2, 6.3.3, 6.3.5
#[test]
fn manifest_round_trip_and_every_tampering_is_refused() {
    let root = tempfile::tempdir().expect("dir");
    let (private, public) = keygen(root.path(), "publisher");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the publisher key is readable by its owner only"
        );
    }
    let again = inspay(&["release", "keygen", "--out", path(&private)]);
    assert!(
        !again.status.success(),
        "an existing key is never overwritten"
    );

    let dist = release_dir(root.path());
    sign(&dist, &private);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dist.join("MANIFEST.json")).expect("manifest"))
            .expect("JSON");
    assert_eq!(manifest["application_id"], "cn.inspay.payment-platform");
    assert_eq!(manifest["version"], "9.8.7");
    assert_eq!(manifest["publisher"]["name"], "inspay release owner");
    let paths: Vec<&str> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|file| file["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, ["README.md", "bin/inspay", "docs/operator-guide.md"]);
    let good = verify(&dist, &public);
    assert!(good.status.success(), "{}", text(&good));
    assert!(
        text(&good).contains("release verified: 3 files"),
        "{}",
        text(&good)
    );

    let case = |name: &str, change: &dyn Fn(&Path)| -> String {
        let copy = root.path().join(name);
        copy_dir(&dist, &copy);
        change(&copy);
        let output = verify(&copy, &public);
        assert!(!output.status.success(), "{name} was accepted");
        text(&output)
    };
    let said = case("byte", &|dir| {
        let file = dir.join("docs/operator-guide.md");
        let mut bytes = std::fs::read(&file).expect("read");
        bytes[2] ^= 1;
        std::fs::write(&file, bytes).expect("write");
    });
    assert!(
        said.contains("changed: docs/operator-guide.md (SM3 differs"),
        "{said}"
    );
    let said = case("added", &|dir| {
        std::fs::write(dir.join("bin/helper.so"), b"extra").expect("write")
    });
    assert!(said.contains("extra: bin/helper.so"), "{said}");
    let said = case("removed", &|dir| {
        std::fs::remove_file(dir.join("README.md")).expect("remove")
    });
    assert!(said.contains("missing: README.md"), "{said}");
    let said = case("grown", &|dir| {
        std::fs::write(dir.join("bin/inspay"), b"\x7fELF pretend binary, longer").expect("write")
    });
    assert!(said.contains("changed: bin/inspay (size"), "{said}");
    let said = case("edited-manifest", &|dir| {
        let file = dir.join("MANIFEST.json");
        let edited = std::fs::read_to_string(&file)
            .expect("read")
            .replace("9.8.7", "9.8.8");
        std::fs::write(&file, edited).expect("write");
    });
    assert!(
        said.contains("release_bad_signature") && said.contains("changed after it was signed"),
        "{said}"
    );
    let (_, other_public) = keygen(root.path(), "other");
    let output = verify(&dist, &other_public);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("wrong publisher key"),
        "{}",
        text(&output)
    );
    // Re-signed by someone else, with their fingerprint: still not the trusted publisher.
    let copy = root.path().join("resigned");
    copy_dir(&dist, &copy);
    let (other_private, _) = keygen(root.path(), "attacker");
    sign(&copy, &other_private);
    let output = verify(&copy, &public);
    assert!(
        !output.status.success() && text(&output).contains("wrong publisher key"),
        "{}",
        text(&output)
    );
}

/// Bad input to the release commands is a clear error, never a panic.
/// req: 5.4.3.5
#[test]
fn bad_release_input_is_a_clear_error() {
    let root = tempfile::tempdir().expect("dir");
    let output = verify(&root.path().join("absent"), &root.path().join("absent.pem"));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("cannot read"), "{}", text(&output));
    let not_key = root.path().join("not-key.pem");
    std::fs::write(&not_key, "hello").expect("write");
    let dist = release_dir(root.path());
    let output = inspay(&[
        "release",
        "manifest",
        "--dir",
        path(&dist),
        "--key",
        path(&not_key),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("inspay release keygen"),
        "{}",
        text(&output)
    );
    let output = inspay(&["release", "check", "--binary", path(&not_key)]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("not a readable ELF"),
        "{}",
        text(&output)
    );
    for help in [
        vec!["release", "keygen", "--help"],
        vec!["release", "manifest", "--help"],
        vec!["release", "sbom", "--help"],
        vec!["release", "audit", "--help"],
        vec!["release", "check", "--help"],
        vec!["verify-release", "--help"],
    ] {
        let output = inspay(&help);
        assert!(
            output.status.success() && text(&output).contains("Example"),
            "{help:?}: {}",
            text(&output)
        );
    }
}

fn workspace_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml")
}

/// The SBOM is CycloneDX 1.5 JSON describing inspay and its runtime dependency graph with
/// purls and crates.io checksums (dev-dependencies left out), and the current Cargo.lock
/// passes the offline audit against the advisory-db snapshot.
/// req: 5.4.1.2, 6.2.4
#[test]
fn sbom_describes_the_dependency_graph_and_passes_the_audit() {
    let root = tempfile::tempdir().expect("dir");
    let sbom = root.path().join("sbom.cdx.json");
    let output = inspay(&[
        "release",
        "sbom",
        "--out",
        path(&sbom),
        "--manifest-path",
        path(&workspace_manifest()),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let bom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sbom).expect("sbom")).expect("JSON");
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(bom["metadata"]["component"]["name"], "inspay");
    assert_eq!(
        bom["metadata"]["component"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    let components = bom["components"].as_array().expect("components");
    let tokio = components
        .iter()
        .find(|component| component["name"] == "tokio")
        .expect("tokio is a component");
    let version = tokio["version"].as_str().expect("version");
    assert_eq!(tokio["purl"], format!("pkg:cargo/tokio@{version}"));
    assert_eq!(tokio["hashes"][0]["alg"], "SHA-256");
    assert_eq!(
        tokio["hashes"][0]["content"].as_str().map(str::len),
        Some(64)
    );
    assert!(tokio["licenses"][0]["expression"].is_string());
    assert!(
        components.iter().all(|c| c["name"] != "thirtyfour"),
        "a dev-dependency is not part of the binary"
    );
    let root_ref = format!("pkg:cargo/inspay@{}", env!("CARGO_PKG_VERSION"));
    let root_dependencies = bom["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .find(|dependency| dependency["ref"] == root_ref.as_str())
        .expect("the root's dependencies");
    assert!(
        root_dependencies["dependsOn"]
            .as_array()
            .expect("dependsOn")
            .iter()
            .any(|reference| reference
                .as_str()
                .is_some_and(|r| r.starts_with("pkg:cargo/tokio@")))
    );

    let snapshot = Path::new("/work/shared/advisory-db");
    if snapshot.is_dir() {
        let output = inspay(&[
            "release",
            "audit",
            "--sbom",
            path(&sbom),
            "--advisory-db",
            path(snapshot),
        ]);
        assert!(
            output.status.success(),
            "the current Cargo.lock fails the audit: {}",
            text(&output)
        );
    }
}

fn advisory(db: &Path, package: &str, id: &str, extra: &str, versions: &str) {
    let dir = db.join("crates").join(package);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join(format!("{id}.md")),
        format!(
            "```toml\n[advisory]\nid = \"{id}\"\npackage = \"{package}\"\ndate = \"2026-01-01\"\n{extra}\n[versions]\n{versions}\n```\n\n# Something bad in {package}\n\nDetails.\n"
        ),
    )
    .expect("advisory");
}

fn sbom_with(dir: &Path, components: &[(&str, &str)]) -> PathBuf {
    let file = dir.join("sbom.json");
    let components: Vec<serde_json::Value> = components
        .iter()
        .map(|(name, version)| serde_json::json!({"type": "library", "name": name, "version": version}))
        .collect();
    std::fs::write(
        &file,
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components})
            .to_string(),
    )
    .expect("sbom");
    file
}

/// The offline audit flags a version no patched or unaffected range covers (naming id,
/// package, version, title and fix) and passes a patched one; withdrawn and informational
/// advisories do not fail a release.
/// req: 5.4.1.2
#[test]
fn audit_flags_vulnerable_versions_and_passes_patched_ones() {
    let root = tempfile::tempdir().expect("dir");
    let db = root.path().join("advisory-db");
    advisory(
        &db,
        "tokio",
        "RUSTSEC-2099-0001",
        "",
        "patched = [\">= 1.38.2, < 1.39.0\", \">= 1.44.2\"]\nunaffected = [\"< 0.2.5\"]",
    );
    advisory(
        &db,
        "serde",
        "RUSTSEC-2099-0002",
        "withdrawn = \"2099-02-01\"",
        "patched = []",
    );
    advisory(
        &db,
        "serde",
        "RUSTSEC-2099-0003",
        "informational = \"unmaintained\"",
        "patched = []",
    );
    let audit = |components: &[(&str, &str)]| {
        let sbom = sbom_with(root.path(), components);
        inspay(&[
            "release",
            "audit",
            "--sbom",
            path(&sbom),
            "--advisory-db",
            path(&db),
        ])
    };
    let output = audit(&[("tokio", "1.40.0"), ("serde", "1.0.0")]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("RUSTSEC-2099-0001 tokio 1.40.0: Something bad in tokio")
            && said.contains(">= 1.44.2"),
        "{said}"
    );
    assert!(
        !said.contains("RUSTSEC-2099-0002") && !said.contains("RUSTSEC-2099-0003"),
        "{said}"
    );
    for safe in ["1.44.2", "1.38.3", "0.2.4"] {
        let output = audit(&[("tokio", safe), ("serde", "1.0.0")]);
        assert!(output.status.success(), "{safe}: {}", text(&output));
    }
    let output = inspay(&[
        "release",
        "audit",
        "--sbom",
        path(&sbom_with(root.path(), &[])),
        "--advisory-db",
        path(root.path()),
    ]);
    assert!(
        text(&output).contains("not an advisory-db checkout"),
        "{}",
        text(&output)
    );
}

/// A minimal 64-bit little-endian ELF with the named sections and `payload` in a data
/// section.
fn synthetic_elf(section_names: &[&str], payload: &[u8]) -> Vec<u8> {
    let mut names = vec![0u8];
    let mut offsets = Vec::new();
    for name in section_names.iter().chain([".shstrtab"].iter()) {
        offsets.push(names.len() as u32);
        names.extend_from_slice(name.as_bytes());
        names.push(0);
    }
    let mut elf = vec![0u8; 64];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = 2; // 64-bit
    elf[5] = 1; // little-endian
    elf[6] = 1;
    let payload_at = elf.len() as u64;
    elf.extend_from_slice(payload);
    let names_at = elf.len() as u64;
    elf.extend_from_slice(&names);
    let headers_at = elf.len() as u64;
    let count = section_names.len() + 2;
    elf.extend(vec![0u8; 64]); // the null section
    for (index, name_at) in offsets.iter().enumerate() {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(&name_at.to_le_bytes());
        let is_names = index == offsets.len() - 1;
        header[4..8].copy_from_slice(&(if is_names { 3u32 } else { 1u32 }).to_le_bytes());
        let (at, size) = if is_names {
            (names_at, names.len() as u64)
        } else {
            (payload_at, payload.len() as u64)
        };
        header[24..32].copy_from_slice(&at.to_le_bytes());
        header[32..40].copy_from_slice(&size.to_le_bytes());
        elf.extend(header);
    }
    elf[0x28..0x30].copy_from_slice(&headers_at.to_le_bytes());
    elf[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    elf[0x3c..0x3e].copy_from_slice(&(count as u16).to_le_bytes());
    elf[0x3e..0x40].copy_from_slice(&((count - 1) as u16).to_le_bytes());
    elf
}

fn check(binary: &Path) -> Output {
    inspay(&["release", "check", "--binary", path(binary)])
}

/// The hygiene check refuses a binary with symbols or debug sections (the unstripped test
/// build of inspay itself), with a private key, the development certificate's name, a test
/// vector or a debug endpoint in it, and passes a clean stripped one.
/// req: 5.4.3.1, 6.3.4
#[test]
fn hygiene_check_refuses_unstripped_and_marked_binaries() {
    let output = check(Path::new(env!("CARGO_BIN_EXE_inspay")));
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("section .symtab"), "{said}");
    assert!(said.contains("section .debug_"), "{said}");

    let root = tempfile::tempdir().expect("dir");
    let clean = root.path().join("clean");
    std::fs::write(
        &clean,
        synthetic_elf(
            &[".text", ".rodata"],
            b"payments and claims; /usr/lib/debug/.build-id/ src/combinator/debug/mod.rs",
        ),
    )
    .expect("elf");
    let output = check(&clean);
    assert!(output.status.success(), "{}", text(&output));

    let pem_header = format!("{}BEGIN PRIVATE KEY{}", "-".repeat(5), "-".repeat(5));
    let development_ca = format!(
        "{} CA (not for production)",
        inspay_server::tls::DEVELOPMENT_MARKER
    );
    let vector = [
        0x39u8, 0x45, 0x20, 0x8f, 0x7b, 0x21, 0x44, 0xb1, 0x3f, 0x36, 0xe3, 0x8a, 0xc6, 0xd3, 0x9f,
        0x95, 0x88, 0x93, 0x93, 0x69, 0x28, 0x60, 0xb5, 0x1a, 0x42, 0xfb, 0x81, 0xef, 0x4d, 0xf7,
        0xc5, 0xb8,
    ];
    let cases: Vec<(&str, Vec<&str>, Vec<u8>, &str)> = vec![
        (
            "symbols",
            vec![".text", ".symtab"],
            b"x".to_vec(),
            "section .symtab",
        ),
        (
            "debug",
            vec![".text", ".debug_info"],
            b"x".to_vec(),
            "section .debug_info",
        ),
        (
            "pem",
            vec![".rodata"],
            pem_header.into_bytes(),
            "PKCS#8 private key",
        ),
        (
            "dev-ca",
            vec![".rodata"],
            development_ca.into_bytes(),
            "development CA",
        ),
        ("vector", vec![".rodata"], vector.to_vec(), "test vector"),
        (
            "vector-text",
            vec![".rodata"],
            b"0123456789abcdeffedcba9876543210".to_vec(),
            "SM4 example",
        ),
        (
            "debug-path",
            vec![".rodata"],
            b"GET /debug/vars".to_vec(),
            "debug endpoint",
        ),
        (
            "profiling",
            vec![".rodata"],
            b"/pprof/heap".to_vec(),
            "profiling endpoint",
        ),
    ];
    for (name, sections, payload, expected) in cases {
        let file = root.path().join(name);
        std::fs::write(&file, synthetic_elf(&sections, &payload)).expect("elf");
        let output = check(&file);
        let said = text(&output);
        assert_eq!(output.status.code(), Some(1), "{name}: {said}");
        assert!(said.contains(expected), "{name}: {said}");
    }
}

/// Writes a signed manifest listing `name` with the SM3 of `content` (the first key of
/// `keys`), returning (manifest file, public key file).
fn signed_manifest_for(dir: &Path, name: &str, content: &[u8]) -> (PathBuf, PathBuf) {
    let dist = dir.join("installed");
    std::fs::create_dir_all(&dist).expect("dir");
    std::fs::write(dist.join(name), content).expect("file");
    let (private, public) = keygen(dir, "publisher");
    sign(&dist, &private);
    (dist.join("MANIFEST.json"), public)
}

/// The server's start-up check: production refuses to start without the release settings,
/// and with a manifest whose digest of the running binary is wrong; a matching binary
/// passes; the development profile checks only when both settings are given.
/// req: 5.4.3.5, 6.3.6
#[test]
fn the_start_check_refuses_a_binary_the_manifest_does_not_match() {
    let root = tempfile::tempdir().expect("dir");
    let binary = std::env::current_exe().expect("this test binary");
    let name = binary
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();

    let mut production = Settings {
        profile: Profile::Production,
        ..Settings::default()
    };
    let error = release_check::check_at_start(&production)
        .expect_err("production needs the manifest")
        .to_string();
    assert!(
        error.contains("release.manifest_file") && error.contains("5.4.3.5"),
        "{error}"
    );
    let development = Settings::default();
    assert!(
        release_check::check_at_start(&development)
            .expect("nothing to check")
            .is_none()
    );

    // A manifest naming this binary, but with other bytes.
    let wrong_dir = root.path().join("wrong");
    let (manifest, public) = signed_manifest_for(&wrong_dir, &name, b"another build");
    production.release = ReleaseSettings {
        manifest_file: Some(manifest.clone()),
        publisher_key_file: Some(public.clone()),
    };
    let error = format!(
        "{:#}",
        release_check::check_at_start(&production).expect_err("a different binary")
    );
    assert!(
        error.contains("release_binary_changed")
            && error.contains("release.manifest_file")
            && error.contains("5.4.3.5"),
        "{error}"
    );
    let development = Settings {
        release: production.release.clone(),
        ..Settings::default()
    };
    assert!(release_check::check_at_start(&development).is_err());

    // The same manifest directory with this binary's real bytes passes the manifest check in
    // development; production also refuses it, because this test build is not stripped.
    let right_dir = root.path().join("right");
    let (manifest, public) =
        signed_manifest_for(&right_dir, &name, &std::fs::read(&binary).expect("binary"));
    production.release = ReleaseSettings {
        manifest_file: Some(manifest),
        publisher_key_file: Some(public),
    };
    let development = Settings {
        release: production.release.clone(),
        ..Settings::default()
    };
    let verified = release_check::check_at_start(&development)
        .expect("the binary matches")
        .expect("checked");
    assert_eq!(verified.version, "9.8.7");
    let error = format!(
        "{:#}",
        release_check::check_at_start(&production).expect_err("an unstripped binary")
    );
    assert!(
        error.contains("release_binary_not_stripped")
            && error.contains("section .symtab")
            && error.contains("5.4.3.1"),
        "{error}"
    );

    // A stripped binary that the signed manifest lists passes in production.
    let stripped_dir = root.path().join("stripped");
    let stripped = synthetic_elf(&[".text", ".rodata"], b"payments");
    let (manifest, public) = signed_manifest_for(&stripped_dir, "inspay", &stripped);
    production.release = ReleaseSettings {
        manifest_file: Some(manifest),
        publisher_key_file: Some(public),
    };
    let installed = stripped_dir.join("installed").join("inspay");
    let verified = release_check::check_binary_at_start(&production, &installed)
        .expect("a stripped, listed binary")
        .expect("checked");
    assert_eq!(verified.version, "9.8.7");
}

/// The production start-up refuses an executable that carries a symbol table or debug
/// sections even when the signed manifest lists it, naming what it found; the development
/// profile does not look.
/// req: 5.4.3.1, 5.4.3.5, 6.3.4
#[test]
fn production_start_refuses_an_unstripped_binary_the_manifest_lists() {
    let root = tempfile::tempdir().expect("dir");
    for (name, sections) in [
        ("symbols", vec![".text", ".symtab"]),
        ("debug", vec![".text", ".debug_info"]),
        ("compressed-debug", vec![".text", ".zdebug_line"]),
    ] {
        let dir = root.path().join(name);
        let elf = synthetic_elf(&sections, b"payments");
        let (manifest, public) = signed_manifest_for(&dir, "inspay", &elf);
        let release = ReleaseSettings {
            manifest_file: Some(manifest),
            publisher_key_file: Some(public),
        };
        let installed = dir.join("installed").join("inspay");
        let production = Settings {
            profile: Profile::Production,
            release: release.clone(),
            ..Settings::default()
        };
        let error = format!(
            "{:#}",
            release_check::check_binary_at_start(&production, &installed)
                .expect_err("not stripped")
        );
        assert!(
            error.contains("release check failed (release_binary_not_stripped)")
                && error.contains(&format!("section {}", sections[1]))
                && error.contains("cargo build --release"),
            "{name}: {error}"
        );
        let development = Settings {
            release,
            ..Settings::default()
        };
        assert!(
            release_check::check_binary_at_start(&development, &installed).is_ok(),
            "{name}: development checks the manifest only"
        );
    }
    // A listed file that is not ELF cannot be proved stripped: refused in production.
    let dir = root.path().join("script");
    let (manifest, public) = signed_manifest_for(&dir, "inspay", b"#!/bin/sh\necho hi\n");
    let production = Settings {
        profile: Profile::Production,
        release: ReleaseSettings {
            manifest_file: Some(manifest),
            publisher_key_file: Some(public),
        },
        ..Settings::default()
    };
    let error = format!(
        "{:#}",
        release_check::check_binary_at_start(&production, &dir.join("installed").join("inspay"))
            .expect_err("not ELF")
    );
    assert!(error.contains("cannot prove"), "{error}");
}

/// `inspay serve` verifies its own binary before it opens a listener: given a manifest that
/// does not list its bytes, it refuses to start and says why.
/// req: 5.4.3.5
#[test]
fn serve_refuses_to_start_when_its_binary_does_not_match() {
    let root = tempfile::tempdir().expect("dir");
    let (manifest, public) = signed_manifest_for(root.path(), "inspay", b"not this build");
    let data = root.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_inspay"))
        .arg("serve")
        .env_remove("INSPAY_CONFIG")
        .env("INSPAY__DATA_DIR", &data)
        .env("INSPAY__LISTEN__ADDRESS", "127.0.0.1:0")
        .env("INSPAY__RELEASE__MANIFEST_FILE", &manifest)
        .env("INSPAY__RELEASE__PUBLISHER_KEY_FILE", &public)
        .output()
        .expect("inspay runs");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains("release check failed (release_binary_changed)"),
        "{said}"
    );
    assert!(!said.contains("listening on"), "{said}");
}
