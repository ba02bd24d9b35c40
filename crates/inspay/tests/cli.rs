//! The command line as an operator uses it: help on every command, version, key and audit
//! commands against a real data directory.

use std::process::{Command, Output};

fn inspay(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_inspay"))
        .args(args)
        .env("INSPAY__DATA_DIR", dir)
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

/// Every command and subcommand has `--help` with an example.
/// req: 6.2.3
#[test]
fn every_command_has_help_with_an_example() {
    let dir = tempfile::tempdir().expect("dir");
    let top = inspay(dir.path(), &["--help"]);
    assert!(top.status.success());
    #[cfg_attr(not(feature = "tlcp"), allow(unused_mut))]
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["serve"],
        vec!["version"],
        vec!["bench", "crypto"],
        vec!["bench", "password"],
        vec!["audit", "verify"],
        vec!["audit", "checkpoint"],
        vec!["keys", "list"],
        vec!["keys", "rotate"],
        vec!["keys", "rotate-due"],
        vec!["keys", "suspend"],
        vec!["keys", "resume"],
        vec!["keys", "compromise"],
        vec!["keys", "schedule-destruction"],
        vec!["keys", "cancel-destruction"],
        vec!["keys", "destroy-due"],
        vec!["keys", "rewrap"],
        vec!["keys", "export-public"],
        vec!["keys", "generate-master"],
        vec!["keys", "split-master"],
        vec!["keys", "rotate-master"],
        vec!["users", "create"],
        vec!["users", "list"],
        vec!["users", "grant"],
        vec!["users", "revoke"],
        vec!["users", "assign-customer"],
        vec!["users", "assign-claim"],
        vec!["users", "add-key"],
        vec!["users", "reactivate"],
        vec!["users", "close"],
        vec!["users", "review"],
        vec!["apps", "register"],
        vec!["apps", "list"],
        vec!["apps", "add-key"],
        vec!["apps", "revoke-key"],
        vec!["apps", "suspend"],
        vec!["apps", "resume"],
        vec!["apps", "revoke"],
        vec!["apps", "configure"],
        vec!["apps", "evidence"],
        vec!["compliance", "report"],
        vec!["contain", "freeze-account"],
        vec!["contain", "unfreeze-account"],
        vec!["contain", "pause-channel"],
        vec!["contain", "resume-channel"],
        vec!["contain", "end-all-sessions"],
        vec!["contain", "status"],
        vec!["contain", "suspend-app"],
        vec!["contain", "revoke-key"],
        vec!["db", "migrate"],
        vec!["db", "grant-runtime"],
        vec!["db", "status"],
        vec!["release", "keygen"],
        vec!["release", "manifest"],
        vec!["release", "sbom"],
        vec!["release", "audit"],
        vec!["release", "check"],
        vec!["verify-release"],
    ];
    #[cfg(feature = "tlcp")]
    commands.extend([
        vec!["certs", "dev-ca"],
        vec!["certs", "issue"],
        vec!["certs", "show"],
        vec!["certs", "check"],
        vec!["bench", "channel"],
    ]);
    for command in commands {
        let mut args = command.clone();
        args.push("--help");
        let output = inspay(dir.path(), &args);
        assert!(output.status.success(), "{command:?}");
        let help = text(&output);
        assert!(
            help.contains("Example"),
            "{command:?} --help has no example:\n{help}"
        );
    }
    for group in [
        "keys",
        "audit",
        "bench",
        "users",
        "apps",
        "compliance",
        "contain",
        "release",
        #[cfg(feature = "tlcp")]
        "certs",
    ] {
        let output = inspay(dir.path(), &[group, "--help"]);
        assert!(output.status.success(), "{group}");
    }
}

/// `inspay version` prints the application identifier, the version and the build commit.
/// req: 6.3.5
#[test]
fn version_names_application_version_and_commit() {
    let dir = tempfile::tempdir().expect("dir");
    let output = inspay(dir.path(), &["version"]);
    assert!(output.status.success());
    let line = text(&output);
    assert!(line.starts_with("cn.inspay.payment-platform "), "{line}");
    assert!(line.contains(env!("CARGO_PKG_VERSION")), "{line}");
    assert!(line.contains("commit "), "{line}");
}

