//! `inspay compliance report`: the dynamic compliance self-assessment (clauses 6.2.4 and
//! 6.3.1). Where `docs/compliance.md` maps every clause to code and tests, this report
//! inspects one installation: its configuration, certificate, keys, audit log, records,
//! staff, client applications and security events, clause by clause.

mod catalogue;
mod certificate;
mod keys;
mod model;
mod render;
mod settings_checks;
mod store_checks;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_server::Settings;
use model::{Finding, Report, Status};
use std::path::{Path, PathBuf};

/// Compliance commands.
#[derive(Debug, Subcommand)]
pub enum ComplianceCommand {
    /// Check this installation clause by clause and write compliance-report.md and
    /// compliance-report.html; the exit status is 1 when any check fails.
    #[command(
        after_help = "Examples:\n  inspay compliance report --out reports/2026-11\n  inspay --config /etc/inspay/inspay.toml compliance report --out /var/lib/inspay/reports\n  INSPAY__DATABASE_URL=postgres://inspay@db.internal/inspay inspay compliance report --out ./assessment\n\nStatuses: pass; fail (breaks the clause here: exit status 1); needs-attention (act soon, exit status 0); not-checked-here (a clause about the code or the process: see docs/compliance.md)."
    )]
    Report(ReportArgs),
}

/// Arguments of `compliance report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Inspect this database instead of the configured one (`sqlite://...` or
    /// `postgres://...`; prefer INSPAY__DATABASE_URL for a URL with a password).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Directory to write compliance-report.md and compliance-report.html to (created if
    /// missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Steps the progress bar counts.
const STEPS: u64 = 7;

/// Runs a compliance command.
pub async fn run(config: Option<&Path>, command: ComplianceCommand) -> anyhow::Result<()> {
    let ComplianceCommand::Report(args) = command;
    let mut settings = Settings::load(config).map_err(|error| {
        anyhow::anyhow!("{error}; fix the configuration file or the INSPAY__ variable it names")
    })?;
    if let Some(url) = args.database_url {
        settings.database_url = url;
    }
    std::fs::create_dir_all(&args.out).with_context(|| {
        format!(
            "cannot create the output directory {}; choose a writable --out",
            args.out.display()
        )
    })?;
    let now = inspay_store::now_ms();
    let bar = ProgressBar::new(STEPS).with_style(
        ProgressStyle::with_template("checks {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let findings = checks(&settings, now, &bar).await?;
    bar.finish_and_clear();
    let report = Report {
        generated_at_ms: now,
        profile: format!("{:?}", settings.profile).to_lowercase(),
        config_file: config.map(|path| path.display().to_string()),
        database: model::redact_url(&settings.database_url()),
        findings: by_clause(findings, &catalogue::clauses()),
    };
    let markdown_path = args.out.join("compliance-report.md");
    let html_path = args.out.join("compliance-report.html");
    for (path, text) in [
        (&markdown_path, render::markdown(&report)),
        (&html_path, render::html(&report)),
    ] {
        std::fs::write(path, text)
            .with_context(|| format!("cannot write {}; check --out", path.display()))?;
    }
    print!("{}", render::console(&report));
    println!(
        "\nwritten: {} and {}",
        markdown_path.display(),
        html_path.display()
    );
    let failures = report.failures();
    if failures > 0 {
        anyhow::bail!(
            "{failures} check(s) failed; fix the rows marked fail (each names its clause and what to do) and run the report again"
        );
    }
    Ok(())
}

/// Runs every check, in the order the progress bar shows.
async fn checks(settings: &Settings, now: i64, bar: &ProgressBar) -> anyhow::Result<Vec<Finding>> {
    bar.set_message("configuration and certificate");
    let mut findings = vec![settings_checks::validation(settings)];
    findings.extend(settings_checks::profile(settings));
    findings.push(settings_checks::release(settings));
    findings.extend(settings_checks::tls_settings(settings));
    findings.push(settings_checks::secret_files(settings));
    findings.extend(certificate::check(settings, now));
    findings.push(certificate::tlcp(settings, now));
    findings.push(certificate::mutual_tls(settings));
    findings.extend(settings_checks::thresholds(settings));
    findings.push(settings_checks::idempotency());
    findings.extend(settings_checks::monitoring(settings));
    bar.inc(1);
    bar.set_message("database");
    let store = super::store(settings).await?;
    bar.inc(1);
    bar.set_message("keys");
    let keyring = match inspay_server::master_key::load(settings) {
        Ok(master) => match store.key_list(&master).await {
            Ok(records) => {
                findings.extend(keys::rows(&records, now));
                let names: Vec<String> = records.iter().map(|r| r.algorithm.clone()).collect();
                findings.push(settings_checks::algorithms(settings, &names));
                store.keyring_load(&master).await.ok()
            }
            Err(error) => {
                findings.push(key_failure(
                    "5.5.2.1",
                    "Key records intact under the master key",
                    &error,
                ));
                findings.push(settings_checks::algorithms(settings, &[]));
                None
            }
        },
        Err(error) => {
            findings.push(key_failure("5.5.2.2", "Master key loads", &error));
            findings.push(settings_checks::algorithms(settings, &[]));
            None
        }
    };
    bar.inc(1);
    bar.set_message("audit chain");
    findings.extend(
        store_checks::audit(
            &store,
            settings.keys.audit_checkpoint_interval_s,
            now,
            |_| {},
        )
        .await?,
    );
    bar.inc(1);
    bar.set_message("record integrity");
    findings.push(match &keyring {
        Some(keyring) => store_checks::records(&store, keyring).await?,
        None => Finding::new(
            "5.6.1-b",
            "Stored records match their MACs",
            Status::Fail,
            vec!["not checked: the keys could not be loaded (see the 5.5.2.1 rows)".into()],
        ),
    });
    bar.inc(1);
    bar.set_message("staff and client applications");
    findings.extend(store_checks::people(&store, now).await?);
    findings.extend(store_checks::applications(&store, now).await?);
    bar.inc(1);
    bar.set_message("security events");
    findings.push(store_checks::security_events(&store, now).await?);
    findings.extend(store_checks::database(&store).await?);
    bar.inc(1);
    Ok(findings)
}

fn key_failure(clause: &str, title: &str, error: &dyn std::fmt::Display) -> Finding {
    Finding::new(
        clause,
        title,
        Status::Fail,
        vec![
            error.to_string(),
            "the keys could not be read: check master_key in the configuration; a key record changed in the database is evidence of tampering".into(),
        ],
    )
}

/// The findings in catalogue order, with a `not-checked-here` row for every clause no check
/// covers; findings for a clause the catalogue does not list come last.
fn by_clause(findings: Vec<Finding>, clauses: &[catalogue::Clause]) -> Vec<Finding> {
    let mut rows = Vec::with_capacity(clauses.len() + findings.len());
    for clause in clauses {
        let mut covered = false;
        for finding in findings
            .iter()
            .filter(|finding| finding.clause == clause.id)
        {
            covered = true;
            rows.push(finding.clone());
        }
        if !covered {
            rows.push(Finding::new(
                &clause.id,
                &clause.title,
                Status::NotCheckedHere,
                vec![format!(
                    "a requirement on the code or the process, not on one installation's settings and data: see row {} of docs/compliance.md (matrix status: {})",
                    clause.id, clause.matrix_status
                )],
            ));
        }
    }
    rows.extend(
        findings
            .into_iter()
            .filter(|finding| !clauses.iter().any(|clause| clause.id == finding.clause)),
    );
    rows
}
