//! `inspay users` as an operator uses it: staff accounts with generated initial passwords,
//! roles under separation of duties, and the permission review report.

mod support;

use inspay_identity::password_policy::{LoginPasswordPolicy, PersonalData};
use std::path::Path;
use std::process::{Command, Output};
use support::cli::query;

fn inspay(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_inspay"))
        .args(args)
        .env("INSPAY__DATA_DIR", dir)
        .env("USER", "ops.tester")
        .env_remove("INSPAY_CONFIG")
        .output()
        .expect("inspay runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn create(dir: &Path, login: &str, roles: &[&str]) -> Output {
    let mut args = vec!["users", "create", "--login", login];
    for role in roles {
        args.extend(["--role", role]);
    }
    inspay(dir, &args)
}

/// The password line of `users create`: the only line indented by four spaces.
fn printed_password(output: &Output) -> String {
    let out = stdout(output);
    let lines: Vec<&str> = out
        .lines()
        .filter(|line| line.starts_with("    "))
        .collect();
    assert_eq!(lines.len(), 1, "the password is printed once:\n{out}");
    lines[0].trim().to_string()
}

/// `users create` makes a staff account with its roles and an initial password from the
/// CSPRNG that passes the password policy, is printed once with a warning, must be changed
/// at the first sign-in, and is stored only as a hash; creation and grants are audited with
/// the operator as the actor. A taken name and the customer role are refused.
/// req: 5.3.2.1, 5.2.4.2-a
#[test]
fn create_gives_a_staff_account_an_initial_password_once() {
    let dir = tempfile::tempdir().expect("dir");
    let created = create(dir.path(), "finance.wang", &["finance-officer"]);
    assert!(created.status.success(), "{}", text(&created));
    let out = stdout(&created);
    assert!(out.contains("finance.wang"), "{out}");
    assert!(out.contains("finance-officer"), "{out}");
    assert!(out.contains("shown only this once"), "{out}");
    assert!(out.contains("WARNING: hand this password"), "{out}");
    assert!(out.contains("changed at the first sign-in"), "{out}");
    let password = printed_password(&created);
    assert_eq!(password.chars().count(), 20);
    let personal = PersonalData {
        username: Some("finance.wang"),
        ..PersonalData::default()
    };
    assert_eq!(
        LoginPasswordPolicy::default().check(&password, &personal),
        Ok(())
    );

    let other = create(dir.path(), "finance.li", &["finance-officer"]);
    assert!(other.status.success(), "{}", text(&other));
    assert_ne!(printed_password(&other), password, "fresh randomness");

    let accounts = query(
        dir.path(),
        "SELECT a.population, a.must_change_password, r.role FROM accounts a
         JOIN account_roles r ON r.account_id = a.id WHERE a.login_name_display = 'finance.wang'",
    );
    assert_eq!(accounts, vec![vec!["staff", "1", "finance-officer"]]);
    let secrets = query(dir.path(), "SELECT hash FROM account_secrets");
    assert!(
        secrets
            .iter()
            .all(|row| row[0].starts_with("pbkdf2-hmac-sm3:"))
    );
    let audit = query(
        dir.path(),
        "SELECT actor, action, detail FROM audit_log WHERE action IN ('account.create', 'role.grant')",
    );
    assert_eq!(audit.len(), 4, "{audit:?}");
    assert!(audit.iter().all(|row| row[0] == "operator:ops.tester"));
    let everything = query(dir.path(), "SELECT detail FROM audit_log");
    assert!(
        everything.iter().all(|row| !row[0].contains(&password)),
        "the password is in no audit entry"
    );

    let again = create(dir.path(), "finance.wang", &["auditor"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    assert!(
        stdout(&again).is_empty(),
        "no password for a refused account"
    );
    let customer = create(dir.path(), "someone.else", &["customer"]);
    assert_eq!(customer.status.code(), Some(1));
    assert!(
        text(&customer).contains("staff accounts"),
        "{}",
        text(&customer)
    );
}

/// A grant that breaks separation of duties, or an account created with conflicting roles,
/// is refused with the rule as a clear message and a non-zero exit status; nothing changes
/// and the refused grant is audited. Unknown roles and accounts are named as such.
/// req: 5.3.2.2
#[test]
fn conflicting_grants_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("dir");
    assert!(
        create(dir.path(), "finance.wang", &["finance-officer"])
            .status
            .success()
    );
    let refused = inspay(
        dir.path(),
        &[
            "users",
            "grant",
            "--login",
            "finance.wang",
            "--role",
            "auditor",
        ],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = text(&refused);
    assert!(
        message.contains("cannot grant auditor to finance.wang"),
        "{message}"
    );
    assert!(message.contains("separation of duties"), "{message}");
    assert_eq!(
        query(dir.path(), "SELECT role FROM account_roles"),
        vec![vec!["finance-officer"]]
    );
    let denied = query(
        dir.path(),
        "SELECT detail FROM audit_log WHERE action = 'role.grant' AND outcome = 'denied'",
    );
    assert_eq!(denied.len(), 1);
    assert!(denied[0][0].contains("separation-of-duties"), "{denied:?}");

    let both = create(
        dir.path(),
        "key.keeper",
        &["security-officer", "finance-officer"],
    );
    assert_eq!(both.status.code(), Some(1));
    assert!(
        text(&both).contains("may not be held by one account"),
        "{}",
        text(&both)
    );
    assert!(text(&both).contains("key custodian"), "{}", text(&both));
    assert!(
        !stdout(&inspay(dir.path(), &["users", "list"])).contains("key.keeper"),
        "no account is created"
    );

    let unknown = inspay(
        dir.path(),
        &[
            "users",
            "grant",
            "--login",
            "finance.wang",
            "--role",
            "root",
        ],
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown).contains("unknown role 'root'"));
    let nobody = inspay(
        dir.path(),
        &[
            "users",
            "grant",
            "--login",
            "nobody.here",
            "--role",
            "agent",
        ],
    );
    assert_eq!(nobody.status.code(), Some(1));
    assert!(text(&nobody).contains("no staff account is named nobody.here"));

    let revoked = inspay(
        dir.path(),
        &[
            "users",
            "revoke",
            "--login",
            "finance.wang",
            "--role",
            "finance-officer",
        ],
    );
    assert!(revoked.status.success(), "{}", text(&revoked));
    let granted = inspay(
        dir.path(),
        &[
            "users",
            "grant",
            "--login",
            "finance.wang",
            "--role",
            "auditor",
        ],
    );
    assert!(granted.status.success(), "{}", text(&granted));
}

/// `users review` prints every staff account with its roles, permissions and scope,
/// conflicting and dormant accounts first, and a summary line; `--json` gives the same
/// report as JSON; the exit status is 0 even with findings.
/// req: 5.3.2.2, 5.6.1-d
#[test]
fn review_lists_accounts_roles_and_findings() {
    let dir = tempfile::tempdir().expect("dir");
    assert!(
        create(dir.path(), "finance.wang", &["finance-officer"])
            .status
            .success()
    );
    assert!(create(dir.path(), "agent.li", &["agent"]).status.success());
    // A conflicting grant made outside inspay, which only the review can reveal.
    query(
        dir.path(),
        "INSERT INTO account_roles (account_id, role, granted_by, granted_at_ms)
         SELECT id, 'auditor', 'outside', 0 FROM accounts WHERE login_name_display = 'agent.li'
         RETURNING role",
    );

    let review = inspay(dir.path(), &["users", "review"]);
    assert_eq!(review.status.code(), Some(0), "{}", text(&review));
    let out = stdout(&review);
    for expected in [
        "finance.wang",
        "finance-officer",
        "payout.approve",
        "agent,auditor",
        "conflict: agent + auditor: separation of duties",
        "CONFLICT",
        "INITIAL-PASSWORD",
        "none (conflicting roles hold nothing until resolved)",
    ] {
        assert!(out.contains(expected), "missing '{expected}':\n{out}");
    }
    let agent_at = out.find("agent.li").expect("agent listed");
    let finance_at = out.find("finance.wang").expect("finance listed");
    assert!(agent_at < finance_at, "conflicts first:\n{out}");
    let last = out.lines().last().expect("summary");
    assert!(
        last.starts_with(
            "summary: 2 staff account(s); 1 with conflicting roles, 2 dormant (never signed in"
        ),
        "{last}"
    );
    assert!(last.ends_with("2 still with an initial password"), "{last}");

    let json = inspay(dir.path(), &["users", "review", "--json"]);
    assert!(json.status.success());
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(report["summary"]["accounts"], 2);
    assert_eq!(report["summary"]["with_conflicts"], 1);
    assert_eq!(report["accounts"][0]["login_name"], "agent.li");
    assert_eq!(report["accounts"][0]["conflicts"][0]["roles"][1], "auditor");
    assert_eq!(report["accounts"][1]["roles"][0], "finance-officer");
    assert_eq!(report["accounts"][1]["data_scopes"][0], "all");
    assert_eq!(report["accounts"][1]["initial_password"], true);

    let list = inspay(dir.path(), &["users", "list"]);
    assert!(list.status.success());
    let listing = stdout(&list);
    assert!(listing.contains("agent.li") && listing.contains("finance.wang"));
    assert!(listing.contains("2 staff account(s)"), "{listing}");
}

/// A staff member's SM2 key is registered from a PEM file (bare public key here); a key that
/// is not SM2 is refused with a message saying what to supply; nothing secret is printed.
/// req: 5.2.1.1
#[test]
fn add_key_registers_an_sm2_public_key_and_refuses_others() {
    let dir = tempfile::tempdir().expect("dir");
    assert!(create(dir.path(), "agent.li", &["agent"]).status.success());
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&["genpkey", "-algorithm", "SM2", "-out", "sm2.key"]);
    openssl(&["pkey", "-in", "sm2.key", "-pubout", "-out", "sm2.pub.pem"]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "p256.key",
    ]);
    openssl(&["pkey", "-in", "p256.key", "-pubout", "-out", "p256.pub.pem"]);
    let sm2 = dir.path().join("sm2.pub.pem");
    let p256 = dir.path().join("p256.pub.pem");
    let added = inspay(
        dir.path(),
        &[
            "users",
            "add-key",
            "--login",
            "agent.li",
            "--public-key",
            sm2.to_str().expect("path"),
            "--label",
            "token 7",
        ],
    );
    assert!(added.status.success(), "{}", text(&added));
    assert!(
        stdout(&added).contains("registered key"),
        "{}",
        text(&added)
    );
    let rows = query(dir.path(), "SELECT kind, label FROM credential_keys");
    assert_eq!(
        rows,
        vec![vec!["certificate".to_string(), "token 7".to_string()]]
    );
    let refused = inspay(
        dir.path(),
        &[
            "users",
            "add-key",
            "--login",
            "agent.li",
            "--public-key",
            p256.to_str().expect("path"),
        ],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("not an SM2 public key"),
        "{}",
        text(&refused)
    );
    let unknown = inspay(
        dir.path(),
        &[
            "users",
            "add-key",
            "--login",
            "nobody.here",
            "--public-key",
            sm2.to_str().expect("path"),
        ],
    );
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).contains("no staff account"),
        "{}",
        text(&unknown)
    );
}
