//! `inspay release sbom`: a CycloneDX 1.5 JSON software bill of materials of the `inspay`
//! binary (clauses 5.4.1.2, 6.2.4): one component per package of its resolved dependency
//! graph (normal and build dependencies, not dev-dependencies), with purl, licence, the
//! crates.io SHA-256 checksum from Cargo.lock, and who depends on whom.
//!
//! The graph comes from `cargo metadata --locked`, run as a subprocess: this is a build-time
//! tool, run where the sources and Cargo are.

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The package the SBOM describes.
const ROOT_PACKAGE: &str = "inspay";

/// `inspay release sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// Where to write the SBOM (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// The workspace's Cargo.toml.
    #[arg(long, default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// Only dependencies for this target triple (default: the host's, from `rustc -vV`).
    #[arg(long)]
    pub target: Option<String>,
}

/// Writes the SBOM.
pub fn run(args: &SbomArgs) -> anyhow::Result<()> {
    let target = match &args.target {
        Some(target) => target.clone(),
        None => host_triple()?,
    };
    let metadata = cargo_metadata(&args.manifest_path, &target)?;
    let root = metadata["workspace_root"]
        .as_str()
        .context("cargo metadata names no workspace_root")?;
    let checksums = lock_checksums(&Path::new(root).join("Cargo.lock"))?;
    let bom = build(&metadata, &checksums, &super::utc_now(), &serial_number()?)?;
    let components = bom["components"].as_array().map_or(0, Vec::len);
    let mut text = serde_json::to_string_pretty(&bom)?;
    text.push('\n');
    std::fs::write(&args.out, text)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "SBOM (CycloneDX 1.5) of {ROOT_PACKAGE} for {target}: {components} components, written to {}",
        args.out.display()
    );
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn host_triple() -> anyhow::Result<String> {
    let output = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .context("cannot run `rustc -vV` to learn the host target; pass --target")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_string())
        .context("`rustc -vV` names no host; pass --target")
}

fn cargo_metadata(manifest_path: &Path, target: &str) -> anyhow::Result<Value> {
    let output = std::process::Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--locked", "--filter-platform"])
        .arg(target)
        .arg("--manifest-path")
        .arg(manifest_path)
        .output()
        .context("cannot run `cargo metadata`; the SBOM is written on a machine with Cargo and the sources")?;
    if !output.status.success() {
        anyhow::bail!(
            "`cargo metadata --locked` failed for {}: {}; pass the workspace's Cargo.toml with --manifest-path and make sure Cargo.lock is up to date",
            manifest_path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("cargo metadata printed no JSON")
}

/// `(name, version)` → the SHA-256 checksum Cargo.lock records for registry packages.
fn lock_checksums(path: &Path) -> anyhow::Result<BTreeMap<(String, String), String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let lock: toml::Value =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    let mut checksums = BTreeMap::new();
    for package in lock
        .get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = |name: &str| package.get(name).and_then(toml::Value::as_str);
        if let (Some(name), Some(version), Some(checksum)) =
            (field("name"), field("version"), field("checksum"))
        {
            checksums.insert(
                (name.to_string(), version.to_string()),
                checksum.to_string(),
            );
        }
    }
    Ok(checksums)
}

/// A random version-4 UUID URN for the SBOM's serial number.
fn serial_number() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    inspay_crypto::random::fill(&mut bytes).context("no randomness for the serial number")?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    Ok(format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

fn purl(name: &str, version: &str) -> String {
    format!("pkg:cargo/{name}@{version}")
}

/// The packages reachable from the root over normal and build dependencies.
fn reachable<'a>(nodes: &BTreeMap<&'a str, &'a Value>, root: &'a str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dependency in runtime_dependencies(nodes.get(id).copied()) {
            stack.push(dependency);
        }
    }
    seen
}

fn runtime_dependencies(node: Option<&Value>) -> Vec<&str> {
    node.and_then(|node| node["deps"].as_array())
        .into_iter()
        .flatten()
        .filter(|dep| {
            dep["dep_kinds"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind["kind"] != "dev"))
        })
        .filter_map(|dep| dep["pkg"].as_str())
        .collect()
}

/// The CycloneDX document.
pub fn build(
    metadata: &Value,
    checksums: &BTreeMap<(String, String), String>,
    timestamp: &str,
    serial: &str,
) -> anyhow::Result<Value> {
    let packages: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .context("cargo metadata lists no packages")?
        .iter()
        .filter_map(|package| package["id"].as_str().map(|id| (id, package)))
        .collect();
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .context("cargo metadata has no resolved graph")?
        .iter()
        .filter_map(|node| node["id"].as_str().map(|id| (id, node)))
        .collect();
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let root = members
        .iter()
        .copied()
        .find(|id| packages.get(id).is_some_and(|p| p["name"] == ROOT_PACKAGE))
        .with_context(|| format!("the workspace has no package named {ROOT_PACKAGE}"))?;
    let reference = |id: &str| {
        packages.get(id).map(|package| {
            purl(
                package["name"].as_str().unwrap_or_default(),
                package["version"].as_str().unwrap_or_default(),
            )
        })
    };
    let included = reachable(&nodes, root);
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    for id in &included {
        let Some(package) = packages.get(id) else {
            continue;
        };
        let bom_ref = reference(id).unwrap_or_default();
        if *id != root {
            components.push(component(package, checksums));
        }
        let depends_on: BTreeSet<String> = runtime_dependencies(nodes.get(id).copied())
            .into_iter()
            .filter_map(reference)
            .collect();
        dependencies.push(json!({ "ref": bom_ref, "dependsOn": depends_on }));
    }
    let root_package = packages[root];
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": { "components": [{
                "type": "application",
                "name": "inspay release sbom",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": {
                "type": "application",
                "bom-ref": reference(root),
                "name": ROOT_PACKAGE,
                "version": root_package["version"],
                "purl": reference(root),
                "description": "cn.inspay.payment-platform",
            },
        },
        "components": components,
        "dependencies": dependencies,
    }))
}

fn component(package: &Value, checksums: &BTreeMap<(String, String), String>) -> Value {
    let name = package["name"].as_str().unwrap_or_default();
    let version = package["version"].as_str().unwrap_or_default();
    let mut component = json!({
        "type": "library",
        "bom-ref": purl(name, version),
        "name": name,
        "version": version,
        "purl": purl(name, version),
    });
    if let Some(license) = package["license"].as_str() {
        component["licenses"] = json!([{ "expression": license }]);
    }
    if let Some(checksum) = checksums.get(&(name.to_string(), version.to_string())) {
        component["hashes"] = json!([{ "alg": "SHA-256", "content": checksum }]);
    }
    component
}
