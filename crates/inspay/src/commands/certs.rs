//! `inspay certs`: SM2 certificates for the TLCP listener (issue 9; clauses 5.6.2-a1,
//! 5.6.2-a3 and 5.5.1.5). Issues a development CA and TLCP signing/encryption pairs for
//! servers and clients, describes any certificate file, and checks the configured `[tlcp]`
//! material exactly as `inspay serve` loads it.
//!
//! Everything `dev-ca` and `issue` make carries "inspay DEVELOPMENT" in its subject: the
//! production profile refuses it. Production certificates come from the operator's CA (a
//! commercial or in-house SM2 CA); `show` and `check` read them.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use inspay_server::Settings;
use inspay_tlcp::certs::{
    CaFiles, DevelopmentCa, PairFiles, Role, SubjectName, Validity, describe,
};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Certificate commands.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Make a development SM2 CA (`ca.pem`, `ca-key.pem` owner-only) in a directory.
    #[command(
        after_help = "Examples:\n  inspay certs dev-ca --out tlcp-ca\n  inspay certs dev-ca --out tlcp-ca --force   # replace an existing CA\n\nThe CA and everything it issues are marked \"inspay DEVELOPMENT\": the production profile\nrefuses them. `inspay serve` makes its own under <data_dir>/dev-tlcp/ when [tlcp] has no files."
    )]
    DevCa {
        /// The directory to write to (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The CA's common name.
        #[arg(long, default_value = "inspay TLCP development CA")]
        name: String,
        /// Replace a CA already in the directory (what it issued stops being trusted).
        #[arg(long)]
        force: bool,
    },
    /// Issue a TLCP signing/encryption certificate pair from a development CA.
    #[command(
        after_help = "Examples:\n  inspay certs issue --ca data/dev-tlcp --role client --name claims-app --out client-certs\n  inspay certs issue --ca tlcp-ca --role server --name gateway --dns pay.example.test --ip 10.0.0.5 --out tlcp-ca\n\nWrites <name>-sign.pem, <name>-sign-key.pem, <name>-enc.pem and <name>-enc-key.pem (keys\nowner-only). A client's signing certificate is what `inspay apps register --client-cert`\nbinds an application to. The TLCP listener of a development server trusts the CA in\n<data_dir>/dev-tlcp/, so pairs issued with --ca <data_dir>/dev-tlcp are accepted there."
    )]
    Issue(IssueArgs),
    /// Describe the certificates in PEM files: names, validity, algorithms, key usages, the
    /// SM3 fingerprint and whether they are development certificates.
    #[command(
        after_help = "Examples:\n  inspay certs show data/dev-tlcp/server-sign.pem data/dev-tlcp/server-enc.pem\n  inspay certs show /etc/inspay/tlcp/sign.pem --production\n\nWith --production it exits non-zero if any certificate is a development one, expired, not\nyet valid, or not SM2 with SM3."
    )]
    Show {
        /// PEM files (a file may hold a chain).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Fail on what the production profile would refuse.
        #[arg(long)]
        production: bool,
    },
    /// Load the configured [tlcp] certificates and keys as `inspay serve` does, and say
    /// whether the listener would start.
    #[command(
        after_help = "Examples:\n  inspay --config /etc/inspay/inspay.toml certs check\n  INSPAY__PROFILE=production inspay --config prod.toml certs check\n\nChecks: the files read, each key belongs to its certificate, the signing certificate allows\ndigitalSignature and the encryption certificate keyEncipherment/keyAgreement, no weak\nalgorithm, the suites, the client CA, and (production profile) no development certificate.\nWithout certificate files the development profile generates its pair, as serve would."
    )]
    Check,
}

/// `inspay certs issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The directory holding the CA (`ca.pem`, `ca-key.pem`).
    #[arg(long)]
    ca: PathBuf,
    /// What the pair is for: server or client.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// The pair's name: its common name and the start of its file names (1 to 64 of
    /// A-Z a-z 0-9 - _ .).
    #[arg(long, value_parser = parse_name)]
    name: String,
    /// A DNS name the certificate is valid for (repeatable).
    #[arg(long)]
    dns: Vec<String>,
    /// An IP address the certificate is valid for (repeatable).
    #[arg(long)]
    ip: Vec<IpAddr>,
    /// Validity in days (1 to 825).
    #[arg(long, default_value_t = 397, value_parser = clap::value_parser!(u32).range(1..=825))]
    days: u32,
    /// The directory to write to (default: the CA's directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace a pair of the same name already there.
    #[arg(long)]
    force: bool,
}

fn parse_role(text: &str) -> Result<Role, String> {
    match text {
        "server" => Ok(Role::Server),
        "client" => Ok(Role::Client),
        _ => Err("use server or client".into()),
    }
}

fn parse_name(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if (1..=64).contains(&text.len()) && text.chars().all(allowed) && !text.starts_with('.') {
        Ok(text.to_string())
    } else {
        Err("1 to 64 of A-Z a-z 0-9 - _ . (not starting with a dot)".into())
    }
}

/// Runs a certs command.
pub fn run(config: Option<&Path>, command: CertsCommand) -> anyhow::Result<()> {
    match command {
        CertsCommand::DevCa { out, name, force } => dev_ca(&out, &name, force),
        CertsCommand::Issue(args) => issue(&args),
        CertsCommand::Show { files, production } => show(&files, production),
        CertsCommand::Check => check(config),
    }
}

