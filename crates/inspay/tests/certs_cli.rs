//! `inspay certs` as an operator uses it (issue 9): a development CA, server and client
//! pairs, `show` on the files, `check` on the configured [tlcp] material, and the production
//! profile refusing development certificates.

#![cfg(feature = "tlcp")]

use std::path::Path;
use std::process::{Command, Output};

fn inspay(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_inspay"));
    command
        .args(args)
        .env("INSPAY__DATA_DIR", dir)
        .env_remove("INSPAY_CONFIG");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("inspay runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// `dev-ca` and `issue` write a CA and TLCP pairs (keys owner-only) that `show` describes as
/// SM2 with SM3 and development; `show --production` refuses them; a second `dev-ca` without
/// `--force` is refused rather than replacing the CA.
/// req: 5.6.2-a3
/// req: 5.5.1.5
#[test]
fn development_ca_and_pairs_from_the_console() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = path(dir.path(), "ca");
    let made = inspay(dir.path(), &["certs", "dev-ca", "--out", &ca], &[]);
    assert!(made.status.success(), "{}", text(&made));
    assert!(text(&made).contains("not for production"));
    let again = inspay(dir.path(), &["certs", "dev-ca", "--out", &ca], &[]);
    assert!(!again.status.success());
    assert!(text(&again).contains("--force"), "{}", text(&again));
    let issued = inspay(
        dir.path(),
        &[
            "certs",
            "issue",
            "--ca",
            &ca,
            "--role",
            "server",
            "--name",
            "gateway",
            "--dns",
            "pay.example.test",
            "--ip",
            "10.0.0.5",
        ],
        &[],
    );
    assert!(issued.status.success(), "{}", text(&issued));
    assert!(
        text(&issued).contains("fingerprint sm3:"),
        "{}",
        text(&issued)
    );
    let no_names = inspay(
        dir.path(),
        &[
            "certs", "issue", "--ca", &ca, "--role", "server", "--name", "nameless",
        ],
        &[],
    );
    assert!(
        !no_names.status.success(),
        "a server pair needs a name to be dialled by"
    );
    let client_out = path(dir.path(), "clients");
    let client = inspay(
        dir.path(),
        &[
            "certs",
            "issue",
            "--ca",
            &ca,
            "--role",
            "client",
            "--name",
            "claims-app",
            "--out",
            &client_out,
        ],
        &[],
    );
    assert!(client.status.success(), "{}", text(&client));
    assert!(text(&client).contains("apps register"), "{}", text(&client));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in [
            dir.path().join("ca/ca-key.pem"),
            dir.path().join("ca/gateway-sign-key.pem"),
            dir.path().join("clients/claims-app-enc-key.pem"),
        ] {
            let mode = std::fs::metadata(&key)
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}", key.display());
        }
    }
    let sign = path(dir.path(), "ca/gateway-sign.pem");
    let enc = path(dir.path(), "ca/gateway-enc.pem");
    let shown = inspay(dir.path(), &["certs", "show", &sign, &enc], &[]);
    assert!(shown.status.success(), "{}", text(&shown));
    let shown = text(&shown);
    for expected in [
        "key          SM2",
        "digitalSignature",
        "keyEncipherment",
        "serverAuth",
        "pay.example.test, 10.0.0.5",
        "fingerprint  sm3:",
        "development certificate",
    ] {
        assert!(shown.contains(expected), "{expected} in:\n{shown}");
    }
    assert!(shown.to_lowercase().contains("sm3"), "{shown}");
    let production = inspay(dir.path(), &["certs", "show", &sign, "--production"], &[]);
    assert!(!production.status.success());
    assert!(
        text(&production).contains("the production profile would refuse"),
        "{}",
        text(&production)
    );
    let missing = inspay(
        dir.path(),
        &[
            "certs",
            "issue",
            "--ca",
            &path(dir.path(), "none"),
            "--role",
            "client",
            "--name",
            "x",
        ],
        &[],
    );
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("inspay certs dev-ca --out"),
        "{}",
        text(&missing)
    );
}

/// `certs check` loads the [tlcp] material as `serve` does: the development profile generates
/// and accepts its pair; operator files that are development certificates pass in development
/// and are refused by the production profile; swapped signing and encryption files are
/// refused with the reason.
/// req: 5.6.2-a3
/// req: 5.6.2-a1
#[test]
fn check_loads_the_configured_material_as_serve_does() {
    let dir = tempfile::tempdir().expect("dir");
    let generated = inspay(dir.path(), &["certs", "check"], &[]);
    assert!(generated.status.success(), "{}", text(&generated));
    assert!(
        text(&generated).contains("development certificates"),
        "{}",
        text(&generated)
    );
    assert!(dir.path().join("dev-tlcp/server-sign.pem").exists());

    let ca = path(dir.path(), "ca");
    assert!(
        inspay(dir.path(), &["certs", "dev-ca", "--out", &ca], &[])
            .status
            .success()
    );
    let issued = inspay(
        dir.path(),
        &[
            "certs",
            "issue",
            "--ca",
            &ca,
            "--role",
            "server",
            "--name",
            "node",
            "--dns",
            "localhost",
        ],
        &[],
    );
    assert!(issued.status.success(), "{}", text(&issued));
    let file = |name: &str| path(dir.path(), &format!("ca/node-{name}.pem"));
    let (sign, sign_key, enc, enc_key) =
        (file("sign"), file("sign-key"), file("enc"), file("enc-key"));
    let operator = [
        ("INSPAY__TLCP__ADDRESS", "127.0.0.1:0"),
        ("INSPAY__TLCP__SIGN_CERTIFICATE_FILE", sign.as_str()),
        ("INSPAY__TLCP__SIGN_PRIVATE_KEY_FILE", sign_key.as_str()),
        ("INSPAY__TLCP__ENC_CERTIFICATE_FILE", enc.as_str()),
        ("INSPAY__TLCP__ENC_PRIVATE_KEY_FILE", enc_key.as_str()),
    ];
    let accepted = inspay(dir.path(), &["certs", "check"], &operator);
    assert!(accepted.status.success(), "{}", text(&accepted));
    let production = inspay(
        dir.path(),
        &["certs", "check"],
        &[&operator[..], &[("INSPAY__PROFILE", "production")]].concat(),
    );
    assert!(!production.status.success());
    assert!(
        text(&production).contains("refuses a development certificate"),
        "{}",
        text(&production)
    );
    let swapped = [
        ("INSPAY__TLCP__ADDRESS", "127.0.0.1:0"),
        ("INSPAY__TLCP__SIGN_CERTIFICATE_FILE", enc.as_str()),
        ("INSPAY__TLCP__SIGN_PRIVATE_KEY_FILE", enc_key.as_str()),
        ("INSPAY__TLCP__ENC_CERTIFICATE_FILE", sign.as_str()),
        ("INSPAY__TLCP__ENC_PRIVATE_KEY_FILE", sign_key.as_str()),
    ];
    let refused = inspay(dir.path(), &["certs", "check"], &swapped);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("TLCP"), "{}", text(&refused));
    let half = inspay(
        dir.path(),
        &["certs", "check"],
        &[
            ("INSPAY__TLCP__ADDRESS", "127.0.0.1:0"),
            ("INSPAY__TLCP__SIGN_CERTIFICATE_FILE", sign.as_str()),
        ],
    );
    assert!(!half.status.success());
    assert!(text(&half).contains("all four"), "{}", text(&half));
}
