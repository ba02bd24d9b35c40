//! `inspay release audit`: every component of an SBOM against a local copy of the RustSec
//! advisory database, offline (clause 5.4.1.2). The copy is brought up to date by the
//! operator (`git pull` on a connected machine, then copied over); inspay never fetches it.

use super::semver::{Requirement, Version};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// Largest advisory file read, in bytes.
const ADVISORY_BYTES_MAX: u64 = 256 * 1024;
/// Largest SBOM read, in bytes.
const SBOM_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// `inspay release audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The SBOM written by `inspay release sbom`.
    #[arg(long)]
    pub sbom: PathBuf,
    /// A checkout of https://github.com/rustsec/advisory-db (holding `crates/`).
    #[arg(long)]
    pub advisory_db: PathBuf,
}

/// One advisory that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// RUSTSEC id.
    pub id: String,
    /// The package.
    pub package: String,
    /// The version in use.
    pub version: String,
    /// The advisory's title.
    pub title: String,
    /// The patched ranges, or "no patched version".
    pub fix: String,
}

/// Runs the audit.
pub fn run(args: &AuditArgs) -> anyhow::Result<()> {
    let crates_dir = args.advisory_db.join("crates");
    anyhow::ensure!(
        crates_dir.is_dir(),
        "{} is not an advisory-db checkout (no crates/ directory); copy an up-to-date clone of https://github.com/rustsec/advisory-db there (docs/releases.md)",
        args.advisory_db.display()
    );
    let components = sbom_components(&args.sbom)?;
    let bar = ProgressBar::new(components.len() as u64).with_style(
        ProgressStyle::with_template("audit {bar:40} {pos}/{len} components")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut findings = Vec::new();
    let mut advisories_read = 0usize;
    for (name, version) in &components {
        let (read, found) = check_component(&crates_dir, name, version)?;
        advisories_read += read;
        findings.extend(found);
        bar.inc(1);
    }
    bar.finish_and_clear();
    for finding in &findings {
        println!(
            "  {} {} {}: {}\n      fix: upgrade to {}",
            finding.id, finding.package, finding.version, finding.title, finding.fix
        );
    }
    println!(
        "{} components checked against {advisories_read} advisories in {}",
        components.len(),
        args.advisory_db.display()
    );
    if !findings.is_empty() {
        anyhow::bail!(
            "{} vulnerable dependency version(s); upgrade them (cargo update -p <name> --precise <fixed version>) and rebuild before releasing",
            findings.len()
        );
    }
    println!("no known vulnerabilities");
    Ok(())
}

fn read_limited(path: &Path, limit: u64) -> anyhow::Result<String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut text = String::new();
    file.take(limit + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {} as text", path.display()))?;
    anyhow::ensure!(
        text.len() as u64 <= limit,
        "{} is larger than {limit} bytes",
        path.display()
    );
    Ok(text)
}

/// `(name, version)` of every component of a CycloneDX SBOM.
fn sbom_components(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = read_limited(path, SBOM_BYTES_MAX)?;
    let bom: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON; write it with `inspay release sbom`",
            path.display()
        )
    })?;
    let components = bom["components"]
        .as_array()
        .with_context(|| format!("{} has no components list", path.display()))?;
    components
        .iter()
        .map(|component| {
            let name = component["name"].as_str();
            let version = component["version"].as_str();
            match (name, version) {
                (Some(name), Some(version)) => Ok((name.to_string(), version.to_string())),
                _ => anyhow::bail!("a component of {} has no name or version", path.display()),
            }
        })
        .collect()
}

/// Checks one component against `crates/<name>/*.md`; returns how many advisories were
/// read and those that apply.
pub fn check_component(
    crates_dir: &Path,
    name: &str,
    version: &str,
) -> anyhow::Result<(usize, Vec<Finding>)> {
    // A crate name is ASCII letters, digits, `-` and `_`; anything else cannot name a
    // directory of the database (and must not walk out of it).
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        anyhow::bail!("{name:?} is not a crate name");
    }
    let dir = crates_dir.join(name);
    if !dir.is_dir() {
        return Ok((0, Vec::new()));
    }
    let parsed =
        Version::parse(version).map_err(|error| anyhow::anyhow!("{name} {version}: {error}"))?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    paths.sort();
    let mut findings = Vec::new();
    for path in &paths {
        let text = read_limited(path, ADVISORY_BYTES_MAX)?;
        let advisory = Advisory::parse(&text)
            .with_context(|| format!("cannot parse the advisory {}", path.display()))?;
        if advisory.package != name || advisory.withdrawn || advisory.informational {
            continue;
        }
        if !advisory.affects(&parsed) {
            continue;
        }
        findings.push(Finding {
            id: advisory.id,
            package: name.to_string(),
            version: version.to_string(),
            title: advisory.title,
            fix: if advisory.patched.is_empty() {
                "no patched version: replace the dependency".into()
            } else {
                advisory.patched.join(" or ")
            },
        });
    }
    Ok((paths.len(), findings))
}

/// The fields of an advisory the audit needs.
struct Advisory {
    id: String,
    package: String,
    withdrawn: bool,
    informational: bool,
    title: String,
    patched: Vec<String>,
    safe: Vec<Requirement>,
}

impl Advisory {
    /// Parses the ```toml front block and the `# Title` line after it.
    fn parse(text: &str) -> anyhow::Result<Advisory> {
        let start = text.find("```toml").context("no ```toml block")?;
        let rest = &text[start + "```toml".len()..];
        let end = rest
            .find("```")
            .context("the ```toml block is not closed")?;
        let front: toml::Value =
            toml::from_str(&rest[..end]).context("the front block is not TOML")?;
        let title = rest[end + 3..]
            .lines()
            .find_map(|line| line.strip_prefix("# "))
            .unwrap_or("(no title)")
            .trim()
            .to_string();
        let advisory = front.get("advisory").context("no [advisory] table")?;
        let text_field = |name: &str| {
            advisory
                .get(name)
                .and_then(toml::Value::as_str)
                .map(str::to_string)
                .with_context(|| format!("no advisory.{name}"))
        };
        let list = |name: &str| -> Vec<String> {
            front
                .get("versions")
                .and_then(|versions| versions.get(name))
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(toml::Value::as_str)
                .map(str::to_string)
                .collect()
        };
        let patched = list("patched");
        let mut safe = Vec::new();
        for requirement in patched.iter().chain(list("unaffected").iter()) {
            safe.push(Requirement::parse(requirement).map_err(|error| {
                anyhow::anyhow!("version requirement {requirement:?}: {error}")
            })?);
        }
        Ok(Advisory {
            id: text_field("id")?,
            package: text_field("package")?,
            withdrawn: advisory.get("withdrawn").is_some(),
            informational: advisory.get("informational").is_some(),
            title,
            patched,
            safe,
        })
    }

    /// Whether `version` is in no patched and no unaffected range.
    fn affects(&self, version: &Version) -> bool {
        !self
            .safe
            .iter()
            .any(|requirement| requirement.matches(version))
    }
}