/// Keys are listed, rotated and exported from the console, every step is audited, the audit
/// chain verifies, and `audit verify` fails (exit status 1) once an entry is altered in the
/// database.
/// req: 5.5.2.1, 5.4.4.2
#[test]
fn keys_and_audit_from_the_console() {
    let dir = tempfile::tempdir().expect("dir");
    let list = inspay(dir.path(), &["keys", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    let listing = text(&list);
    let purposes = inspay_kms::KeyPurpose::ALL.len();
    assert_eq!(listing.matches(" active ").count(), purposes, "{listing}");

    let rotate = inspay(dir.path(), &["keys", "rotate", "field-encryption"]);
    assert!(rotate.status.success(), "{}", text(&rotate));
    assert!(text(&rotate).contains("key:field-encryption:v2 is now active"));
    let json = inspay(dir.path(), &["keys", "list", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    // One version per purpose, and the rotated purpose's second.
    assert_eq!(records.as_array().expect("array").len(), purposes + 1);
    assert!(
        !String::from_utf8_lossy(&json.stdout).contains("wrapped"),
        "no key material in listings"
    );

    let refused = inspay(
        dir.path(),
        &[
            "keys",
            "schedule-destruction",
            "field-encryption",
            "2",
            "--wait-days",
            "7",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("rotate first"),
        "{}",
        text(&refused)
    );
    let bad = inspay(dir.path(), &["keys", "rotate", "md5-keys"]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("unknown purpose"));

    let pem = dir.path().join("audit.pem");
    let export = inspay(
        dir.path(),
        &[
            "keys",
            "export-public",
            "audit-signing",
            "--out",
            pem.to_str().expect("path"),
        ],
    );
    assert!(export.status.success(), "{}", text(&export));
    let checkpoint = inspay(dir.path(), &["audit", "checkpoint"]);
    assert!(checkpoint.status.success(), "{}", text(&checkpoint));
    let verify = inspay(
        dir.path(),
        &[
            "audit",
            "verify",
            "--public-key",
            pem.to_str().expect("path"),
        ],
    );
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("audit chain intact"));

    tamper(&dir.path().join("inspay.db"));
    let verify = inspay(dir.path(), &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    assert!(text(&verify).contains("tampered"), "{}", text(&verify));
}

fn tamper(database: &std::path::Path) {
    let runtime = tokio_runtime();
    runtime.block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", database.display());
        let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("open");
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(&mut connection)
            .await
            .expect("drop");
        sqlx::query("UPDATE audit_log SET outcome = 'denied' WHERE seq = 2")
            .execute(&mut connection)
            .await
            .expect("tamper");
    });
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A new master key is generated into a private file, every data key is rewrapped under it
/// from the console, and afterwards only the new key opens the keys.
/// req: 5.5.2.1, 5.5.2.2
#[test]
fn master_key_rotation_from_the_console() {
    let dir = tempfile::tempdir().expect("dir");
    assert!(inspay(dir.path(), &["keys", "list"]).status.success());
    let new_key = dir.path().join("master-2.key");
    let generated = inspay(
        dir.path(),
        &[
            "keys",
            "generate-master",
            "--out",
            new_key.to_str().expect("path"),
        ],
    );
    assert!(generated.status.success(), "{}", text(&generated));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&new_key).expect("file").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the key file is private");
    let rotated = inspay(
        dir.path(),
        &[
            "keys",
            "rotate-master",
            "--new-key-file",
            new_key.to_str().expect("path"),
        ],
    );
    assert!(rotated.status.success(), "{}", text(&rotated));
    assert!(
        text(&rotated).contains(&format!(
            "{} data key(s) rewrapped",
            inspay_kms::KeyPurpose::ALL.len()
        )),
        "{}",
        text(&rotated)
    );

    let old = inspay(dir.path(), &["keys", "list"]);
    assert!(
        !old.status.success(),
        "the old master key still opens the keys"
    );
    assert!(text(&old).contains("not the one"), "{}", text(&old));
    let with_new = Command::new(env!("CARGO_BIN_EXE_inspay"))
        .args(["keys", "list"])
        .env("INSPAY__DATA_DIR", dir.path())
        .env("INSPAY__MASTER_KEY__SOURCE", "file")
        .env("INSPAY__MASTER_KEY__FILE", &new_key)
        .output()
        .expect("inspay runs");
    assert!(with_new.status.success(), "{}", text(&with_new));
    assert_eq!(
        text(&with_new).matches(" active ").count(),
        inspay_kms::KeyPurpose::ALL.len()
    );
}

/// `inspay bench api` runs end to end on a short setting: every request is answered (a failed
/// request makes it exit non-zero), and both scenarios are reported against the SM2 bound,
/// over each slice's steady window and over whole slices. The figures themselves come from a
/// release build on a quiet machine (docs/performance.md); no test asserts a speed.
#[test]
fn api_benchmark_runs_and_reports_both_shares() {
    let dir = tempfile::tempdir().expect("dir");
    let output = inspay(
        dir.path(),
        &["bench", "api", "--seconds", "1", "--concurrency", "4"],
    );
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    for expected in [
        " / (2 sign + 2 verify) = ",
        "signed read ",
        "signed fund request ",
        "from 250 ms into the slice to its end",
        "over whole slices, each slice's fill and drain included: signed read ",
        "signed fund requests: ",
    ] {
        assert!(report.contains(expected), "{expected:?} missing:\n{report}");
    }
}
