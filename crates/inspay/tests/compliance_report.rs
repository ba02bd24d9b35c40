//! `inspay compliance report` on real installations: a fresh development data directory, one
//! whose audit log was tampered with, one whose key record was changed in the database, and
//! one with a configuration the server refuses.

mod support;

use std::path::{Path, PathBuf};
use support::cli::{execute, inspay, text};

/// The clause IDs of the repository's compliance matrix, in order.
fn matrix_ids() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compliance.md");
    let matrix = std::fs::read_to_string(path).expect("docs/compliance.md");
    matrix
        .lines()
        .filter_map(|line| {
            let id = line.strip_prefix('|')?.split('|').next()?.trim();
            id.starts_with(|c: char| c.is_ascii_digit())
                .then(|| id.to_string())
        })
        .collect()
}

/// One row of the Markdown report's table of checks.
#[derive(Debug)]
struct Row {
    clause: String,
    title: String,
    status: String,
    evidence: String,
}

fn rows(markdown: &str) -> Vec<Row> {
    markdown
        .split("## Checks")
        .nth(1)
        .expect("a Checks section")
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| Clause"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            Row {
                clause: cells[0].to_string(),
                title: cells[1].to_string(),
                status: cells[2].to_string(),
                evidence: cells[3..].join(" | "),
            }
        })
        .collect()
}

fn status_of<'a>(rows: &'a [Row], clause: &str, title_start: &str) -> Vec<&'a str> {
    rows.iter()
        .filter(|row| row.clause == clause && row.title.starts_with(title_start))
        .map(|row| row.status.as_str())
        .collect()
}

/// A data directory initialised as `inspay keys list` leaves it: the database, the
/// development master key and one active key per purpose.
fn installation() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = inspay(dir.path(), &["keys", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    dir
}

fn report(dir: &Path, extra: &[&str]) -> (std::process::Output, PathBuf) {
    let out = dir.join("report");
    let out_text = out.display().to_string();
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["compliance", "report", "--out", &out_text]);
    (inspay(dir, &args), out)
}

/// On a freshly initialised development installation the report is written as Markdown and
/// HTML, lists every clause of the compliance matrix (checked or `not-checked-here` with a
/// pointer to the matrix), flags the development profile and master key as needing
/// attention, finds one active key per purpose within its rotation period, an intact audit
/// chain, and exits 0 because nothing fails; the console shows the status bar.
/// req: 6.2.4, 6.3.1
#[test]
fn a_fresh_development_installation_is_assessed_clause_by_clause() {
    let dir = installation();
    let (output, out) = report(dir.path(), &[]);
    assert!(output.status.success(), "{}", text(&output));
    let console = String::from_utf8_lossy(&output.stdout);
    assert!(
        console.contains("pass ") && console.contains('█'),
        "{console}"
    );
    assert!(console.contains("compliance-report.html"), "{console}");

    let markdown = std::fs::read_to_string(out.join("compliance-report.md")).expect("markdown");
    let html = std::fs::read_to_string(out.join("compliance-report.html")).expect("html");
    let rows = rows(&markdown);
    let ids = matrix_ids();
    assert!(ids.len() > 100, "{}", ids.len());
    for id in &ids {
        assert!(
            rows.iter().any(|row| &row.clause == id),
            "clause {id} missing"
        );
        assert!(
            html.contains(&format!("<td>{id}</td>")),
            "clause {id} missing in HTML"
        );
    }
    for row in &rows {
        assert!(
            ids.contains(&row.clause),
            "{row:?} names no clause of the matrix"
        );
        assert!(
            ["pass", "fail", "needs-attention", "not-checked-here"].contains(&row.status.as_str()),
            "{row:?}"
        );
    }
    let unchecked = rows
        .iter()
        .find(|row| row.clause == "6.1.1")
        .expect("6.1.1 row");
    assert_eq!(unchecked.status, "not-checked-here");
    assert!(
        unchecked.evidence.contains("docs/compliance.md"),
        "{unchecked:?}"
    );

    assert_eq!(
        status_of(&rows, "4-c", "Deployment profile"),
        ["needs-attention"]
    );
    assert_eq!(
        status_of(&rows, "5.5.2.2", "Master key source"),
        ["needs-attention"]
    );
    let keys = status_of(&rows, "5.5.2.1", "Active key and rotation");
    assert_eq!(keys.len(), 8, "{keys:?}");
    assert!(keys.iter().all(|status| *status == "pass"), "{keys:?}");
    assert_eq!(
        status_of(&rows, "5.4.4.2", "Audit log chain intact"),
        ["pass"]
    );
    assert_eq!(status_of(&rows, "5.6.1-b", "Stored records"), ["pass"]);
    assert_eq!(
        status_of(&rows, "5.5.1.2", "No refused algorithm"),
        ["pass"]
    );
    assert_eq!(status_of(&rows, "5.6.2-e", "Anti-replay"), ["pass"]);
    assert!(!rows.iter().any(|row| row.status == "fail"), "{markdown}");
    assert!(markdown.contains("## Summary"), "{markdown}");

    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
    assert!(!html.contains("<script"), "no scripts in the HTML report");
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "self-contained"
    );
}

