//! `inspay contain` as an incident responder uses it (clause 6.4.3): freeze and unfreeze an
//! account, pause and resume the payment channel, end every session, list the switches in
//! force, and the pointers to `apps suspend` and `apps revoke-key`; each change audited with
//! the operator as the actor and refusals that say what to do next.

mod support;

use std::path::Path;
use support::cli::{execute, inspay, query, text};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn audited(dir: &Path, action: &str) -> Vec<Vec<String>> {
    query(
        dir,
        &format!(
            "SELECT actor, object, detail FROM audit_log WHERE action = '{action}' ORDER BY seq"
        ),
    )
}

/// A staff account made with `inspay users create`, with a live session row; its id.
fn staff_with_session(dir: &Path, login: &str) -> String {
    let created = inspay(
        dir,
        &["users", "create", "--login", login, "--role", "auditor"],
    );
    assert!(created.status.success(), "{}", text(&created));
    let id = query(
        dir,
        &format!("SELECT id FROM accounts WHERE login_name_display = '{login}'"),
    );
    let id = id
        .first()
        .and_then(|row| row.first())
        .cloned()
        .unwrap_or_else(|| {
            query(
                dir,
                "SELECT id FROM accounts ORDER BY created_at_ms DESC LIMIT 1",
            )[0][0]
                .clone()
        });
    execute(
        dir,
        &format!(
            "INSERT INTO sessions (token_digest, account_id, auth_level, created_at_ms, last_seen_at_ms)
             VALUES ('digest-{id}', '{id}', 'two-factor', 1, 1)"
        ),
    );
    id
}