fn dev_ca(out: &Path, name: &str, force: bool) -> anyhow::Result<()> {
    let files = CaFiles::in_dir(out);
    if (files.certificate.exists() || files.key.exists()) && !force {
        bail!(
            "{} already holds a CA; pass --force to replace it (pairs it issued stop being trusted)",
            out.display()
        );
    }
    let ca = DevelopmentCa::generate(name)?;
    files.write(&ca)?;
    println!("development CA written (not for production):");
    println!("  certificate  {}", files.certificate.display());
    println!("  key          {}  (owner-only)", files.key.display());
    println!(
        "next: inspay certs issue --ca {} --role server --name server --dns localhost --ip 127.0.0.1",
        out.display()
    );
    Ok(())
}

fn issue(args: &IssueArgs) -> anyhow::Result<()> {
    let ca = CaFiles::in_dir(&args.ca).load().with_context(|| {
        format!(
            "cannot load the CA in {}; make one with: inspay certs dev-ca --out {}",
            args.ca.display(),
            args.ca.display()
        )
    })?;
    let out = args.out.as_deref().unwrap_or(&args.ca);
    let files = PairFiles::in_dir(out, &args.name);
    if files.paths().iter().any(|path| path.exists()) && !args.force {
        bail!(
            "a pair named {} already exists in {}; pass --force to replace it",
            args.name,
            out.display()
        );
    }
    let mut names: Vec<SubjectName> = args.dns.iter().cloned().map(SubjectName::Dns).collect();
    names.extend(args.ip.iter().copied().map(SubjectName::Ip));
    if names.is_empty() && args.role == Role::Server {
        bail!("a server pair needs at least one --dns or --ip that clients dial");
    }
    let pair = ca.issue_pair(
        &args.name,
        &names,
        args.role,
        Validity::days_from_now(args.days),
    )?;
    files.write(&pair)?;
    let summary = describe(&pair.sign.certificate_pem)?;
    println!(
        "TLCP {} pair issued (development, {} days):",
        match args.role {
            Role::Server => "server",
            Role::Client => "client",
        },
        args.days
    );
    for path in files.paths() {
        println!("  {}", path.display());
    }
    if let Some(sign) = summary.first() {
        println!(
            "  signing certificate fingerprint sm3:{}",
            hex::encode(inspay_crypto::sm3::sm3(&sign.der))
        );
    }
    if args.role == Role::Client {
        println!(
            "bind an application to it: inspay apps register ... --client-cert {}",
            files.sign_certificate.display()
        );
    }
    Ok(())
}

fn show(files: &[PathBuf], production: bool) -> anyhow::Result<()> {
    let mut refusals = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let summaries = describe(&text)
            .with_context(|| format!("{} holds no PEM certificate", path.display()))?;
        for (index, summary) in summaries.iter().enumerate() {
            println!("{} [{}]", path.display(), index);
            println!("  subject      {}", summary.subject);
            println!("  issuer       {}", summary.issuer);
            println!(
                "  valid        {} .. {}",
                summary.not_before, summary.not_after
            );
            println!("  key          {}", summary.key_type);
            println!("  signature    {}", summary.signature_algorithm);
            println!("  key usage    {}", list(&summary.key_usage));
            println!("  ext. usage   {}", list(&summary.extended_key_usage));
            if !summary.names.is_empty() {
                println!("  names        {}", summary.names.join(", "));
            }
            println!(
                "  fingerprint  sm3:{}",
                hex::encode(inspay_crypto::sm3::sm3(&summary.der))
            );
            let mut problems = Vec::new();
            if summary.development {
                problems.push("development certificate");
            }
            if summary.expired {
                problems.push("expired");
            }
            if summary.not_yet_valid {
                problems.push("not yet valid");
            }
            if summary.key_type != "SM2" || !summary.signature_algorithm.contains("SM3") {
                problems.push("not SM2 with SM3");
            }
            if problems.is_empty() {
                println!("  status       ok");
            } else {
                println!("  status       {}", problems.join(", "));
                refusals.push(format!(
                    "{} [{}]: {}",
                    path.display(),
                    index,
                    problems.join(", ")
                ));
            }
        }
    }
    if production && !refusals.is_empty() {
        bail!(
            "the production profile would refuse: {} (clause 5.6.2-a3); use certificates from \
             the operator's SM2 CA",
            refusals.join("; ")
        );
    }
    Ok(())
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

fn check(config: Option<&Path>) -> anyhow::Result<()> {
    // Only the [tlcp] part is checked here (the rest of the configuration is `serve`'s to
    // refuse), so certificates can be checked before the rest of a production file is ready.
    let settings = Settings::load(config).map_err(|error| anyhow::anyhow!("{error}"))?;
    settings
        .tlcp
        .check(settings.profile == inspay_server::Profile::Production)
        .map_err(|(setting, reason)| {
            anyhow::anyhow!("configuration refused: {setting}: {reason} (clause 5.6.2-a1)")
        })?;
    let identity = inspay_server::tlcp::listener_identity(&settings)?;
    println!(
        "TLCP listener material: ok ({} profile, {} certificates)",
        match settings.profile {
            inspay_server::Profile::Development => "development",
            inspay_server::Profile::Production => "production",
        },
        if identity.development {
            "development"
        } else {
            "operator"
        }
    );
    println!("  suites       {}", settings.tlcp.suite_names().join(", "));
    println!(
        "  TLS 1.3 SM   {}",
        if settings.tlcp.tls13_sm {
            "on (TLS_SM4_GCM_SM3)"
        } else {
            "off"
        }
    );
    println!(
        "  client certs {}",
        if settings.tlcp.require_client_certificate {
            "required"
        } else {
            "optional"
        }
    );
    if let Some(ca) = identity.development_ca {
        println!("  clients trust the development CA {}", ca.display());
    }
    if settings.tlcp.address.is_none() {
        println!("note: tlcp.address is not set, so `inspay serve` opens no TLCP listener");
    }
    Ok(())
}