/// An audit log changed in the database fails the tamper-evidence check: the row says
/// `fail` with the entry that was changed, and the exit status is 1.
/// req: 6.2.4, 5.4.4.2
#[test]
fn a_tampered_audit_log_fails_the_report() {
    let dir = installation();
    execute(dir.path(), "DROP TRIGGER audit_log_no_update");
    assert_eq!(
        execute(
            dir.path(),
            "UPDATE audit_log SET outcome = 'denied' WHERE seq = 2"
        ),
        1
    );
    let (output, out) = report(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("check(s) failed"),
        "{}",
        text(&output)
    );
    let markdown = std::fs::read_to_string(out.join("compliance-report.md")).expect("markdown");
    let rows = rows(&markdown);
    assert_eq!(
        status_of(&rows, "5.4.4.2", "Audit log chain intact"),
        ["fail"]
    );
    let chain = rows
        .iter()
        .find(|row| row.title.starts_with("Audit log chain"))
        .expect("chain row");
    assert!(chain.evidence.contains("entry #2"), "{chain:?}");
}

/// A key record made to look overdue for rotation directly in the database fails: its MAC
/// no longer matches, so the keys cannot be trusted (5.5.2.1), and the exit status is 1.
/// req: 6.3.1, 5.5.2.1
#[test]
fn a_key_record_changed_in_the_database_fails_the_report() {
    let dir = installation();
    execute(
        dir.path(),
        "UPDATE data_keys SET rotate_after_ms = 1000 WHERE purpose = 'field-encryption'",
    );
    let (output, out) = report(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let markdown = std::fs::read_to_string(out.join("compliance-report.md")).expect("markdown");
    let rows = rows(&markdown);
    let failing: Vec<&Row> = rows
        .iter()
        .filter(|row| row.clause == "5.5.2.1" && row.status == "fail")
        .collect();
    assert!(!failing.is_empty(), "{markdown}");
}

/// A configuration the server refuses fails the report under the clause the refusal names,
/// and text from the configuration is escaped in the HTML report (no markup gets through).
/// req: 6.2.4
#[test]
fn a_refused_setting_fails_and_its_text_is_escaped() {
    let dir = installation();
    let config = dir.path().join("inspay.toml");
    std::fs::write(&config, "[tls]\ncipher_suites = [\"<b>weak</b>\"]\n").expect("config");
    let config_text = config.display().to_string();
    let (output, out) = report(dir.path(), &["--config", &config_text]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let markdown = std::fs::read_to_string(out.join("compliance-report.md")).expect("markdown");
    let rows = rows(&markdown);
    assert_eq!(status_of(&rows, "5.6.2-a2", "TLS cipher suites"), ["fail"]);
    assert!(
        rows.iter()
            .any(|row| row.title.starts_with("Settings pass") && row.status == "fail"),
        "{markdown}"
    );
    let html = std::fs::read_to_string(out.join("compliance-report.html")).expect("html");
    assert!(html.contains("&lt;b&gt;weak&lt;/b&gt;"), "{html}");
    assert!(
        !html.contains("<b>weak"),
        "unescaped text in the HTML report"
    );
    assert!(
        !markdown.contains("<b>weak"),
        "unescaped text in the Markdown report"
    );
}

/// The report runs the release self-check `inspay serve` runs before it starts: a development
/// installation without a manifest needs attention, and a signed manifest that does not list
/// this binary fails clause 5.4.3.5 (and the report exits 1), as `serve` would refuse to start.
/// req: 5.4.3.5, 6.2.4
#[test]
fn the_release_self_check_is_part_of_the_report() {
    let dir = installation();
    let (output, out) = report(dir.path(), &[]);
    assert!(output.status.success(), "{}", text(&output));
    let markdown = std::fs::read_to_string(out.join("compliance-report.md")).expect("markdown");
    assert_eq!(
        status_of(&rows(&markdown), "5.4.3.5", "This binary matches"),
        ["needs-attention"]
    );

    let release = dir.path().join("dist");
    std::fs::create_dir_all(&release).expect("dist");
    std::fs::write(release.join("README"), b"not the binary").expect("file");
    let key = dir.path().join("publisher-key.pem");
    let public = dir.path().join("publisher.pub.pem");
    let (key_text, public_text, release_text) = (
        key.display().to_string(),
        public.display().to_string(),
        release.display().to_string(),
    );
    let keygen = inspay(
        dir.path(),
        &[
            "release",
            "keygen",
            "--out",
            &key_text,
            "--public-out",
            &public_text,
        ],
    );
    assert!(keygen.status.success(), "{}", text(&keygen));
    let sign = inspay(
        dir.path(),
        &[
            "release",
            "manifest",
            "--dir",
            &release_text,
            "--key",
            &key_text,
        ],
    );
    assert!(sign.status.success(), "{}", text(&sign));
    let config = dir.path().join("inspay.toml");
    std::fs::write(
        &config,
        format!(
            "[release]\nmanifest_file = {:?}\npublisher_key_file = {:?}\n",
            release.join("MANIFEST.json").display().to_string(),
            public_text
        ),
    )
    .expect("config");
    let config_text = config.display().to_string();
    let (output, out) = report(dir.path(), &["--config", &config_text]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let markdown = std::fs::read_to_string(out.join("compliance-report.md")).expect("markdown");
    assert_eq!(
        status_of(&rows(&markdown), "5.4.3.5", "This binary matches"),
        ["fail"]
    );
}

/// `compliance report --help` explains the statuses and gives an example; a missing `--out`
/// is refused with a usage message, not a panic.
/// req: 6.2.4
#[test]
fn help_has_an_example_and_bad_usage_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let help = inspay(dir.path(), &["compliance", "report", "--help"]);
    assert!(help.status.success());
    let help = text(&help);
    assert!(help.contains("Example") && help.contains("--out"), "{help}");
    assert!(help.contains("needs-attention"), "{help}");
    let missing = inspay(dir.path(), &["compliance", "report"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(text(&missing).contains("--out"), "{}", text(&missing));
}

/// The same report on PostgreSQL (`--database-url`): every query of the report runs there,
/// the keys pass and nothing fails. Skipped when `INSPAY_TEST_POSTGRES_URL` is not set.
/// req: 6.2.4
#[test]
fn the_report_reads_a_postgresql_installation() {
    let Ok(admin_url) = std::env::var("INSPAY_TEST_POSTGRES_URL") else {
        eprintln!("skipped: INSPAY_TEST_POSTGRES_URL is not set");
        return;
    };
    let name = format!("inspay_test_compliance_{}", std::process::id());
    let psql = |sql: &str| {
        std::process::Command::new("psql")
            .arg(&admin_url)
            .args(["-q", "-c", sql])
            .output()
            .expect("psql runs")
    };
    let _ = psql(&format!("DROP DATABASE IF EXISTS {name}"));
    let created = psql(&format!("CREATE DATABASE {name}"));
    assert!(created.status.success(), "{}", text(&created));
    let (server, _) = admin_url.rsplit_once('/').expect("URL ends in /DATABASE");
    let url = format!("{server}/{name}");
    let dir = tempfile::tempdir().expect("tempdir");
    let list = support::cli::command(dir.path(), &["keys", "list"])
        .env("INSPAY__DATABASE_URL", &url)
        .output()
        .expect("inspay runs");
    assert!(list.status.success(), "{}", text(&list));
    let (output, out) = report(dir.path(), &[]);
    assert!(
        !output.status.success(),
        "the empty SQLite file has no keys"
    );
    let out_text = out.display().to_string();
    let output = inspay(
        dir.path(),
        &[
            "compliance",
            "report",
            "--database-url",
            &url,
            "--out",
            &out_text,
        ],
    );
    let _ = psql(&format!("DROP DATABASE IF EXISTS {name}"));
    assert!(output.status.success(), "{}", text(&output));
    let markdown = std::fs::read_to_string(out.join("compliance-report.md")).expect("markdown");
    let rows = rows(&markdown);
    let keys = status_of(&rows, "5.5.2.1", "Active key and rotation");
    assert_eq!(keys, ["pass"; 8], "{markdown}");
    assert!(markdown.contains("Database: postgres://"), "{markdown}");
    assert!(!rows.iter().any(|row| row.status == "fail"), "{markdown}");
}