/// Freezing an account marks it frozen, ends its sessions, lists it in the status and audits
/// it with the operator and the reason; freezing it again and unfreezing an active account
/// are refused with the next step; unfreezing restores it; a reason holding a long number is
/// refused before anything changes.
/// req: 6.4.3
#[test]
fn freeze_and_unfreeze_an_account() {
    let dir = tempfile::tempdir().expect("dir");
    let id = staff_with_session(dir.path(), "audit.zhao");
    let other = staff_with_session(dir.path(), "audit.qian");

    let refused = inspay(
        dir.path(),
        &[
            "contain",
            "freeze-account",
            "--account",
            &id,
            "--reason",
            "card 6222021234567890128",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("personal data"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        query(
            dir.path(),
            &format!("SELECT status FROM accounts WHERE id = '{id}'")
        )[0][0],
        "active"
    );

    let frozen = inspay(
        dir.path(),
        &[
            "contain",
            "freeze-account",
            "--account",
            &id,
            "--reason",
            "INC-7 account takeover",
        ],
    );
    assert!(frozen.status.success(), "{}", text(&frozen));
    assert!(
        stdout(&frozen).contains("1 session(s) ended"),
        "{}",
        stdout(&frozen)
    );
    assert_eq!(
        query(
            dir.path(),
            &format!("SELECT status FROM accounts WHERE id = '{id}'")
        )[0][0],
        "frozen"
    );
    assert_eq!(
        query(
            dir.path(),
            &format!("SELECT COUNT(*) FROM sessions WHERE account_id = '{id}'")
        )[0][0],
        "0"
    );
    assert_eq!(
        query(
            dir.path(),
            &format!("SELECT COUNT(*) FROM sessions WHERE account_id = '{other}'")
        )[0][0],
        "1"
    );
    let entries = audited(dir.path(), "containment.account-frozen");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0][0], "operator:ops.tester");
    assert_eq!(entries[0][1], format!("account:{id}"));
    assert!(entries[0][2].contains("INC-7"), "{:?}", entries[0]);

    let status = inspay(dir.path(), &["contain", "status"]);
    assert!(status.status.success(), "{}", text(&status));
    let line = stdout(&status)
        .lines()
        .find(|line| line.starts_with("account-frozen"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{}", stdout(&status)));
    assert!(line.contains(&id) && line.contains("operator:ops.tester") && line.contains("INC-7"));
    let json = inspay(dir.path(), &["contain", "status", "--json"]);
    let switches: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(switches[0]["kind"], "account-frozen");
    assert_eq!(switches[0]["subject"], id.as_str());

    let again = inspay(
        dir.path(),
        &[
            "contain",
            "freeze-account",
            "--account",
            &id,
            "--reason",
            "again",
        ],
    );
    assert!(!again.status.success());
    assert!(
        text(&again).contains("already frozen") && text(&again).contains("inspay contain status")
    );
    let active = inspay(
        dir.path(),
        &[
            "contain",
            "unfreeze-account",
            "--account",
            &other,
            "--reason",
            "x",
        ],
    );
    assert!(!active.status.success());
    assert!(
        text(&active).contains("no such frozen account"),
        "{}",
        text(&active)
    );

    let unfrozen = inspay(
        dir.path(),
        &[
            "contain",
            "unfreeze-account",
            "--account",
            &id,
            "--reason",
            "INC-7 cleared",
        ],
    );
    assert!(unfrozen.status.success(), "{}", text(&unfrozen));
    assert_eq!(
        query(
            dir.path(),
            &format!("SELECT status FROM accounts WHERE id = '{id}'")
        )[0][0],
        "active"
    );
    assert_eq!(audited(dir.path(), "containment.account-unfrozen").len(), 1);
    let status = inspay(dir.path(), &["contain", "status"]);
    assert!(
        stdout(&status).contains("no containment switch is in force"),
        "{}",
        stdout(&status)
    );
}

/// Pausing the channel records the switch and audits it; pausing twice and resuming a channel
/// that is not paused are refused; a bad channel name is refused; resuming clears it. Ending
/// every session deletes every session row and is audited.
/// req: 6.4.3
#[test]
fn pause_and_resume_the_channel_and_end_every_session() {
    let dir = tempfile::tempdir().expect("dir");
    staff_with_session(dir.path(), "audit.sun");
    staff_with_session(dir.path(), "audit.li");

    let paused = inspay(
        dir.path(),
        &["contain", "pause-channel", "--reason", "INC-8 fraud"],
    );
    assert!(paused.status.success(), "{}", text(&paused));
    assert!(stdout(&paused).contains("channel default is paused"));
    let twice = inspay(
        dir.path(),
        &[
            "contain",
            "pause-channel",
            "--channel",
            "default",
            "--reason",
            "again",
        ],
    );
    assert!(!twice.status.success());
    assert!(text(&twice).contains("already paused"));
    let bad = inspay(
        dir.path(),
        &[
            "contain",
            "pause-channel",
            "--channel",
            "Bank A",
            "--reason",
            "x",
        ],
    );
    assert!(!bad.status.success());
    assert!(text(&bad).contains("--channel"), "{}", text(&bad));
    let listed = stdout(&inspay(dir.path(), &["contain", "status"]));
    assert!(
        listed.contains("channel-paused") && listed.contains("default"),
        "{listed}"
    );
    let resumed = inspay(
        dir.path(),
        &["contain", "resume-channel", "--reason", "INC-8 cleared"],
    );
    assert!(resumed.status.success(), "{}", text(&resumed));
    let not_paused = inspay(
        dir.path(),
        &["contain", "resume-channel", "--reason", "again"],
    );
    assert!(!not_paused.status.success());
    assert!(text(&not_paused).contains("no such paused channel"));
    for action in ["containment.channel-paused", "containment.channel-resumed"] {
        let entries = audited(dir.path(), action);
        assert_eq!(entries.len(), 1, "{action}");
        assert_eq!(entries[0][1], "channel:default");
    }

    let ended = inspay(
        dir.path(),
        &[
            "contain",
            "end-all-sessions",
            "--reason",
            "INC-9 tokens leaked",
        ],
    );
    assert!(ended.status.success(), "{}", text(&ended));
    assert!(
        stdout(&ended).contains("2 session(s) ended"),
        "{}",
        stdout(&ended)
    );
    assert_eq!(
        query(dir.path(), "SELECT COUNT(*) FROM sessions")[0][0],
        "0"
    );
    assert_eq!(audited(dir.path(), "containment.sessions-ended").len(), 1);
    assert!(stdout(&inspay(dir.path(), &["contain", "status"])).contains("sessions-ended"));
}

/// `contain suspend-app` runs `apps suspend` (its audit entry and message) and records the
/// reason; `contain revoke-key` needs a whole key name.
/// req: 6.4.3
#[test]
fn suspend_app_and_revoke_key_point_at_the_existing_commands() {
    let dir = tempfile::tempdir().expect("dir");
    let key = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
    let pem = dir.path().join("app.pub.pem");
    std::fs::write(&pem, key.public_key().to_spki_pem()).expect("write");
    let registered = inspay(
        dir.path(),
        &[
            "apps",
            "register",
            "--id",
            "claims-app",
            "--name",
            "Claims app",
            "--class",
            "fund-transaction",
            "--public-key",
            pem.to_str().expect("utf-8"),
        ],
    );
    assert!(registered.status.success(), "{}", text(&registered));
    let suspended = inspay(
        dir.path(),
        &[
            "contain",
            "suspend-app",
            "--id",
            "claims-app",
            "--reason",
            "INC-10 key leaked",
        ],
    );
    assert!(suspended.status.success(), "{}", text(&suspended));
    assert!(stdout(&suspended).contains("claims-app is suspended"));
    assert_eq!(
        query(
            dir.path(),
            "SELECT status FROM client_apps WHERE id = 'claims-app'"
        )[0][0],
        "suspended"
    );
    let entries = audited(dir.path(), "containment.app-suspended");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0][1], "app:claims-app");
    let partial = inspay(
        dir.path(),
        &[
            "contain",
            "revoke-key",
            "--app",
            "claims-app",
            "--reason",
            "x",
        ],
    );
    assert!(!partial.status.success(), "{}", text(&partial));
}

/// Every `contain` subcommand has `--help` with an example.
/// req: 6.4.3
#[test]
fn every_contain_command_has_help_with_an_example() {
    let dir = tempfile::tempdir().expect("dir");
    for command in [
        "freeze-account",
        "unfreeze-account",
        "pause-channel",
        "resume-channel",
        "end-all-sessions",
        "status",
        "suspend-app",
        "revoke-key",
    ] {
        let output = inspay(dir.path(), &["contain", command, "--help"]);
        assert!(output.status.success(), "{command}");
        assert!(
            stdout(&output).contains("Example"),
            "{command}: {}",
            stdout(&output)
        );
    }
    let group = inspay(dir.path(), &["contain", "--help"]);
    assert!(group.status.success());
}
